"""What the clinician inbox shows about a ticket (its lists are inbox_search.py). Only
`view_ticket` writes (its audit row: who saw the ticket); status changes are lifecycle.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import Session

from bot.storage.db import Database
from bot.storage.models import Ticket, as_utc
from bot.tickets import audit
from bot.tickets.audit import AuditView
from bot.tickets.states import allowed_actions

_SPEAKERS = {"user": "Patient", "patient": "Patient", "bot": "Assistant", "assistant": "Assistant"}


class TicketNotFound(LookupError):
    """No ticket with that id."""


@dataclass(frozen=True)
class TicketSummary:
    """A ticket as lists show it: no patient text, no phone number (times are aware UTC)."""

    id: str
    severity: str
    status: str
    symptoms: list[str]
    channel: str
    created_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    resolved_by: str | None
    resolved_at: datetime | None
    callback_requested: bool

    @property
    def actions(self) -> tuple[str, ...]:
        """What the ticket's status allows: acknowledge, resolve and/or reopen."""
        return allowed_actions(self.status)

    def age_seconds(self, now: datetime) -> int:
        return max(0, int((now - self.created_at).total_seconds()))

    def as_json(self, now: datetime) -> dict[str, Any]:
        """Summary fields only: no patient text and no phone number."""
        return {
            "id": self.id,
            "severity": self.severity,
            "status": self.status,
            "symptoms": self.symptoms,
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
            "age_seconds": self.age_seconds(now),
            "acknowledged_by": self.acknowledged_by,
            "acknowledged_at": _iso(self.acknowledged_at),
            "callback_requested": self.callback_requested,
        }


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str
    text: str
    at: datetime | None = None
    knowledge_version: str | None = None  # what the assistant's answer was built from


@dataclass(frozen=True)
class StatusEvent:
    at: datetime
    label: str
    actor: str | None = None


@dataclass(frozen=True)
class TicketDetail:
    summary: TicketSummary
    trigger_text: str
    transcript: list[TranscriptLine]
    callback_number: str | None
    callback_consent_at: datetime | None
    history: list[StatusEvent]
    activity: list[AuditView] = field(default_factory=list)


def view_ticket(db: Database, ticket_id: str, viewer: str) -> TicketDetail:
    """The ticket in full; records that `viewer` saw it."""
    with db.session() as session:
        ticket = get_ticket(session, ticket_id)
        audit.add(session, viewer, audit.TICKET_VIEW, ticket_id)
        session.flush()
        summary = summarise(ticket)
        activity = audit.for_ticket(session, ticket_id)
        return TicketDetail(
            summary=summary,
            trigger_text=ticket.trigger_text,
            transcript=[_transcript_line(entry) for entry in ticket.transcript or []],
            callback_number=ticket.callback_number,
            callback_consent_at=_utc_or_none(ticket.callback_consent_at),
            history=_history(summary, activity),
            activity=activity,
        )


def get_ticket(session: Session, ticket_id: str) -> Ticket:
    """The ticket row; raises TicketNotFound."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise TicketNotFound(ticket_id)
    return ticket


def summarise(ticket: Ticket) -> TicketSummary:
    """The summary of a ticket row (no patient text, no phone number)."""
    return TicketSummary(
        id=ticket.id,
        severity=ticket.severity,
        status=ticket.status,
        symptoms=[_symptom_name(s) for s in ticket.symptoms or []],
        channel=ticket.channel,
        created_at=as_utc(ticket.created_at),
        acknowledged_by=ticket.acknowledged_by,
        acknowledged_at=_utc_or_none(ticket.acknowledged_at),
        resolved_by=ticket.resolved_by,
        resolved_at=_utc_or_none(ticket.resolved_at),
        callback_requested=bool(ticket.callback_number),
    )


def _history(summary: TicketSummary, activity: list[AuditView]) -> list[StatusEvent]:
    """Reported, each reopening (from the audit trail), then the current round's acknowledgement
    and resolution (reopening clears those; the audit trail keeps the earlier ones)."""
    events = [StatusEvent(summary.created_at, f"Reported via {summary.channel}")]
    events += [
        StatusEvent(entry.at, "Reopened", entry.actor)
        for entry in activity
        if entry.action == audit.TICKET_REOPEN
    ]
    if summary.acknowledged_at:
        events.append(StatusEvent(summary.acknowledged_at, "Acknowledged", summary.acknowledged_by))
    if summary.resolved_at:
        label = "Resolved" if summary.acknowledged_at else "Resolved without acknowledgement first"
        events.append(StatusEvent(summary.resolved_at, label, summary.resolved_by))
    return sorted(events, key=lambda event: event.at)


def _symptom_name(symptom: object) -> str:
    if isinstance(symptom, dict):
        return str(symptom.get("concept") or symptom.get("text") or json.dumps(symptom))
    return str(symptom)


def _transcript_line(entry: object) -> TranscriptLine:
    """Tolerant of the shapes a transcript entry may take: a dict with a speaker and text
    under common key names, or a bare string."""
    if isinstance(entry, str):
        return TranscriptLine(speaker="", text=entry)
    if not isinstance(entry, dict):
        return TranscriptLine(speaker="", text=json.dumps(entry))
    speaker = _first(entry, ("sender", "role", "speaker", "from", "event")) or ""
    text = _first(entry, ("text", "message", "body", "content"))
    return TranscriptLine(
        speaker=_SPEAKERS.get(str(speaker).lower(), str(speaker)),
        text="" if text is None else str(text),
        at=_parse_time(_first(entry, ("at", "timestamp", "time"))),
        knowledge_version=str(entry["knowledge_version"])
        if entry.get("knowledge_version")
        else None,
    )


def _first(entry: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if entry.get(key) is not None:
            return entry[key]
    return None


def _parse_time(value: object) -> datetime | None:
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=timezone.utc)
        if isinstance(value, str):
            return as_utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _utc_or_none(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
