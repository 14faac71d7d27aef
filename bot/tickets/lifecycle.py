"""Status changes of a ticket: acknowledge, resolve and reopen (see bot/tickets/states.py).

Contract: every change is one conditional UPDATE on the ticket's current status, so of two
clinicians pressing the same button one succeeds and the other gets InvalidTransition (carrying
the ticket as it now is); the change's audit row commits in the same transaction, and so does,
on resolve, the erasure a patient asked for while the ticket was open (bot/privacy). Unknown ids
raise bot.tickets.queries.TicketNotFound. Database errors propagate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.observability.metrics import note_acknowledged
from bot.privacy.holds import release_on_resolve
from bot.storage.db import Database
from bot.storage.models import Ticket, as_utc, utcnow
from bot.tickets import audit
from bot.tickets.queries import TicketSummary, get_ticket, summarise
from bot.tickets.states import (
    ACKNOWLEDGE,
    ACKNOWLEDGED,
    OPEN,
    REOPEN,
    RESOLVE,
    RESOLVED,
    TRANSITIONS,
)

NOTE_MAX = 2000


class InvalidTransition(Exception):
    """The ticket's status does not allow the requested action."""

    def __init__(self, ticket: TicketSummary, action: str) -> None:
        self.ticket = ticket
        self.action = action
        super().__init__(f"cannot {action} a ticket that is {ticket.status}")


def acknowledge(db: Database, ticket_id: str, actor: str, now: datetime | None = None) -> None:
    """Mark an open ticket as being handled by `actor`; the time since the ticket was created
    is observed (meso_ticket_ack_seconds) once the change is committed."""
    now = now or utcnow()
    with db.session() as session:
        values = {"status": ACKNOWLEDGED, "acknowledged_by": actor, "acknowledged_at": now}
        _move(session, ticket_id, ACKNOWLEDGE, values)
        audit.add(session, actor, audit.TICKET_ACKNOWLEDGE, ticket_id, at=now)
        created = session.execute(
            select(Ticket.created_at, Ticket.severity).where(Ticket.id == ticket_id)
        ).one()
    note_acknowledged(created.severity, (as_utc(now) - as_utc(created.created_at)).total_seconds())


def resolve(
    db: Database, ticket_id: str, actor: str, note: str = "", now: datetime | None = None
) -> None:
    """Resolve an open or acknowledged ticket; `note` (optional) goes into the audit entry."""
    now = now or utcnow()
    with db.session() as session:
        previous = session.execute(select(Ticket.status).where(Ticket.id == ticket_id)).scalar()
        values = {"status": RESOLVED, "resolved_by": actor, "resolved_at": now}
        _move(session, ticket_id, RESOLVE, values)
        detail = f"from {previous}" + _note(note)
        audit.add(session, actor, audit.TICKET_RESOLVE, ticket_id, detail, at=now)
        session.flush()
        # A patient's erasure that waited for this ticket finishes with the resolution.
        release_on_resolve(session, ticket_id, actor)


def reopen(
    db: Database, ticket_id: str, actor: str, note: str = "", now: datetime | None = None
) -> None:
    """Open a resolved ticket again (the patient needs more care). The ticket becomes open and
    unacknowledged, as if new; who resolved it and when moves into the audit entry, with `note`.
    The update also requires the resolution it read, so a ticket reopened and resolved again
    in between is refused rather than reopened on stale facts."""
    now = now or utcnow()
    with db.session() as session:
        resolution = session.execute(
            select(Ticket.resolved_by, Ticket.resolved_at).where(
                Ticket.id == ticket_id, Ticket.status.in_(TRANSITIONS[REOPEN].sources)
            )
        ).one_or_none()
        if resolution is None:
            raise InvalidTransition(summarise(get_ticket(session, ticket_id)), REOPEN)
        same_resolution = (
            Ticket.resolved_at.is_(None)
            if resolution.resolved_at is None
            else Ticket.resolved_at == resolution.resolved_at
        )
        values = {
            "status": OPEN,
            "acknowledged_by": None,
            "acknowledged_at": None,
            "resolved_by": None,
            "resolved_at": None,
        }
        _move(session, ticket_id, REOPEN, values, same_resolution)
        resolved_at = as_utc(resolution.resolved_at).isoformat() if resolution.resolved_at else "?"
        detail = f"was resolved by {resolution.resolved_by or '?'} at {resolved_at}" + _note(note)
        audit.add(session, actor, audit.TICKET_REOPEN, ticket_id, detail, at=now)


def _move(
    session: Session,
    ticket_id: str,
    action: str,
    values: dict[str, Any],
    *conditions: ColumnElement[bool],
) -> None:
    """One conditional UPDATE: only from a status `action` may leave (and `conditions`);
    InvalidTransition carrying the ticket as it now is when nothing matched."""
    changed = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, Ticket.status.in_(TRANSITIONS[action].sources), *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise InvalidTransition(summarise(get_ticket(session, ticket_id)), action)


def _note(note: str) -> str:
    note = note.strip()[:NOTE_MAX]
    return f"; note: {note}" if note else ""
