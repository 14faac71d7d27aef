"""Rasa's tracker store: every event of every conversation (the patient's messages, the replies,
slots), in the `events` table of the tracker store's database (MESO_TRACKER_URL or
var/rasa_tracker.db; see bot/serve.py). Plain SQL on Rasa's table, so nothing here imports Rasa.

A running Rasa server keeps recent trackers in memory (bot/rasa/tracker_store.py) and, for those,
appends only new events: rows removed here are not written back.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    delete,
    inspect,
    select,
)

from bot.privacy.registry import Place, PrivacyContext
from bot.storage.rasa_events import EVENTS


def _engine(ctx: PrivacyContext):  # type: ignore[no-untyped-def]
    engine = ctx.tracker_engine()
    if engine is None or not inspect(engine).has_table("events"):
        return None
    return engine


def erase(ctx: PrivacyContext, conversation_id: str) -> int:
    engine = _engine(ctx)
    if engine is None:
        return 0
    with engine.begin() as connection:
        return connection.execute(
            delete(EVENTS).where(EVENTS.c.sender_id == conversation_id)
        ).rowcount


def expire(ctx: PrivacyContext, cutoff: datetime) -> int:
    engine = _engine(ctx)
    if engine is None:
        return 0
    with engine.begin() as connection:
        return connection.execute(
            delete(EVENTS).where(EVENTS.c.timestamp < cutoff.timestamp())
        ).rowcount


def export(ctx: PrivacyContext, conversation_id: str) -> list[dict[str, Any]]:
    """The patient's messages and the assistant's replies, oldest first."""
    messages: list[dict[str, Any]] = []
    for event in _events(ctx, conversation_id):
        kind = event.get("event")
        if kind not in ("user", "bot") or not event.get("text"):
            continue
        at = event.get("timestamp")
        messages.append(
            {
                "from": "patient" if kind == "user" else "assistant",
                "text": event["text"],
                "at": datetime.fromtimestamp(at, timezone.utc).isoformat() if at else None,
            }
        )
    return messages


def message_ids(ctx: PrivacyContext, conversation_id: str) -> list[str]:
    """The ids of the patient's messages in this conversation (the channel's message ids)."""
    return [
        str(event["message_id"])
        for event in _events(ctx, conversation_id)
        if event.get("event") == "user" and event.get("message_id")
    ]


def _events(ctx: PrivacyContext, conversation_id: str) -> list[dict[str, Any]]:
    engine = _engine(ctx)
    if engine is None:
        return []
    with engine.connect() as connection:
        rows = connection.execute(
            select(EVENTS.c.data).where(EVENTS.c.sender_id == conversation_id).order_by(EVENTS.c.id)
        ).scalars()
        events = []
        for data in rows:
            try:
                events.append(json.loads(data))
            except (TypeError, ValueError):
                continue
        return events


TRACKER_EVENTS = Place(
    "tracker_events",
    "the conversation: every message, reply and slot, in Rasa's tracker store",
    "conversation",
    erase,
    expire,
    export,
)
