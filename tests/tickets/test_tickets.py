"""Tickets: one per reported message, outbox rows per target, what is stored."""

from __future__ import annotations

import logging
import threading

import pytest
from sqlalchemy import event, func, select

from bot.storage.db import Database
from bot.storage.models import AuditEntry, Notification, Ticket
from bot.tickets.records import MAX_TRIGGER_CHARS, record_report, ticket_id_for
from bot.tickets.report import NotAReport

from .helpers import SmtpReceiver, make_clinic, make_report

WEBHOOK = "http://127.0.0.1:9/hook"


def count(db: Database, model: type) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(model)).scalar_one()


def tickets(db: Database) -> list[Ticket]:
    with db.session() as session:
        return list(session.execute(select(Ticket).order_by(Ticket.created_at)).scalars())


def test_same_message_twice_makes_one_ticket(db: Database) -> None:
    clinic = make_clinic(webhook_url=WEBHOOK)
    first = record_report(db, make_report(), clinic)
    second = record_report(db, make_report(), clinic)
    assert first == second
    assert count(db, Ticket) == 1
    assert count(db, Notification) == 1
    assert ticket_id_for(db, "conv-1", "msg-1") == first


def test_repeated_reports_in_one_conversation_make_one_ticket_each(db: Database) -> None:
    clinic = make_clinic()
    ids = {record_report(db, make_report(message_id=f"msg-{i}"), clinic) for i in range(3)}
    assert len(ids) == 3
    assert {t.conversation_id for t in tickets(db)} == {"conv-1"}


def test_lost_insert_race_returns_the_winners_ticket(db: Database) -> None:
    """Another process stores the same message between our look-up and our insert."""
    clinic = make_clinic(webhook_url=WEBHOOK)
    other = Database(db.url)  # a second engine on the same file, like a second process
    winner: list[str] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def _competitor_first(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("INSERT INTO tickets") and not winner:
            winner.append(record_report(other, make_report(), clinic))

    try:
        mine = record_report(db, make_report(), clinic)
    finally:
        event.remove(db.engine, "before_cursor_execute", _competitor_first)
        other.dispose()
    assert winner and mine == winner[0]
    assert count(db, Ticket) == 1
    assert count(db, Notification) == 1


def test_concurrent_threads_make_one_ticket(db: Database) -> None:
    clinic = make_clinic(webhook_url=WEBHOOK)
    results: list[str] = []
    start = threading.Barrier(6)

    def record() -> None:
        start.wait()
        results.append(record_report(db, make_report(), clinic))

    threads = [threading.Thread(target=record) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and len(set(results)) == 1
    assert count(db, Ticket) == 1
    assert count(db, Notification) == 1


@pytest.mark.parametrize(
    ("webhook_url", "with_email", "targets"),
    [(None, False, []), (WEBHOOK, False, ["webhook"]), (WEBHOOK, True, ["email", "webhook"])],
)
def test_one_outbox_row_per_configured_target(
    db: Database, webhook_url: str | None, with_email: bool, targets: list[str]
) -> None:

    clinic = make_clinic(
        webhook_url=webhook_url, email=SmtpReceiver().settings() if with_email else None
    )
    ticket_id = record_report(db, make_report(), clinic)
    with db.session() as session:
        rows = session.execute(select(Notification)).scalars().all()
    assert sorted(r.target for r in rows) == targets
    assert all(r.ticket_id == ticket_id and r.delivered_at is None for r in rows)


def test_no_target_warns_once_and_still_stores(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clinic = make_clinic()
    with caplog.at_level(logging.WARNING, logger="bot.tickets.records"):
        record_report(db, make_report(message_id="a"), clinic)
        record_report(db, make_report(message_id="b"), clinic)
    warnings = [r for r in caplog.records if "no notification target" in r.getMessage()]
    assert len(warnings) == 1
    assert count(db, Ticket) == 2


def test_severity_symptoms_and_audit_are_stored(db: Database) -> None:
    ticket_id = record_report(db, make_report(severity="emergency"), make_clinic())
    (ticket,) = tickets(db)
    assert (ticket.id, ticket.severity, ticket.symptoms) == (ticket_id, "emergency", ["swelling"])
    assert ticket.status == "open" and ticket.channel == "rest"
    with db.session() as session:
        actions = session.execute(select(AuditEntry.action, AuditEntry.ticket_id)).all()
    assert [tuple(a) for a in actions] == [("ticket_created", ticket_id)]


def test_trigger_text_of_10000_chars_is_stored_whole_and_longer_is_capped(db: Database) -> None:
    exact = "swelling " * (MAX_TRIGGER_CHARS // 9) + "x" * (MAX_TRIGGER_CHARS % 9)
    assert len(exact) == 10_000
    record_report(db, make_report(message_id="exact", text=exact), make_clinic())
    record_report(db, make_report(message_id="long", text=exact + "overflow"), make_clinic())
    stored = {t.message_id: t.trigger_text for t in tickets(db)}
    assert stored["exact"] == exact
    assert stored["long"] == exact


def test_transcript_keeps_last_20_turns_each_capped(db: Database) -> None:
    transcript = [
        {"sender": "user" if i % 2 else "bot", "text": f"turn {i} " + "y" * 3000, "at": f"t{i}"}
        for i in range(30)
    ]
    record_report(db, make_report(transcript=transcript), make_clinic())
    (ticket,) = tickets(db)
    assert len(ticket.transcript) == 20
    assert ticket.transcript[0]["text"].startswith("turn 10 ")
    assert ticket.transcript[-1]["at"] == "t29"
    assert all(len(turn["text"]) == 2_000 for turn in ticket.transcript)
    assert {turn["sender"] for turn in ticket.transcript} == {"user", "bot"}


def test_overlong_ids_still_dedupe(db: Database) -> None:
    long_id = "c" * 500
    first = record_report(db, make_report(conversation_id=long_id), make_clinic())
    second = record_report(db, make_report(conversation_id=long_id), make_clinic())
    assert first == second and count(db, Ticket) == 1


def test_report_without_severity_is_refused(db: Database) -> None:
    with pytest.raises(NotAReport):
        record_report(db, make_report(severity=None), make_clinic())
    assert count(db, Ticket) == 0
