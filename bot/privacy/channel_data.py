"""What the channels keep: WhatsApp's dedupe ids and inbound journal, and template fallbacks.

Dedupe rows and journal entries are keyed by the message's reference (never the number, see
bot/channels/whatsapp/privacy.py), which is also the message id Rasa stores; a conversation's
rows are found through the message ids in its tracker events, so these places run before the
tracker store's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select

from bot.privacy import tracker_events
from bot.privacy.registry import Place, PrivacyContext
from bot.storage.db import Database
from bot.storage.models import InboundJournalEntry, SeenChannelMessage, TemplateFallback, as_utc

_BATCH = 500


def _batches(ids: list[str]) -> list[list[str]]:
    return [ids[i : i + _BATCH] for i in range(0, len(ids), _BATCH)]


ChannelRow = type[SeenChannelMessage] | type[InboundJournalEntry]


def _erase_by_message_ids(ctx: PrivacyContext, conversation_id: str, model: ChannelRow) -> int:
    """Deletes the rows of `model` keyed by the conversation's message ids; returns how many."""
    removed = 0
    with ctx.db.session() as session:
        for batch in _batches(tracker_events.message_ids(ctx, conversation_id)):
            removed += session.execute(delete(model).where(model.message_id.in_(batch))).rowcount
    return removed


def _export_by_message_ids(
    ctx: PrivacyContext,
    conversation_id: str,
    model: ChannelRow,
    as_dict: Callable[[Any], dict[str, Any]],
) -> list[dict[str, Any]]:
    """The rows of `model` keyed by the conversation's message ids, each through `as_dict`."""
    rows: list[dict[str, Any]] = []
    with ctx.db.session() as session:
        for batch in _batches(tracker_events.message_ids(ctx, conversation_id)):
            query = select(model).where(model.message_id.in_(batch))
            rows += [as_dict(row) for row in session.execute(query).scalars()]
    return rows


# --- WhatsApp dedupe ids ---------------------------------------------------------------------


def erase_dedupe(ctx: PrivacyContext, conversation_id: str) -> int:
    return _erase_by_message_ids(ctx, conversation_id, SeenChannelMessage)


def expire_dedupe(ctx: PrivacyContext, cutoff: datetime) -> int:
    with ctx.db.session() as session:
        return session.execute(
            delete(SeenChannelMessage).where(SeenChannelMessage.seen_at < cutoff)
        ).rowcount


def export_dedupe(ctx: PrivacyContext, conversation_id: str) -> list[dict[str, Any]]:
    return _export_by_message_ids(
        ctx,
        conversation_id,
        SeenChannelMessage,
        lambda row: {
            "channel": row.channel,
            "message_ref": row.message_id,
            "seen_at": as_utc(row.seen_at).isoformat(),
        },
    )


WHATSAPP_DEDUPE = Place(
    "whatsapp_dedupe",
    "WhatsApp message references (not the number), so a message is answered once",
    "conversation",
    erase_dedupe,
    expire_dedupe,
    export_dedupe,
)


# --- WhatsApp inbound journal ----------------------------------------------------------------


def erase_journal(ctx: PrivacyContext, conversation_id: str) -> int:
    return _erase_by_message_ids(ctx, conversation_id, InboundJournalEntry)


def expire_journal(ctx: PrivacyContext, cutoff: datetime) -> int:
    """Entries received before `cutoff`; a pending one that old will never be answered."""
    with ctx.db.session() as session:
        return session.execute(
            delete(InboundJournalEntry).where(
                or_(
                    InboundJournalEntry.received_at < cutoff,
                    InboundJournalEntry.done_at < cutoff,
                )
            )
        ).rowcount


def export_journal(ctx: PrivacyContext, conversation_id: str) -> list[dict[str, Any]]:
    return _export_by_message_ids(
        ctx,
        conversation_id,
        InboundJournalEntry,
        lambda row: {
            "message_ref": row.message_id,
            "received_at": as_utc(row.received_at).isoformat(),
            "phone": row.phone,
            "text": row.text,
            "answered": row.done_at is not None,
        },
    )


WHATSAPP_JOURNAL = Place(
    "whatsapp_journal",
    "WhatsApp messages waiting to be answered (number and text, cleared once answered)",
    "conversation",
    erase_journal,
    expire_journal,
    export_journal,
)


# --- template fallbacks (plain functions of the database) ------------------------------------


def erase_template_fallbacks(db: Database, conversation_id: str) -> int:
    with db.session() as session:
        return session.execute(
            delete(TemplateFallback).where(TemplateFallback.conversation_id == conversation_id)
        ).rowcount


def expire_template_fallbacks(db: Database, cutoff: datetime) -> int:
    with db.session() as session:
        return session.execute(
            delete(TemplateFallback).where(TemplateFallback.at < cutoff)
        ).rowcount


def export_template_fallbacks(db: Database, conversation_id: str) -> list[dict[str, Any]]:
    with db.session() as session:
        rows = session.execute(
            select(TemplateFallback)
            .where(TemplateFallback.conversation_id == conversation_id)
            .order_by(TemplateFallback.id)
        ).scalars()
        return [
            {"at": as_utc(row.at).isoformat(), "template": row.template, "channel": row.channel}
            for row in rows
        ]
