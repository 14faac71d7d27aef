"""What the ticket rooms record for Prometheus: tickets stored or spooled by the action server,
notification attempts, the outbox and spool gauges read at scrape time, and the time from a
ticket to its acknowledgement."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from sqlalchemy import update

from bot.observability.collectors import QueueCollector
from bot.observability.metrics import TICKET_ACK_SECONDS
from bot.storage.db import Database
from bot.storage.models import Notification, Ticket, utcnow
from bot.tickets.lifecycle import acknowledge
from bot.tickets.notify.outbox import Outbox
from bot.tickets.records import record_report
from bot.tickets.spool import Spool, record_report_promptly

from .helpers import FakeClock, WebhookReceiver, make_clinic, make_report, unreachable_db


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(collector: QueueCollector) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(collector)
    found: dict[str, float] = {}
    for family in registry.collect():
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            found[f"{s.name}{{{labels}}}"] = s.value
    generate_latest(registry)  # renders without error
    return found


async def test_stored_and_spooled_tickets_are_counted(
    db: Database, spool: Spool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clinic = make_clinic()
    stored = sample("meso_ticket_records_total", severity="urgent", outcome="stored")
    spooled = sample("meso_ticket_records_total", severity="urgent", outcome="spooled")
    monkeypatch.setattr("bot.tickets.spool.get_database", lambda *_: db)
    outcome = await record_report_promptly(make_report(message_id="a"), clinic, spool=spool)
    assert outcome.ticket_id
    monkeypatch.setattr("bot.tickets.spool.get_database", lambda *_: unreachable_db(tmp_path))
    outcome = await record_report_promptly(make_report(message_id="b"), clinic, spool=spool)
    assert outcome.spooled
    assert sample("meso_ticket_records_total", severity="urgent", outcome="stored") == stored + 1
    assert sample("meso_ticket_records_total", severity="urgent", outcome="spooled") == spooled + 1


async def test_notification_attempts_are_counted_retrying_failed_delivered(
    db: Database, webhook: WebhookReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url=webhook.url, max_attempts=2, backoff_seconds=1)
    outbox = Outbox(clinic, clock=clock)
    before = {
        o: sample("meso_notification_attempts_total", target="webhook", outcome=o)
        for o in ("retrying", "failed", "delivered")
    }
    record_report(db, make_report(message_id="m1"), clinic)
    await outbox.deliver_due(db)  # receiver not started: first failure
    clock.advance(3600)
    await outbox.deliver_due(db)  # second failure: given up
    record_report(db, make_report(message_id="m2"), clinic)
    await webhook.start()
    await outbox.deliver_due(db)
    after = {
        o: sample("meso_notification_attempts_total", target="webhook", outcome=o) for o in before
    }
    assert {o: after[o] - before[o] for o in before} == {"retrying": 1, "failed": 1, "delivered": 1}


def test_outbox_and_spool_gauges_are_read_at_scrape_time(
    db: Database, spool: Spool, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url="http://127.0.0.1:9/hook", max_attempts=3)
    collector = QueueCollector(lambda: db, 3, spool, clock=clock)
    assert scrape(collector) == {
        "meso_outbox_oldest_pending_seconds{}": 0.0,
        "meso_spool_depth{}": 0.0,
        "meso_scrape_errors{source=outbox}": 0.0,
        "meso_scrape_errors{source=spool}": 0.0,
    }
    for n in range(3):
        record_report(db, make_report(message_id=f"m{n}"), clinic)
    with db.session() as session:  # one given up, one delivered, one waiting
        ids = [r.id for r in session.query(Notification).order_by(Notification.id)]
        session.execute(update(Notification).where(Notification.id == ids[0]).values(attempts=3))
        session.execute(
            update(Notification).where(Notification.id == ids[1]).values(delivered_at=utcnow())
        )
        created = session.get(Notification, ids[2]).created_at
    spool.append(make_report(message_id="s1"))
    spool.append(make_report(message_id="s2"))
    clock.now = created.replace(tzinfo=clock.now.tzinfo) + timedelta(seconds=90)
    found = scrape(collector)
    assert found["meso_outbox_backlog{target=webhook}"] == 1.0
    assert found["meso_outbox_failed{target=webhook}"] == 1.0
    assert found["meso_outbox_oldest_pending_seconds{}"] == 90.0
    assert found["meso_spool_depth{}"] == 2.0


def test_an_unreadable_database_is_a_scrape_error_not_a_failed_scrape(
    tmp_path: Path, spool: Spool
) -> None:
    found = scrape(QueueCollector(lambda: unreachable_db(tmp_path), 3, spool))
    assert found["meso_scrape_errors{source=outbox}"] == 1.0
    assert "meso_outbox_backlog" not in "".join(found)
    assert found["meso_spool_depth{}"] == 0.0


def test_acknowledging_observes_the_time_since_the_ticket_was_created(db: Database) -> None:
    ticket_id = record_report(db, make_report(severity="emergency"), make_clinic())
    with db.session() as session:
        created = session.get(Ticket, ticket_id).created_at
    count = sample("meso_ticket_ack_seconds_count", severity="emergency")
    total = sample("meso_ticket_ack_seconds_sum", severity="emergency")
    under_5_min = sample("meso_ticket_ack_seconds_bucket", severity="emergency", le="300.0")
    acknowledge(db, ticket_id, "anna", now=created + timedelta(seconds=240))
    assert sample("meso_ticket_ack_seconds_count", severity="emergency") == count + 1
    assert sample("meso_ticket_ack_seconds_sum", severity="emergency") == total + 240
    assert (
        sample("meso_ticket_ack_seconds_bucket", severity="emergency", le="300.0")
        == under_5_min + 1
    )
    assert TICKET_ACK_SECONDS._labelnames == ("severity",)
