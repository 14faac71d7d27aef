"""The report of one escalated user message: what becomes a ticket, or waits in the spool.

Contract: `report_from_rasa_events` derives the same (conversation_id, message_id) from an action's
`tracker.events` and from the tracker store's single event, so both paths make one ticket.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from bot.observability.metrics import KIOSK_SURFACE
from bot.storage.models import as_utc, utcnow
from bot.triage.result import SEVERITY_ORDER, TriageResult

logger = logging.getLogger(__name__)

UNKNOWN_CHANNEL = "unknown"


class NotAReport(ValueError):
    """The report cannot become a ticket (no severity, or no conversation/message id)."""


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


def check_report(report: Report) -> None:
    """Raise NotAReport when `report` could never be stored as a ticket."""
    if report.triage.severity is None:
        raise NotAReport("a report needs a triage severity; nothing escalated")
    if not report.conversation_id or not report.message_id:
        raise NotAReport("a report needs a conversation id and a message id")


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
        channel=report_channel(event),
        conversation_id=sender_id,
        message_id=str(event.get("message_id") or _fallback_message_id(sender_id, event)),
        text=str(event.get("text") or ""),
        triage=triage,
        transcript=[turn for e in events[: last_user + 1] if (turn := _turn(e)) is not None],
        created_at=created_at,
    )


def report_channel(event: Mapping[str, Any]) -> str:
    """The channel a ticket names: Rasa's input channel, with the kiosk (socket.io with
    `metadata.surface` "kiosk") told apart from the widget, since only the widget can be
    written back to."""
    channel = str(event.get("input_channel") or UNKNOWN_CHANNEL)
    metadata = event.get("metadata")
    kiosk = isinstance(metadata, Mapping) and metadata.get("surface") == KIOSK_SURFACE
    return KIOSK_SURFACE if channel == "socketio" and kiosk else channel


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
    turn = {
        "sender": sender,
        "text": str(text),
        "at": _event_time(event.get("timestamp")).isoformat(),
    }
    version = _knowledge_version(event.get("data"))
    if version:
        turn["knowledge_version"] = version
    return turn


def _knowledge_version(data: Any) -> str | None:
    """The knowledge version a bot message was answered from (its envelope), if any."""
    try:
        version = data["custom"]["meso"]["knowledge_version"]
    except (KeyError, TypeError):
        return None
    return str(version) if version else None


def _event_time(timestamp: Any) -> datetime:
    if isinstance(timestamp, (int, float)):
        return datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return utcnow()


def _fallback_message_id(sender_id: str, event: Mapping[str, Any]) -> str:
    """Rasa always sets message_id; if a channel did not, derive a stable one from the event."""
    basis = f"{sender_id}|{event.get('timestamp')}|{event.get('text')}"
    return "event-" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
