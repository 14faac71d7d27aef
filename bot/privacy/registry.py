"""The places personal data lives, each able to erase, expire and export one conversation's data.

A place is three functions of a `PrivacyContext`; `Place.of_database` adapts the plain
functions other rooms offer (`erase_conversation(db, conversation_id) -> int`,
`expire_before(db, cutoff) -> int`, `export_conversation(db, conversation_id) -> list[dict]`),
so registering another store is one line in `default_places()`.

Contract for every place: `erase` and `expire` are idempotent (running one again after a crash
removes nothing twice and fails on nothing already gone) and return how many items they removed
or anonymised; `export` returns JSON-ready dicts. Places run in the order listed: those that
find their rows through the conversation's messages (WhatsApp message ids) come before the
tracker store that holds them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

from bot.storage.db import Database
from bot.storage.rasa_events import tracker_url
from bot.tickets.spool import Spool

logger = logging.getLogger(__name__)

# Which retention setting of data/clinic.yml applies to a place.
Retention = Literal["conversation", "transcript"]


@cache
def _engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, future=True, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _secure_delete(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_conn.execute("PRAGMA secure_delete=ON")  # overwrite what is erased

        return engine
    return create_engine(url, future=True, pool_pre_ping=True)


def compact_sqlite(engine: Engine) -> None:
    """Leave no erased page image behind in an SQLite write-ahead log: checkpoint it and cut it
    to zero length. Nothing to do for other databases (PostgreSQL: see README "Privacy")."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@dataclass(frozen=True)
class PrivacyContext:
    """What the places reach: the project's database, Rasa's tracker store and the spool."""

    db: Database
    tracker_url: str
    spool: Spool

    @classmethod
    def default(cls, db: Database) -> PrivacyContext:
        return cls(db, tracker_url(), Spool())

    def tracker_engine(self) -> Engine | None:
        """The tracker store's engine; None for an SQLite file that does not exist (yet)."""
        if self.tracker_url.startswith("sqlite:///"):
            path = Path(self.tracker_url.removeprefix("sqlite:///"))
            if not path.exists():
                return None
        return _engine(self.tracker_url)

    def compact(self) -> None:
        """After removing rows: no erased page left in an SQLite write-ahead log. Never raises
        (a busy log is compacted by a later run)."""
        for engine in (self.db.engine, self.tracker_engine()):
            if engine is None:
                continue
            try:
                compact_sqlite(engine)
            except Exception as exc:
                logger.warning("privacy: could not compact %s (%s)", engine.dialect.name, exc)


@dataclass(frozen=True)
class Place:
    """One store of personal data. `what` says, for the export and the README, what it holds."""

    name: str
    what: str
    retention: Retention
    erase: Callable[[PrivacyContext, str], int]
    expire: Callable[[PrivacyContext, datetime], int]
    export: Callable[[PrivacyContext, str], list[dict[str, Any]]]

    @classmethod
    def of_database(
        cls,
        name: str,
        what: str,
        erase_conversation: Callable[[Database, str], int],
        expire_before: Callable[[Database, datetime], int],
        export_conversation: Callable[[Database, str], list[dict[str, Any]]],
        retention: Retention = "conversation",
    ) -> Place:
        """A place from a room's three plain functions of the project's database."""
        return cls(
            name,
            what,
            retention,
            lambda ctx, conversation_id: erase_conversation(ctx.db, conversation_id),
            lambda ctx, cutoff: expire_before(ctx.db, cutoff),
            lambda ctx, conversation_id: export_conversation(ctx.db, conversation_id),
        )


def default_places() -> tuple[Place, ...]:
    """Every place, in erasure order. Add a room's store here, one line each."""
    from bot.handoff import store as handoff
    from bot.privacy import channel_data, ticket_data, tracker_events
    from bot.review import queue

    return (
        channel_data.WHATSAPP_DEDUPE,
        channel_data.WHATSAPP_JOURNAL,
        Place.of_database(
            "template_fallbacks",
            "WhatsApp replies sent as templates (conversation, template name, time)",
            channel_data.erase_template_fallbacks,
            channel_data.expire_template_fallbacks,
            channel_data.export_template_fallbacks,
        ),
        Place.of_database(
            "review_queue",
            "messages the assistant was unsure about, waiting for staff to label",
            queue.erase_conversation,
            queue.expire_before,
            queue.export_conversation,
        ),
        Place.of_database(
            "handoff",
            "a clinician's live chat with the patient (messages both ways, the WhatsApp number)",
            handoff.erase_conversation,
            handoff.expire_before,
            handoff.export_conversation,
            retention="transcript",  # a clinician's conversation is kept like a ticket's
        ),
        ticket_data.SPOOL,
        ticket_data.TICKETS,
        tracker_events.TRACKER_EVENTS,
    )


_places: tuple[Place, ...] | None = None


def places() -> tuple[Place, ...]:
    """The registered places (default_places() unless a test or deployment set others)."""
    return _places if _places is not None else default_places()


def use_places(registered: tuple[Place, ...] | None) -> None:
    """Replace the registry (None: back to default_places()); for tests."""
    global _places
    _places = registered
