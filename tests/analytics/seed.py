"""Seeded tickets and conversations with known figures, for the chart tests and the browser test.

Conversations are written by Rasa's own SQLTrackerStore from real Rasa events (a user message
with its intent, and the bot message Rasa makes of a `Reply`), so the rows are those a running
assistant leaves behind.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

from bot.analytics.period import Period
from bot.replies.reply import Citation, Reply
from bot.storage.db import Database
from bot.storage.models import Ticket

PERIOD = Period(date(2026, 3, 1), date(2026, 3, 7))


def at(day: int, hour: int = 10, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, 1, tzinfo=timezone.utc) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second
    )


# (severity, created, minutes to acknowledge or None, channel)
TICKETS = [
    ("emergency", at(1, 10), 5, "widget"),
    ("emergency", at(1, 12), 15, "whatsapp"),
    ("emergency", at(3, 9), 10, "whatsapp"),
    ("urgent", at(2, 8), 20, "widget"),
    ("urgent", at(2, 9), 40, "widget"),
    ("urgent", at(5, 9), None, "whatsapp"),
    ("routine", at(7, 23, 59, 59), None, "kiosk"),
    # outside the period: the second before it and its first second after
    ("routine", at(1) - timedelta(hours=10, seconds=1), 1, "kiosk"),
    ("emergency", at(8, 0), 1, "kiosk"),
]
ESCALATIONS = {
    "emergency": [2, 0, 1, 0, 0, 0, 0],
    "urgent": [0, 2, 0, 0, 1, 0, 0],
    "routine": [0, 0, 0, 0, 0, 0, 1],
}
MEDIAN_MINUTES = {"emergency": 10.0, "urgent": 30.0, "routine": None}
CHANNELS = [("whatsapp", 3), ("widget", 3), ("kiosk", 1)]


def seed_tickets(db: Database, tickets=TICKETS) -> None:  # type: ignore[no-untyped-def]
    with db.session() as session:
        for n, (severity, created, ack_minutes, channel) in enumerate(tickets):
            session.add(
                Ticket(
                    channel=channel,
                    conversation_id=f"conv-{n}-{uuid.uuid4().hex}",
                    message_id="m1",
                    severity=severity,
                    symptoms=["swelling"],
                    trigger_text="my face is swollen",
                    transcript=[],
                    created_at=created,
                    status="acknowledged" if ack_minutes is not None else "open",
                    acknowledged_by="nurse.amy" if ack_minutes is not None else None,
                    acknowledged_at=(
                        created + timedelta(minutes=ack_minutes) if ack_minutes else None
                    ),
                )
            )


# (conversation, time, intent of the patient's message, kind of the assistant's reply)
TURNS = [
    ("c1", at(1, 9), "ask_cost", "answer"),
    ("c1", at(1, 9, 5), "ask_cost", "answer"),
    ("c2", at(1, 11), "ask_downtime", "answer"),
    ("c2", at(1, 11, 5), "out_of_scope", "out_of_scope"),
    ("c3", at(2, 14), "ask_downtime", "clarify"),
    ("c3", at(2, 14, 5), "greet", "chitchat"),
    ("c3", at(2, 14, 6), "askXcost", None),  # not a topic: '_' must not match any character
    ("c4", at(8, 0, 0, 1), "ask_cost", "answer"),  # after the period
]
TOPICS = {"cost": [2, 0, 0, 0, 0, 0, 0], "downtime": [1, 1, 0, 0, 0, 0, 0]}
REPLY_KINDS = {
    "answer": [3, 0, 0, 0, 0, 0, 0],
    "out_of_scope": [1, 0, 0, 0, 0, 0, 0],
    "clarify": [0, 1, 0, 0, 0, 0, 0],
    "chitchat": [0, 1, 0, 0, 0, 0, 0],
}


def _reply(kind: str | None) -> dict:
    if kind is None:  # a plain bot message without the envelope
        return {"text": "<b>plain</b>"}
    sources = (Citation("faq-cost", "Cost", "cost.md", "faq"),) if kind == "answer" else ()
    body = f"a {kind} reply <script>x</script>"
    return Reply(kind=kind, body=body, citations=sources).rasa_message()  # type: ignore[arg-type]


def seed_conversations(tracker_url: str, turns=TURNS) -> None:  # type: ignore[no-untyped-def]
    """Save each conversation's turns through Rasa's SQLTrackerStore at `tracker_url`."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = SQLTrackerStore(Domain.empty(), host=tracker_url)
    by_conversation: dict[str, list] = {}
    for conversation, when, intent, kind in turns:
        stamp = when.timestamp()
        user = UserUttered(
            "a question",
            intent={"name": intent, "confidence": 0.9},
            parse_data={"intent": {"name": intent, "confidence": 0.9}, "entities": []},
            timestamp=stamp,
        )
        bot = create_bot_utterance(_reply(kind))
        bot.timestamp = stamp + 1
        by_conversation.setdefault(conversation, []).extend([user, bot])

    async def save_all() -> None:
        for conversation, events in by_conversation.items():
            await store.save(DialogueStateTracker.from_events(conversation, events))

    # A thread of its own: the caller may already run an event loop (Playwright's sync API does).
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, save_all()).result()
    store.engine.dispose()
