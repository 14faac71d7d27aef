"""Retention with a frozen clock: each place loses what is past its limit, and only that."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clinic import PrivacySettings
from bot.privacy.export import export_conversation, item_counts
from bot.privacy.retention import RETENTION_APPLIED, RetentionSchedule, apply_retention
from bot.storage.models import AuditEntry, Ticket
from bot.tickets.notify.worker import Worker
from tests.tickets.helpers import make_clinic

from .helpers import OTHER_SECRET, SECRET, WHEN, make_context, populate, tables_containing

SETTINGS = PrivacySettings(conversation_retention_days=90, transcript_retention_days=365)


@pytest.fixture
def ctx(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    context = make_context(database_url, tmp_path / "var")
    yield context
    context.db.dispose()


def _retention_audit(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    with ctx.db.session() as session:
        rows = session.execute(
            select(AuditEntry).where(AuditEntry.action == RETENTION_APPLIED)
        ).scalars()
        return [row.detail or "" for row in rows]


def test_conversations_past_their_limit_go_and_younger_ones_stay(ctx, database_url: str) -> None:  # type: ignore[no-untyped-def]
    old_ticket = populate(ctx, "wa:old", SECRET, WHEN)
    populate(ctx, "wa:recent", OTHER_SECRET, WHEN + timedelta(days=80))

    run = apply_retention(ctx, SETTINGS, now=WHEN + timedelta(days=91))

    old = item_counts(export_conversation(ctx, "wa:old"))
    recent = item_counts(export_conversation(ctx, "wa:recent"))
    assert old["tracker_events"] == old["whatsapp_dedupe"] == old["whatsapp_journal"] == 0
    assert old["template_fallbacks"] == 0
    assert recent["tracker_events"] == 4 and recent["whatsapp_dedupe"] == 2
    assert recent["template_fallbacks"] == 1 and recent["whatsapp_journal"] == 1
    # Ticket transcripts have their own, longer limit: not yet.
    assert old["tickets"] == 1 and run.counts["tickets"] == 0
    assert run.counts["tracker_events"] == 4 and run.counts["whatsapp_dedupe"] == 2
    # One audit row, with counts and no content.
    (detail,) = _retention_audit(ctx)
    assert "tracker_events=4" in detail and "tickets=0" in detail
    assert SECRET not in detail and "wa:old" not in detail
    assert "tickets" in tables_containing(database_url, SECRET)

    later = apply_retention(ctx, SETTINGS, now=WHEN + timedelta(days=366))

    assert later.counts["tickets"] == 1
    with ctx.db.session() as session:
        ticket = session.get(Ticket, old_ticket)
        assert ticket.trigger_text == "" and ticket.transcript == []
        assert ticket.callback_number is None and ticket.severity == "urgent"
        assert ticket.resolved_by == "anna"  # the clinical record stays
    assert tables_containing(database_url, SECRET) == []
    assert tables_containing(ctx.tracker_url, SECRET) == []


def test_nothing_past_its_limit_writes_no_audit_row(ctx) -> None:  # type: ignore[no-untyped-def]
    populate(ctx, "wa:recent", SECRET, WHEN)
    ctx.spool.directory.joinpath("reports.jsonl").unlink()  # (spooled with today's date)
    run = apply_retention(ctx, SETTINGS, now=WHEN + timedelta(days=10))
    assert run.total == 0 and _retention_audit(ctx) == []


def test_an_active_ticket_keeps_its_transcript_past_the_limit(ctx) -> None:  # type: ignore[no-untyped-def]
    ticket_id = populate(ctx, "wa:old", SECRET, WHEN, resolved=False)
    apply_retention(ctx, SETTINGS, now=WHEN + timedelta(days=400))
    with ctx.db.session() as session:
        assert session.get(Ticket, ticket_id).trigger_text == SECRET


class _Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_worker_applies_retention_once_an_hour(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    populate(ctx, "wa:old", SECRET, WHEN)
    ticks = _Ticks()
    worker = Worker(
        ctx.db,
        make_clinic(),
        spool=ctx.spool,
        retention=RetentionSchedule(clock=ticks),
        clock=lambda: WHEN + timedelta(days=91),
    )
    assert worker.privacy_context(ctx.db).tracker_url == ctx.tracker_url

    first = asyncio.run(worker.run_once())
    assert first.ok and first.retention is not None
    assert first.retention.counts["tracker_events"] == 4
    assert item_counts(export_conversation(ctx, "wa:old"))["tracker_events"] == 0

    ticks.now = 1800.0
    assert (asyncio.run(worker.run_once())).retention is None  # not due yet
    ticks.now = 3600.0
    assert (asyncio.run(worker.run_once())).retention is not None
