"""UTC helpers for the inbox: SQLite hands back naive datetimes, which this project always stores
in UTC. Both are defined in bot/storage/models.py."""

from __future__ import annotations

from bot.storage.models import as_utc, utcnow

__all__ = ["as_utc", "utcnow"]
