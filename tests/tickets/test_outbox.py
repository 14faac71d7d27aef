"""Notification delivery to real receivers on 127.0.0.1: webhook (aiohttp) and e-mail (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import random

import pytest
from sqlalchemy import select

from bot.storage.db import Database
from bot.storage.models import AuditEntry, Notification
from bot.tickets.notify.outbox import BACKOFF_CAP_SECONDS, Outbox, backoff_delay
from bot.tickets.notify.webhook import SIGNATURE_HEADER, sign
from bot.tickets.records import record_report

from .helpers import FakeClock, SmtpReceiver, WebhookReceiver, make_clinic, make_report

LATER = BACKOFF_CAP_SECONDS + 1  # past any backoff


def rows(db: Database) -> list[Notification]:
    with db.session() as session:
        return list(session.execute(select(Notification).order_by(Notification.id)).scalars())


def audit(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.execute(select(AuditEntry.action).order_by(AuditEntry.id)).scalars())


async def test_webhook_delivers_signed_json_with_idempotency_key(
    db: Database,
    webhook: WebhookReceiver,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MESO_WEBHOOK_SECRET", "s3cret")
    clinic = make_clinic(webhook_url=webhook.url)
    ticket_id = record_report(db, make_report(severity="emergency"), clinic)
    await webhook.start()
    outbox = Outbox(clinic, clock=clock)

    result = await outbox.deliver_due(db)
    assert result.delivered == 1
    (received,) = webhook.received
    assert received["headers"]["Idempotency-Key"] == ticket_id
    assert received["headers"][SIGNATURE_HEADER] == sign(received["raw"], "s3cret")
    body = received["json"]
    assert body["ticket_id"] == ticket_id
    assert body["severity"] == "emergency"
    assert body["symptoms"] == ["swelling"]
    assert body["channel"] == "rest"
    assert body["trigger_text"] == make_report().text
    assert body["link"] == f"/clinician/tickets/{ticket_id}"
    assert "transcript" not in body and "created_at" in body

    (row,) = rows(db)
    assert row.delivered_at is not None and row.attempts == 1 and row.last_error is None
    clock.advance(LATER)
    assert (await outbox.deliver_due(db)).delivered == 0
    assert webhook.idempotency_keys == [ticket_id]
    assert audit(db) == ["ticket_created", "notification_delivered"]


async def test_webhook_without_secret_is_unsigned(
    db: Database, webhook: WebhookReceiver, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MESO_WEBHOOK_SECRET", raising=False)
    clinic = make_clinic(webhook_url=webhook.url)
    record_report(db, make_report(), clinic)
    await webhook.start()
    await Outbox(clinic, clock=clock).deliver_due(db)
    (received,) = webhook.received
    assert SIGNATURE_HEADER not in received["headers"]


async def test_webhook_down_then_up_gets_it_later_exactly_once(
    db: Database, webhook: WebhookReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url=webhook.url)
    ticket_id = record_report(db, make_report(), clinic)
    outbox = Outbox(clinic, clock=clock, rng=random.Random(1))

    first = await outbox.deliver_due(db)  # receiver's port is closed
    assert (first.delivered, first.retrying) == (0, 1)
    (row,) = rows(db)
    assert row.attempts == 1 and row.delivered_at is None
    assert "unreachable" in row.last_error

    await webhook.start()
    assert (await outbox.deliver_due(db)).delivered == 0  # not due yet: backoff holds
    assert webhook.received == []
    clock.advance(LATER)
    assert (await outbox.deliver_due(db)).delivered == 1
    for _ in range(3):
        clock.advance(LATER)
        await outbox.deliver_due(db)
    assert webhook.idempotency_keys == [ticket_id]
    (row,) = rows(db)
    assert row.attempts == 2 and row.delivered_at is not None and row.last_error is None


async def test_webhook_error_status_is_retried(
    db: Database, webhook: WebhookReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url=webhook.url)
    ticket_id = record_report(db, make_report(), clinic)
    webhook.status = 503
    await webhook.start()
    outbox = Outbox(clinic, clock=clock)
    assert (await outbox.deliver_due(db)).retrying == 1
    assert rows(db)[0].last_error == "webhook answered HTTP 503"
    webhook.status = 200
    clock.advance(LATER)
    assert (await outbox.deliver_due(db)).delivered == 1
    assert webhook.idempotency_keys == [ticket_id, ticket_id]  # at least once; receiver dedupes


async def test_retry_limit_marks_failed_and_keeps_the_row(
    db: Database, webhook: WebhookReceiver, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    clinic = make_clinic(webhook_url=webhook.url, max_attempts=3)
    ticket_id = record_report(db, make_report(), clinic)
    outbox = Outbox(clinic, clock=clock)
    with caplog.at_level(logging.WARNING, logger="bot.tickets.notify.outbox"):
        for _ in range(6):
            await outbox.deliver_due(db)
            clock.advance(LATER)
    (row,) = rows(db)
    assert row.attempts == 3 and row.delivered_at is None and "unreachable" in row.last_error
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and ticket_id in errors[0].getMessage()
    assert audit(db)[-1] == "notification_failed"

    await webhook.start()  # the receiver coming back does not revive a failed row
    await outbox.deliver_due(db)
    assert webhook.received == []


async def test_two_workers_do_not_both_send(
    db: Database, webhook: WebhookReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url=webhook.url)
    ids = [record_report(db, make_report(message_id=f"m{i}"), clinic) for i in range(5)]
    await webhook.start()
    other_db = Database(db.url)  # a second engine, as a second worker process would have
    try:
        await asyncio.gather(
            Outbox(clinic, clock=clock).deliver_due(db),
            Outbox(clinic, clock=clock).deliver_due(other_db),
        )
    finally:
        other_db.dispose()
    assert sorted(webhook.idempotency_keys) == sorted(ids)


async def test_worker_processes_running_at_once_send_each_row_once(
    db: Database, webhook: WebhookReceiver, clock: FakeClock
) -> None:
    """Three workers in threads of their own, each with its own engine and event loop, as
    separate processes would be: their claims really overlap (on PostgreSQL, row locks decide;
    on SQLite, the database lock), and every row still goes out exactly once."""
    clinic = make_clinic(webhook_url=webhook.url)
    ids = [record_report(db, make_report(message_id=f"m{i}"), clinic) for i in range(20)]
    await webhook.start()

    def worker() -> int:
        database = Database(db.url)
        try:
            return asyncio.run(Outbox(clinic, clock=clock).deliver_due(database)).delivered
        finally:
            database.dispose()

    delivered = await asyncio.gather(*(asyncio.to_thread(worker) for _ in range(3)))
    assert sum(delivered) == 20
    assert sorted(webhook.idempotency_keys) == sorted(ids)


async def test_emergency_rows_go_first(
    db: Database, webhook: WebhookReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url=webhook.url)
    record_report(db, make_report(message_id="r", severity="routine"), clinic)
    urgent = record_report(db, make_report(message_id="e", severity="emergency"), clinic)
    await webhook.start()
    await Outbox(clinic, clock=clock).deliver_due(db)
    assert webhook.idempotency_keys[0] == urgent


async def test_email_delivered_with_message_id_from_ticket(
    db: Database, smtp: SmtpReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(email=smtp.settings())
    ticket_id = record_report(db, make_report(severity="urgent"), clinic)
    smtp.start()
    assert (await Outbox(clinic, clock=clock).deliver_due(db)).delivered == 1
    (envelope,) = smtp.inbox.envelopes
    assert envelope.rcpt_tos == ["nurse@clinic.example", "doctor@clinic.example"]
    message = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert message["Message-ID"] == f"<ticket-{ticket_id}@clinic.example>"
    assert "URGENT" in message["Subject"]
    content = message.get_content()
    assert f"/clinician/tickets/{ticket_id}" in content and "swelling" in content
    assert make_report().text not in content


async def test_email_down_then_up_gets_it_later_exactly_once(
    db: Database, smtp: SmtpReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(email=smtp.settings())
    ticket_id = record_report(db, make_report(), clinic)
    outbox = Outbox(clinic, clock=clock)
    assert (await outbox.deliver_due(db)).retrying == 1
    assert "e-mail not sent" in rows(db)[0].last_error
    smtp.start()
    assert (await outbox.deliver_due(db)).delivered == 0
    clock.advance(LATER)
    assert (await outbox.deliver_due(db)).delivered == 1
    clock.advance(LATER)
    await outbox.deliver_due(db)
    message_ids = [email.message_from_bytes(e.content)["Message-ID"] for e in smtp.inbox.envelopes]
    assert message_ids == [f"<ticket-{ticket_id}@clinic.example>"]


async def test_webhook_and_email_for_one_ticket(
    db: Database, webhook: WebhookReceiver, smtp: SmtpReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url=webhook.url, email=smtp.settings())
    ticket_id = record_report(db, make_report(), clinic)
    await webhook.start()
    smtp.start()
    assert (await Outbox(clinic, clock=clock).deliver_due(db)).delivered == 2
    assert webhook.idempotency_keys == [ticket_id]
    assert len(smtp.inbox.envelopes) == 1


def test_backoff_grows_is_jittered_and_capped() -> None:
    rng = random.Random(7)
    base = 5.0
    for attempts in range(1, 15):
        ceiling = min(BACKOFF_CAP_SECONDS, base * 2 ** (attempts - 1))
        delays = {backoff_delay(attempts, base, rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1
    assert backoff_delay(40, base, rng) <= BACKOFF_CAP_SECONDS
