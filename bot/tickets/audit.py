"""The audit trail: sign-ins, sign-outs, ticket creation, views, status changes, callback numbers,
notification outcomes and live handoffs.

Contract: `add` is the only code that writes an audit row (`record` wraps it in a transaction of
its own); every room calls it, inside the transaction of the change it records whenever there
is one, so the row commits or rolls back with that change. Rows are never updated or deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.db import Database
from bot.storage.models import AuditEntry, as_utc, utcnow

# Actions. Clinician inbox:
LOGIN_SUCCESS = "login_success"
LOGIN_FAILURE = "login_failure"
LOGOUT = "logout"
TICKET_VIEW = "ticket_view"
TICKET_ACKNOWLEDGE = "ticket_acknowledge"
TICKET_RESOLVE = "ticket_resolve"
TICKET_REOPEN = "ticket_reopen"
# Staff accounts (web admin pages, the account page and the `staff` command line):
ACCOUNT_CREATED = "account_created"
ACCOUNT_PASSWORD_SET = "account_password_set"
ACCOUNT_ROLE_CHANGED = "account_role_changed"
ACCOUNT_PAUSED = "account_paused"
ACCOUNT_UNPAUSED = "account_unpaused"
SECOND_FACTOR_ENROLMENT_STARTED = "second_factor_enrolment_started"
SECOND_FACTOR_ENABLED = "second_factor_enabled"
SECOND_FACTOR_RESET = "second_factor_reset"
ADMIN_PAGE_REFUSED = "admin_page_refused"
# Live handoff (bot/handoff): taken, a clinician's message to the patient, handed back.
HANDOFF_TAKEN = "handoff_taken"
HANDOFF_MESSAGE = "handoff_message"
HANDOFF_RETURNED = "handoff_returned"
# The assistant, the patient and the notification worker:
TICKET_CREATED = "ticket_created"
CALLBACK_REQUESTED = "callback_requested"
NOTIFICATION_DELIVERED = "notification_delivered"
NOTIFICATION_FAILED = "notification_failed"

_ACTOR_MAX = 64
_DETAIL_MAX = 2000


@dataclass(frozen=True)
class AuditView:
    at: datetime
    actor: str
    action: str
    ticket_id: str | None
    detail: str | None


def add(
    session: Session,
    actor: str,
    action: str,
    ticket_id: str | None = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> None:
    """Add an entry inside the caller's transaction, so it commits with the change it records.
    The one place an `AuditEntry` is made; `actor` and `detail` are cut to their column sizes."""
    session.add(
        AuditEntry(
            at=at or utcnow(),
            actor=actor[:_ACTOR_MAX],
            action=action,
            ticket_id=ticket_id,
            detail=detail[:_DETAIL_MAX] if detail else None,
        )
    )


def record(
    db: Database,
    actor: str,
    action: str,
    ticket_id: str | None = None,
    detail: str | None = None,
) -> None:
    """Add an entry in its own transaction."""
    with db.session() as session:
        add(session, actor, action, ticket_id, detail)


def recent(db: Database, limit: int = 200) -> list[AuditView]:
    """The newest `limit` entries, newest first."""
    with db.session() as session:
        rows = session.execute(
            select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
        ).scalars()
        return [_view(row) for row in rows]


def for_ticket(session: Session, ticket_id: str) -> list[AuditView]:
    """A ticket's entries, oldest first."""
    rows = session.execute(
        select(AuditEntry)
        .where(AuditEntry.ticket_id == ticket_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    ).scalars()
    return [_view(row) for row in rows]


def _view(row: AuditEntry) -> AuditView:
    return AuditView(
        at=as_utc(row.at),
        actor=row.actor,
        action=row.action,
        ticket_id=row.ticket_id,
        detail=row.detail,
    )
