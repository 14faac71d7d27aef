"""Tickets: one per reported message, with its notification outbox rows in the same transaction.

Contract: `record_report` creates exactly one `Ticket` per (conversation_id, message_id); calling it
again with the same ids (a retry, a spooled copy, a concurrent writer) returns the same ticket id
and queues nothing new. Each new ticket queues one `Notification` per configured target.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clinic import ClinicConfig
from bot.storage.db import Database
from bot.storage.models import AuditEntry, Notification, Ticket, utcnow
from bot.triage.result import SEVERITY_ORDER, TriageResult

logger = logging.getLogger(__name__)

MAX_TRANSCRIPT_TURNS = 20
MAX_TURN_CHARS = 2_000
MAX_TRIGGER_CHARS = 10_000
# Column widths in bot/storage/models.py; longer ids are replaced by a stable digest.
MAX_ID_CHARS = 128
MAX_CHANNEL_CHARS = 32

SYSTEM_ACTOR = "assistant"
UNKNOWN_CHANNEL = "unknown"

_warned_no_targets = False


@dataclass(frozen=True)
class Report:
    """One user message that triage escalated. `conversation_id` is pseudonymous (never a phone
    number); `transcript` is a list of {"sender": "user"|"bot", "text": str, "at": iso}."""

    channel: str
    conversation_id: str
    message_id: str
    text: str
    triage: TriageResult
    transcript: list[dict[str, str]] = field(default_factory=list)
    created_at: datetime = field(default_factory=utcnow)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form, as written to the spool."""
        return {
            "channel": self.channel,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "text": self.text,
            "triage": self.triage.as_dict(),
            "transcript": list(self.transcript),
            "created_at": as_utc(self.created_at).isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            channel=data["channel"],
            conversation_id=data["conversation_id"],
            message_id=data["message_id"],
            text=data["text"],
            triage=TriageResult.from_dict(data["triage"]),
            transcript=list(data.get("transcript") or ()),
            created_at=datetime.fromisoformat(data["created_at"]),
        )


def report_from_rasa_events(sender_id: str, events: Sequence[Mapping[str, Any]]) -> Report | None:
    """The report for the latest `user` event in Rasa `events`, or None if triage did not
    escalate it. Use it with `tracker.events` in an action and with the single event in the
    event broker, so both derive the same (conversation_id, message_id): the sender id and the
    event's message_id. The transcript is the user and bot texts up to that message."""
    last_user = next(
        (i for i in range(len(events) - 1, -1, -1) if events[i].get("event") == "user"), None
    )
    if last_user is None:
        return None
    event = events[last_user]
    triage = triage_from_parse_data(event.get("parse_data"))
    if triage is None:
        return None
    created_at = _event_time(event.get("timestamp"))
    return Report(
        channel=str(event.get("input_channel") or UNKNOWN_CHANNEL),
        conversation_id=sender_id,
        message_id=str(event.get("message_id") or _fallback_message_id(sender_id, event)),
        text=str(event.get("text") or ""),
        triage=triage,
        transcript=[turn for e in events[: last_user + 1] if (turn := _turn(e)) is not None],
        created_at=created_at,
    )


def triage_from_parse_data(parse_data: Any) -> TriageResult | None:
    """The escalating TriageResult in Rasa parse data (`parse_data["triage"]`), else None."""
    if not isinstance(parse_data, Mapping):
        return None
    triage = parse_data.get("triage")
    if isinstance(triage, TriageResult):
        return triage if triage.escalate else None
    if not isinstance(triage, Mapping) or triage.get("severity") not in SEVERITY_ORDER:
        return None
    try:
        return TriageResult.from_dict(dict(triage))
    except (KeyError, TypeError, ValueError):
        # Malformed mentions must not cost the escalation itself.
        logger.error("triage mentions unreadable; keeping the severity alone")
        return TriageResult(severity=triage["severity"])


def _turn(event: Mapping[str, Any]) -> dict[str, str] | None:
    sender = event.get("event")
    text = event.get("text")
    if sender not in ("user", "bot") or not text:
        return None
    return {
        "sender": sender,
        "text": str(text),
        "at": _event_time(event.get("timestamp")).isoformat(),
    }


def _event_time(timestamp: Any) -> datetime:
    if isinstance(timestamp, (int, float)):
        return datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return utcnow()


def _fallback_message_id(sender_id: str, event: Mapping[str, Any]) -> str:
    """Rasa always sets message_id; if a channel did not, derive a stable one from the event."""
    basis = f"{sender_id}|{event.get('timestamp')}|{event.get('text')}"
    return "event-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]


class NotAReport(ValueError):
    """The report cannot become a ticket (no severity, or no conversation/message id)."""


def as_utc(moment: datetime) -> datetime:
    """Aware UTC datetime; naive values (as SQLite returns them) are taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def check_report(report: Report) -> None:
    """Raise NotAReport when `report` could never be stored as a ticket."""
    if report.triage.severity is None:
        raise NotAReport("a report needs a triage severity; nothing escalated")
    if not report.conversation_id or not report.message_id:
        raise NotAReport("a report needs a conversation id and a message id")


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
    conversation_id = _fit_id(report.conversation_id)
    message_id = _fit_id(report.message_id)
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
            session.add(
                AuditEntry(
                    actor=SYSTEM_ACTOR,
                    action="ticket_created",
                    ticket_id=ticket.id,
                    detail=f"severity={ticket.severity} channel={ticket.channel}",
                )
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
        return _find_ticket(session, _fit_id(conversation_id), _fit_id(message_id))


def _find_ticket(session: Session, conversation_id: str, message_id: str) -> str | None:
    return session.execute(
        select(Ticket.id).where(
            Ticket.conversation_id == conversation_id, Ticket.message_id == message_id
        )
    ).scalar_one_or_none()


def _new_ticket(report: Report, conversation_id: str, message_id: str) -> Ticket:
    return Ticket(
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
    """The last MAX_TRANSCRIPT_TURNS turns, each text cut to MAX_TURN_CHARS, known keys only."""
    turns = []
    for turn in transcript[-MAX_TRANSCRIPT_TURNS:]:
        turns.append(
            {
                "sender": "bot" if turn.get("sender") == "bot" else "user",
                "text": str(turn.get("text") or "")[:MAX_TURN_CHARS],
                "at": str(turn.get("at") or ""),
            }
        )
    return turns


def _fit_id(value: str) -> str:
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
