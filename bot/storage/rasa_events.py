"""Rasa's tracker store as the project's own rooms read it (charts, privacy): where it is, and
its `events` table.

bot/serve.py gives Rasa MESO_TRACKER_URL, else the SQLite file rasa_tracker.db in the var
directory; every reader finds it the same way through `tracker_url`.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

from bot.paths import VAR_DIR

TRACKER_URL_ENV = "MESO_TRACKER_URL"
TRACKER_DB_FILE = "rasa_tracker.db"  # in the var dir when MESO_TRACKER_URL is unset

# The columns of Rasa 3.6's SQLTrackerStore.SQLEvent that the project reads or deletes by
# (tests/analytics check they match Rasa's).
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def tracker_url(var_dir: Path = VAR_DIR) -> str:
    """Where Rasa keeps conversations: MESO_TRACKER_URL, else `var_dir`/rasa_tracker.db."""
    return os.environ.get(TRACKER_URL_ENV) or f"sqlite:///{var_dir / TRACKER_DB_FILE}"
