"""Tickets an erasure waits for: an active emergency or urgent ticket is kept whole until a
clinician resolves it; `release_on_resolve` (bot/tickets/lifecycle.py, inside the resolve
transaction) erases it then and finishes the erasure when nothing else holds it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.privacy.ticket_data import anonymise_tickets
from bot.storage.models import ErasureHold, ErasureJob, utcnow
from bot.tickets import audit

HOLDING = "holding"
DONE = "done"
ERASURE_HELD_TICKET_ERASED = "erasure_held_ticket_erased"


def release_on_resolve(session: Session, ticket_id: str, actor: str) -> bool:
    """Inside the transaction that resolves `ticket_id`: if an erasure waits for it, erase it
    now and finish the erasure when nothing else holds it. True when it was erased."""
    hold = session.get(ErasureHold, ticket_id)
    if hold is None:
        return False
    anonymise_tickets(session, [ticket_id])
    erasure_id = hold.erasure_id
    session.delete(hold)
    session.flush()
    audit.add(session, actor, ERASURE_HELD_TICKET_ERASED, ticket_id, f"job={erasure_id}")
    finish_if_unheld(session, erasure_id)
    return True


def finish_if_unheld(session: Session, erasure_id: str) -> None:
    left = session.execute(
        select(func.count()).select_from(ErasureHold).where(ErasureHold.erasure_id == erasure_id)
    ).scalar_one()
    job = session.get(ErasureJob, erasure_id)
    if not left and job is not None and job.status == HOLDING:
        job.status = DONE
        job.finished_at = utcnow()
