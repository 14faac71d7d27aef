"""UTC helpers: SQLite hands back naive datetimes, which this project always stores in UTC."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.storage.models import utcnow

__all__ = ["as_utc", "utcnow"]


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
