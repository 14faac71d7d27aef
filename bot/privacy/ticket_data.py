"""What tickets keep about a patient, and the spool of reports waiting to become tickets.

A ticket's clinical record stays: severity, symptom concepts, channel, times, who acknowledged
and resolved it, its audit entries. Its personal part is anonymised: the message that raised it,
the transcript, the callback number, clinicians' notes in
its audit entries, and its link to the conversation (the conversation id is replaced by
`erased:<ticket id>`).

An active (open or acknowledged) emergency or urgent ticket is kept whole while a clinician still
needs it: `erase` leaves it, `held_ticket_ids` names it, and bot/privacy/erasure.py erases it
when the ticket is resolved (bot/tickets/lifecycle.py calls `release_on_resolve`).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import and_, not_, or_, select
from sqlalchemy.orm import Session

from bot.privacy.registry import Place, PrivacyContext
from bot.storage.models import AuditEntry, Ticket, as_utc
from bot.tickets.records import stored_id
from bot.tickets.spool import REJECTED_FILE
from bot.tickets.states import ACTIVE_STATUSES

ERASED_PREFIX = "erased:"
HELD_SEVERITIES = ("emergency", "urgent")
NOTE_MARK = "; note: "
ERASED_NOTE = "; note: [erased]"


def _held() -> Any:
    return and_(Ticket.status.in_(ACTIVE_STATUSES), Ticket.severity.in_(HELD_SEVERITIES))


def _not_erased() -> Any:
    return not_(Ticket.conversation_id.startswith(ERASED_PREFIX))


def held_ticket_ids(session: Session, conversation_id: str) -> list[str]:
    """The conversation's tickets an erasure must wait for (active emergency or urgent)."""
    return list(
        session.execute(
            select(Ticket.id).where(Ticket.conversation_id == stored_id(conversation_id), _held())
        ).scalars()
    )


def anonymise_tickets(session: Session, ticket_ids: list[str]) -> int:
    """Remove the personal part of these tickets and the notes in their audit entries."""
    count = 0
    for ticket in session.execute(select(Ticket).where(Ticket.id.in_(ticket_ids))).scalars():
        ticket.conversation_id = f"{ERASED_PREFIX}{ticket.id}"
        ticket.message_id = ticket.id
        ticket.trigger_text = ""
        ticket.transcript = []
        ticket.callback_number = None
        ticket.callback_consent_at = None
        ticket.symptoms = [_concept_only(symptom) for symptom in ticket.symptoms or []]
        count += 1
    for entry in session.execute(
        select(AuditEntry).where(
            AuditEntry.ticket_id.in_(ticket_ids), AuditEntry.detail.contains(NOTE_MARK)
        )
    ).scalars():
        entry.detail = _without_note(entry.detail)
    return count


def _concept_only(symptom: object) -> object:
    """Symptoms are stored as concept names; an older dict form keeps its concept only."""
    if isinstance(symptom, dict):
        return str(symptom.get("concept") or "")
    return symptom


def _without_note(detail: str) -> str:
    head, _, rest = detail.partition(NOTE_MARK)
    return head + ERASED_NOTE if rest and rest != "[erased]" else detail


def erase(ctx: PrivacyContext, conversation_id: str) -> int:
    """Anonymise the conversation's tickets, except those `held_ticket_ids` names."""
    with ctx.db.session() as session:
        ids = list(
            session.execute(
                select(Ticket.id).where(
                    Ticket.conversation_id == stored_id(conversation_id), not_(_held())
                )
            ).scalars()
        )
        return anonymise_tickets(session, ids)


def expire(ctx: PrivacyContext, cutoff: datetime) -> int:
    """Anonymise tickets raised before `cutoff` (transcript retention), active ones excepted."""
    with ctx.db.session() as session:
        ids = list(
            session.execute(
                select(Ticket.id).where(
                    Ticket.created_at < cutoff,
                    Ticket.status.not_in(ACTIVE_STATUSES),
                    or_(_not_erased(), Ticket.trigger_text != ""),
                )
            ).scalars()
        )
        return anonymise_tickets(session, ids)


def export(ctx: PrivacyContext, conversation_id: str) -> list[dict[str, Any]]:
    with ctx.db.session() as session:
        rows = session.execute(
            select(Ticket)
            .where(Ticket.conversation_id == stored_id(conversation_id))
            .order_by(Ticket.created_at)
        ).scalars()
        return [
            {
                "ticket": row.id,
                "created_at": as_utc(row.created_at).isoformat(),
                "channel": row.channel,
                "severity": row.severity,
                "status": row.status,
                "symptoms": row.symptoms or [],
                "message": row.trigger_text,
                "transcript": row.transcript or [],
                "callback_number": row.callback_number,
                "acknowledged_by": row.acknowledged_by,
                "resolved_by": row.resolved_by,
                "resolved_at": as_utc(row.resolved_at).isoformat() if row.resolved_at else None,
            }
            for row in rows
        ]


TICKETS = Place(
    "tickets",
    "tickets: the message that raised them, the transcript, the callback number (the record of"
    " severity, times and who acted stays)",
    "transcript",
    erase,
    expire,
    export,
)


# --- the spool -------------------------------------------------------------------------------


def _report_of(entry: dict[str, Any] | None) -> dict[str, Any]:
    report = (entry or {}).get("report")
    return report if isinstance(report, dict) else {}


def erase_spool(ctx: PrivacyContext, conversation_id: str) -> int:
    needle = conversation_id.encode("utf-8")

    def matches(entry: dict[str, Any] | None, raw: bytes) -> bool:
        if entry is None or not _report_of(entry):
            return needle in raw  # unreadable (rejected) lines: by the id they contain
        return _report_of(entry).get("conversation_id") == conversation_id

    return ctx.spool.remove_where(matches)


def expire_spool(ctx: PrivacyContext, cutoff: datetime) -> int:
    """Entries spooled before `cutoff` (the worker drains the spool before this runs)."""

    def matches(entry: dict[str, Any] | None, raw: bytes) -> bool:
        try:
            spooled = datetime.fromisoformat(str((entry or {})["spooled_at"]))
        except (KeyError, ValueError):
            return False  # an unreadable line: the rejected file's age decides, below
        return as_utc(spooled) < cutoff

    removed = ctx.spool.remove_where(matches)
    rejected = ctx.spool.directory / REJECTED_FILE
    try:
        if datetime.fromtimestamp(rejected.stat().st_mtime, timezone.utc) < cutoff:
            removed += sum(1 for line in rejected.read_bytes().split(b"\n") if line.strip())
            rejected.unlink()
    except FileNotFoundError:
        pass
    return removed


def export_spool(ctx: PrivacyContext, conversation_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def matches(entry: dict[str, Any] | None, raw: bytes) -> bool:
        report = _report_of(entry)
        if report.get("conversation_id") == conversation_id:
            found.append({"spooled_at": (entry or {}).get("spooled_at"), "report": report})
        return False

    ctx.spool.remove_where(matches)  # matches nothing: reads every file under its lock
    return found


SPOOL = Place(
    "spool",
    "reports waiting in var/spool to become tickets (message text and transcript)",
    "conversation",
    erase_spool,
    expire_spool,
    export_spool,
)
