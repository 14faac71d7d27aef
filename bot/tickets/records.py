"""Tickets: one per reported message, with its notification outbox rows in the same transaction.

Contract: `record_report` creates exactly one `Ticket` per (conversation_id, message_id); calling it
again with the same ids (a retry, a spooled copy, a concurrent writer) returns the same ticket id
and queues nothing new. Each new ticket queues one `Notification` per configured target and one
`ticket_created` audit row. `ticket_reference` is the one definition of the short reference.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clinic import ClinicConfig
from bot.storage.db import Database
from bot.storage.models import Notification, Ticket, as_utc
from bot.tickets import audit
from bot.tickets.report import UNKNOWN_CHANNEL, Report, check_report

logger = logging.getLogger(__name__)

MAX_TRANSCRIPT_TURNS = 20
MAX_TURN_CHARS = 2_000
MAX_TRIGGER_CHARS = 10_000
MAX_VERSION_CHARS = 64
# Column widths in bot/storage/models.py; longer ids are replaced by a stable digest.
MAX_ID_CHARS = 128
MAX_CHANNEL_CHARS = 32

SYSTEM_ACTOR = "assistant"
REFERENCE_LENGTH = 8

_warned_no_targets = False


def ticket_reference(ticket_id: str) -> str:
    """The short reference a patient sees and can quote on the phone (the id's first 8 hex
    digits, upper case)."""
    return ticket_id[:REFERENCE_LENGTH].upper()


def notification_targets(clinic: ClinicConfig) -> list[str]:
    """The outbox targets configured for the clinic, e.g. ["webhook", "email"]."""
    targets = []
    if clinic.notifications.webhook_url:
        targets.append("webhook")
    if clinic.notifications.email:
        targets.append("email")
    return targets


def record_report(db: Database, report: Report, clinic: ClinicConfig) -> str:
    """Store `report` as a ticket (idempotent per conversation and message) and queue its
    notifications in the same transaction. Returns the ticket id. DB errors propagate."""
    check_report(report)
    conversation_id = stored_id(report.conversation_id)
    message_id = stored_id(report.message_id)
    try:
        with db.session() as session:
            existing = _find_ticket(session, conversation_id, message_id)
            if existing is not None:
                return existing
            ticket = _new_ticket(report, conversation_id, message_id)
            session.add(ticket)
            session.flush()
            for target in notification_targets(clinic):
                session.add(Notification(ticket_id=ticket.id, target=target))
            audit.add(
                session,
                SYSTEM_ACTOR,
                audit.TICKET_CREATED,
                ticket.id,
                f"severity={ticket.severity} channel={ticket.channel}",
            )
            ticket_id: str = ticket.id
    except IntegrityError:
        # Another writer stored the same message between our look-up and our insert.
        with db.session() as session:
            existing = _find_ticket(session, conversation_id, message_id)
        if existing is None:
            raise
        return existing
    _warn_if_no_targets(clinic)
    return ticket_id


def ticket_id_for(db: Database, conversation_id: str, message_id: str) -> str | None:
    """The ticket for a reported message, if it has been recorded (e.g. after a spool drain)."""
    with db.session() as session:
        return _find_ticket(session, stored_id(conversation_id), stored_id(message_id))


def _find_ticket(session: Session, conversation_id: str, message_id: str) -> str | None:
    return session.execute(
        select(Ticket.id).where(
            Ticket.conversation_id == conversation_id, Ticket.message_id == message_id
        )
    ).scalar_one_or_none()


# Ticket ids are derived from the message, so a report waiting in the spool already knows the
# id its ticket will have (a callback number can be attached once it is drained).
_TICKET_NAMESPACE = uuid.UUID("8f4d3f0e-5b7a-4c1e-9a51-6d2f0c3b7e21")


def ticket_id_for_message(conversation_id: str, message_id: str) -> str:
    """The id the ticket of this message has or will have (32 hex digits)."""
    key = f"{stored_id(conversation_id)}\n{stored_id(message_id)}"
    return uuid.uuid5(_TICKET_NAMESPACE, key).hex


def _new_ticket(report: Report, conversation_id: str, message_id: str) -> Ticket:
    return Ticket(
        id=ticket_id_for_message(conversation_id, message_id),
        created_at=as_utc(report.created_at),
        channel=(report.channel or UNKNOWN_CHANNEL)[:MAX_CHANNEL_CHARS],
        conversation_id=conversation_id,
        message_id=message_id,
        severity=report.triage.severity,
        symptoms=report.triage.symptoms,
        trigger_text=report.text[:MAX_TRIGGER_CHARS],
        transcript=capped_transcript(report.transcript),
    )


def capped_transcript(transcript: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The last MAX_TRANSCRIPT_TURNS turns, each text cut to MAX_TURN_CHARS, known keys only
    (a bot turn keeps the knowledge version it was answered from)."""
    turns = []
    for turn in transcript[-MAX_TRANSCRIPT_TURNS:]:
        kept = {
            "sender": "bot" if turn.get("sender") == "bot" else "user",
            "text": str(turn.get("text") or "")[:MAX_TURN_CHARS],
            "at": str(turn.get("at") or ""),
        }
        if turn.get("knowledge_version"):
            kept["knowledge_version"] = str(turn["knowledge_version"])[:MAX_VERSION_CHARS]
        turns.append(kept)
    return turns


def stored_id(value: str) -> str:
    """`value` if it fits its column, else a stable digest of it (so idempotency still holds)."""
    if len(value) <= MAX_ID_CHARS:
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _warn_if_no_targets(clinic: ClinicConfig) -> None:
    global _warned_no_targets
    if not _warned_no_targets and not notification_targets(clinic):
        _warned_no_targets = True
        logger.warning(
            "no notification target configured (notifications.webhook_url / notifications.email "
            "in data/clinic.yml): new tickets appear only in the clinician inbox"
        )
