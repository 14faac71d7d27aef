"""Status changes (bot/tickets/lifecycle.py): acknowledge, resolve, reopen, and their audit rows."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import event, select

from bot.storage.db import Database
from bot.storage.models import AuditEntry, Ticket, as_utc, utcnow
from bot.tickets import inbox_search, lifecycle, queries
from bot.tickets.lifecycle import InvalidTransition
from bot.tickets.queries import TicketNotFound
from bot.tickets.records import record_report
from bot.tickets.states import allowed_actions

from .helpers import make_clinic, make_report

NURSE = "nurse.amy"
DOCTOR = "dr.bose"


@pytest.fixture
def ticket_id(db: Database) -> str:
    return record_report(db, make_report(), make_clinic())


def row(db: Database, ticket_id: str) -> Ticket:
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


def audit_rows(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as session:
        return list(
            session.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            ).scalars()
        )


def test_each_status_allows_its_actions() -> None:
    assert allowed_actions("open") == ("acknowledge", "resolve")
    assert allowed_actions("acknowledged") == ("resolve",)
    assert allowed_actions("resolved") == ("reopen",)
    assert allowed_actions("no-such-status") == ()


def test_reopen_makes_a_resolved_ticket_open_and_unacknowledged(
    db: Database, ticket_id: str
) -> None:
    lifecycle.acknowledge(db, ticket_id, NURSE)
    resolved_at = utcnow() - timedelta(minutes=5)
    lifecycle.resolve(db, ticket_id, NURSE, now=resolved_at)
    reopened_at = utcnow()

    lifecycle.reopen(db, ticket_id, DOCTOR, "  Patient called again: worse.  ", now=reopened_at)

    ticket = row(db, ticket_id)
    assert ticket.status == "open"
    assert (ticket.acknowledged_by, ticket.acknowledged_at) == (None, None)
    assert (ticket.resolved_by, ticket.resolved_at) == (None, None)
    [entry] = audit_rows(db, "ticket_reopen")
    assert (entry.actor, entry.ticket_id) == (DOCTOR, ticket_id)
    assert as_utc(entry.at) == reopened_at
    assert entry.detail == (
        f"was resolved by {NURSE} at {resolved_at.isoformat()}; note: Patient called again: worse."
    )
    listed = inbox_search.search(db, inbox_search.InboxFilter())
    assert [row.summary.id for row in listed.rows] == [ticket_id]
    assert inbox_search.search(db, inbox_search.InboxFilter(status="resolved")).rows == []


def test_a_reopened_ticket_goes_round_again_and_its_history_says_so(
    db: Database, ticket_id: str
) -> None:
    lifecycle.resolve(db, ticket_id, NURSE)
    lifecycle.reopen(db, ticket_id, DOCTOR)
    lifecycle.acknowledge(db, ticket_id, DOCTOR)
    lifecycle.resolve(db, ticket_id, DOCTOR, note="seen in clinic")

    assert row(db, ticket_id).status == "resolved"
    [entry] = audit_rows(db, "ticket_reopen")
    assert entry.detail is not None and "; note:" not in entry.detail
    assert [e.detail for e in audit_rows(db, "ticket_resolve")] == [
        "from open",
        "from acknowledged; note: seen in clinic",
    ]
    detail = queries.view_ticket(db, ticket_id, NURSE)
    assert [(e.label, e.actor) for e in detail.history] == [
        ("Reported via rest", None),
        ("Reopened", DOCTOR),
        ("Acknowledged", DOCTOR),
        ("Resolved", DOCTOR),
    ]


@pytest.mark.parametrize("status", ["open", "acknowledged"])
def test_only_a_resolved_ticket_can_be_reopened(db: Database, ticket_id: str, status: str) -> None:
    if status == "acknowledged":
        lifecycle.acknowledge(db, ticket_id, NURSE)
    with pytest.raises(InvalidTransition) as refused:
        lifecycle.reopen(db, ticket_id, DOCTOR)
    assert refused.value.action == "reopen"
    assert refused.value.ticket.status == status
    assert row(db, ticket_id).status == status
    assert audit_rows(db, "ticket_reopen") == []


def test_an_unknown_ticket_cannot_be_reopened(db: Database) -> None:
    with pytest.raises(TicketNotFound):
        lifecycle.reopen(db, "f" * 32, DOCTOR)
    assert audit_rows(db, "ticket_reopen") == []


def test_two_clinicians_reopening_at_once_get_one_success(db: Database, ticket_id: str) -> None:
    lifecycle.resolve(db, ticket_id, NURSE)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def reopen(actor: str) -> None:
        start.wait()
        try:
            lifecycle.reopen(db, ticket_id, actor)
            outcomes.append("reopened")
        except InvalidTransition as exc:
            outcomes.append(exc.ticket.status)

    threads = [threading.Thread(target=reopen, args=(actor,)) for actor in (NURSE, DOCTOR)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["open", "reopened"]
    assert len(audit_rows(db, "ticket_reopen")) == 1


def test_reopen_refuses_a_resolution_that_changed_since_it_was_read(
    db: Database, ticket_id: str
) -> None:
    """Between reopen's read and its update, another clinician reopens and resolves again: the
    reopen must not go ahead on the stale resolution (nor record it in the audit trail)."""
    lifecycle.resolve(db, ticket_id, NURSE, now=utcnow() - timedelta(minutes=10))
    other = Database(db.url)  # a second engine on the same file, like a second process
    raced: list[bool] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _competitor_first(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("UPDATE tickets") and not raced:
            raced.append(True)
            lifecycle.reopen(other, ticket_id, DOCTOR)
            lifecycle.resolve(other, ticket_id, DOCTOR)

    try:
        with pytest.raises(InvalidTransition) as refused:
            lifecycle.reopen(db, ticket_id, NURSE)
    finally:
        event.remove(db.engine, "before_cursor_execute", _competitor_first)
        other.dispose()
    assert raced
    assert refused.value.ticket.status == "resolved"
    assert refused.value.ticket.resolved_by == DOCTOR
    assert [e.actor for e in audit_rows(db, "ticket_reopen")] == [DOCTOR]


def test_acknowledge_and_resolve_refuse_what_their_status_does_not_allow(
    db: Database, ticket_id: str
) -> None:
    lifecycle.resolve(db, ticket_id, NURSE)
    for change in (lifecycle.acknowledge, lifecycle.resolve):
        with pytest.raises(InvalidTransition):
            change(db, ticket_id, DOCTOR)
    assert row(db, ticket_id).resolved_by == NURSE
    with pytest.raises(TicketNotFound):
        lifecycle.acknowledge(db, "f" * 32, NURSE)
