"""A populated set of the places personal data lives, on real storage: the project's database
(SQLite or PostgreSQL), Rasa's SQL tracker store written by the project's own tracker store
(SQLite under a var directory) and the spool under that var directory."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import create_engine, inspect, text

from bot.privacy.registry import PrivacyContext
from bot.rasa.tracker_store import SpoolingSQLTrackerStore
from bot.storage.db import Database
from bot.storage.models import (
    HandoffContact,
    HandoffMessage,
    InboundJournalEntry,
    ReviewItem,
    SeenChannelMessage,
    TemplateFallback,
)
from bot.tickets.callback import save_callback_number
from bot.tickets.lifecycle import resolve
from bot.tickets.records import record_report
from bot.tickets.report import report_from_rasa_events
from tests.tickets.helpers import make_clinic

DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [report_symptom, greet]")
SECRET = "my left cheek swelled up like a zebra balloon 4471"
OTHER_SECRET = "the other patient's forehead itches quinoa 9902"
TRIAGE = {
    "severity": "urgent",
    "mentions": [
        {"text": "swelled", "concept": "swelling", "start": 14, "end": 21, "status": "affirmed"}
    ],
    "rules": ["swelling"],
}


def user_event(text: str, message_id: str, at: float, triage: Any = None) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": at,
        "text": text,
        "parse_data": {"intent": {"name": "report_symptom"}, "entities": [], "triage": triage},
        "input_channel": "whatsapp",
        "message_id": message_id,
        "metadata": {},
    }


def bot_event(text: str, at: float) -> dict[str, Any]:
    return {"event": "bot", "timestamp": at, "text": text, "data": {}, "metadata": {}}


@dataclass
class Places:
    ctx: PrivacyContext
    var_dir: Path
    tickets: dict[str, str]  # conversation id -> its ticket id


def make_context(database_url: str, var_dir: Path) -> PrivacyContext:
    from bot.tickets.spool import Spool

    var_dir.mkdir(parents=True, exist_ok=True)
    return PrivacyContext(
        Database(database_url), f"sqlite:///{var_dir / 'rasa_tracker.db'}", Spool(var_dir / "spool")
    )


def populate(
    ctx: PrivacyContext,
    conversation_id: str,
    secret: str,
    at: datetime,
    severity: str = "urgent",
    resolved: bool = True,
) -> str:
    """One WhatsApp conversation with an escalated message held in every place; returns its
    ticket id."""
    clinic = make_clinic()
    ts = at.timestamp()
    message_id = f"wa:{conversation_id}-m1"
    triage = {**TRIAGE, "severity": severity}
    events = [
        user_event("hello", f"wa:{conversation_id}-m0", ts),
        bot_event("Hello, how can I help?", ts + 1),
        user_event(secret, message_id, ts + 2, triage),
        bot_event(f"I have passed on what you said: {secret}", ts + 3),
    ]
    store = SpoolingSQLTrackerStore(
        domain=DOMAIN,
        dialect="sqlite",
        db=ctx.tracker_url.removeprefix("sqlite:///"),
        spool_dir=str(ctx.spool.directory),
    )
    tracker = DialogueStateTracker.from_dict(conversation_id, events, DOMAIN.slots)
    # Its own thread: callers may be inside an event loop (async tests, Playwright).
    saver = threading.Thread(target=asyncio.run, args=(store.save(tracker),))
    saver.start()
    saver.join()  # the save also spools the escalating message
    store.engine.dispose()
    report = report_from_rasa_events(conversation_id, events)
    assert report is not None
    ticket_id = record_report(ctx.db, report, clinic)
    save_callback_number(ctx.db, ticket_id, "+91 98765 43210", clinic, True)
    if resolved:
        resolve(ctx.db, ticket_id, "anna", note=f"called back about: {secret}")
    with ctx.db.session() as session:
        for ref in (f"wa:{conversation_id}-m0", message_id):
            session.add(SeenChannelMessage(channel="whatsapp", message_id=ref, seen_at=at))
        session.add(
            InboundJournalEntry(
                channel="whatsapp",
                message_id=message_id,
                received_at=at,
                phone="+919876543210",
                kind="text",
                message_type="text",
                text=secret,
                attempts=0,
                lease_until=at,
            )
        )
        session.add(
            TemplateFallback(
                at=at, channel="whatsapp", conversation_id=conversation_id, template="reopen"
            )
        )
        session.add(
            HandoffMessage(
                conversation_id=conversation_id,
                ticket_id=ticket_id,
                channel="whatsapp",
                at=at,
                sender="patient",
                text=f"still worried: {secret}",
                delivery="received",
            )
        )
        session.add(
            HandoffContact(
                channel="whatsapp",
                conversation_id=conversation_id,
                phone="+919876543210",
                updated_at=at,
            )
        )
        session.add(
            ReviewItem(
                created_at=at,
                conversation_id=conversation_id,
                message_id=message_id,
                reason="second_detector",
                text=secret,
                assistant_did="escalated",
                top_intents=[],
            )
        )
    return ticket_id


def tables_containing(url: str, needle: str) -> list[str]:
    """Every table (and column) of the database at `url` whose text holds `needle`."""
    engine = create_engine(url, future=True)
    found = []
    try:
        with engine.connect() as connection:
            for table in inspect(engine).get_table_names():
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    if any(needle in str(value) for value in row):
                        found.append(table)
                        break
    finally:
        engine.dispose()
    return found


def files_containing(directory: Path, needle: str) -> list[str]:
    """Every file under `directory` whose bytes hold `needle` (as UTF-8, or JSON-escaped)."""
    needles = {needle.encode(), needle.encode("unicode_escape")}
    return [
        str(path.relative_to(directory))
        for path in sorted(directory.rglob("*"))
        if path.is_file() and any(n in path.read_bytes() for n in needles)
    ]


WHEN = datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)
