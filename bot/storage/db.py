"""Engine and session handling. One `Database` per URL; its schema is migrated on first use.

Making a `Database` never touches storage: the first `session()` connects and brings the schema
to the newest revision (bot/storage/migrate.py; a no-op once a start has done it), so code that
may never need storage (an answer, a reply) cannot fail on it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from bot.paths import VAR_DIR
from bot.storage.schema_version import newest_revision

# An unreachable server must fail a write quickly (and the report be spooled), not hang it.
CONNECT_TIMEOUT_SECONDS = 5


def database_url() -> str:
    """MESO_DATABASE_URL, or an SQLite file under var/."""
    url = os.environ.get("MESO_DATABASE_URL")
    if url:
        return url
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / 'meso.db'}"


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, future=True, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            # Erased rows are overwritten, not left in free pages (bot/privacy).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

        return engine
    connect_args = (
        {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if url.startswith("postgres") else {}
    )
    return create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)


class Database:
    """A SQLAlchemy engine plus a session factory; `session()` commits or rolls back."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, future=True, expire_on_commit=False)
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    def prepare_schema(self) -> None:
        """Bring the schema to the newest revision (once per process; migrations are the one
        source of the schema). Raises SQLAlchemy's OperationalError when storage is unavailable
        and bot.storage.migrate.MigrationError when a migration fails."""
        if self._schema_ready:
            return
        with self._schema_lock:
            if not self._schema_ready:
                if not self._at_newest_revision():
                    from bot.storage.migrate import upgrade  # Alembic only when needed

                    upgrade(self.url)
                self._schema_ready = True

    def _at_newest_revision(self) -> bool:
        """True when the database records the newest revision (what a start leaves behind);
        raises OperationalError when it cannot be reached."""
        newest = newest_revision()
        with self.engine.connect() as connection:
            try:
                recorded = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
                return newest is not None and list(recorded.scalars()) == [newest]
            except DBAPIError:  # no alembic_version table yet
                return False

    @contextmanager
    def session(self) -> Iterator[Session]:
        self.prepare_schema()
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()


@cache
def _database_for(url: str) -> Database:
    return Database(url)


def get_database(url: str | None = None) -> Database:
    """The process-wide Database for `url` (default: `database_url()`)."""
    return _database_for(url or database_url())
