"""SQL storage through SQLAlchemy 1.4: SQLite by default, PostgreSQL via MESO_DATABASE_URL."""

from bot.storage.db import Database, database_url, get_database

__all__ = ["Database", "database_url", "get_database"]
