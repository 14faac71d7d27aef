"""Erasure of one conversation from every place personal data lives, on real storage."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.privacy import erasure
from bot.privacy.erasure import request_erasure, resume_pending
from bot.privacy.export import export_conversation, item_counts
from bot.privacy.registry import Place, default_places, use_places
from bot.storage.models import (
    AuditEntry,
    ErasureHold,
    ErasureJob,
    InboundJournalEntry,
    SeenChannelMessage,
    TemplateFallback,
    Ticket,
)
from bot.tickets.lifecycle import resolve

from .helpers import (
    OTHER_SECRET,
    SECRET,
    WHEN,
    files_containing,
    make_context,
    populate,
    tables_containing,
)


@pytest.fixture
def ctx(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    context = make_context(database_url, tmp_path / "var")
    yield context
    use_places(None)
    context.db.dispose()


def test_every_place_holds_the_conversation_before_erasure(ctx) -> None:  # type: ignore[no-untyped-def]
    populate(ctx, "wa:patient", SECRET, WHEN)
    counts = item_counts(export_conversation(ctx, "wa:patient"))
    assert counts == {
        "whatsapp_dedupe": 2,
        "whatsapp_journal": 1,
        "template_fallbacks": 1,
        "review_queue": 1,
        "handoff": 2,
        "spool": 1,
        "tickets": 1,
        "tracker_events": 4,
    }


def test_erasure_removes_the_conversation_from_every_place_and_keeps_the_record(
    ctx, database_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ticket_id = populate(ctx, "wa:patient", SECRET, WHEN)
    populate(ctx, "wa:other", OTHER_SECRET, WHEN)

    outcome = request_erasure(ctx, "wa:patient", "anna")

    assert outcome.finished and not outcome.held and not outcome.repeated
    assert outcome.counts == {
        "whatsapp_dedupe": 2,
        "whatsapp_journal": 1,
        "template_fallbacks": 1,
        "review_queue": 1,
        "handoff": 2,
        "spool": 1,
        "tickets": 1,
        "tracker_events": 4,
    }
    assert sum(item_counts(export_conversation(ctx, "wa:patient")).values()) == 0
    # The ticket's clinical record stays, without anything the patient said or gave.
    with ctx.db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert (ticket.severity, ticket.status, ticket.resolved_by) == (
            "urgent",
            "resolved",
            "anna",
        )
        assert ticket.trigger_text == "" and ticket.transcript == []
        assert ticket.callback_number is None and ticket.conversation_id == f"erased:{ticket_id}"
        assert ticket.symptoms == ["swelling"]
        details = [row.detail or "" for row in session.execute(select(AuditEntry)).scalars()]
    assert any("job=" in d and "tracker_events=4" in d for d in details)
    # Nothing of what the patient said is left in any table of either database, or in var/.
    var_dir = tmp_path / "var"
    assert tables_containing(database_url, SECRET) == []
    assert tables_containing(ctx.tracker_url, SECRET) == []
    assert files_containing(var_dir, SECRET) == []
    assert files_containing(var_dir, "98765") == []  # nor the callback number
    # The other patient's conversation is untouched.
    assert item_counts(export_conversation(ctx, "wa:other"))["tracker_events"] == 4
    assert "tickets" in tables_containing(database_url, OTHER_SECRET)
    assert files_containing(var_dir, OTHER_SECRET)


def test_a_second_request_while_one_is_under_way_is_the_same_erasure(ctx) -> None:  # type: ignore[no-untyped-def]
    populate(ctx, "wa:patient", SECRET, WHEN)
    failing = _failing_at("tickets")
    use_places(failing)
    first = request_erasure(ctx, "wa:patient")
    second = request_erasure(ctx, "wa:patient")
    assert not first.finished and second.repeated and second.job_id == first.job_id
    with ctx.db.session() as session:
        assert len(session.execute(select(ErasureJob)).scalars().all()) == 1
        requested = session.execute(
            select(AuditEntry).where(AuditEntry.action == erasure.ERASURE_REQUESTED)
        ).scalars()
        assert len(list(requested)) == 1


def test_a_request_after_a_finished_erasure_reuses_its_job(ctx) -> None:  # type: ignore[no-untyped-def]
    populate(ctx, "wa:patient", SECRET, WHEN)
    first = request_erasure(ctx, "wa:patient")
    again = request_erasure(ctx, "wa:patient")
    assert again.job_id == first.job_id and again.finished and again.total == 0
    with ctx.db.session() as session:
        job = session.execute(select(ErasureJob)).scalar_one()
        assert job.status == erasure.DONE and job.conversation_id is None


def _failing_at(step: str) -> tuple[Place, ...]:
    def boom(*_args: object) -> int:
        raise OSError("disk went away")

    return tuple(
        Place(p.name, p.what, p.retention, boom, p.expire, p.export) if p.name == step else p
        for p in default_places()
    )


def test_a_crash_halfway_is_finished_by_the_next_worker_pass(ctx, database_url: str) -> None:  # type: ignore[no-untyped-def]
    populate(ctx, "wa:patient", SECRET, WHEN)
    use_places(_failing_at("tickets"))

    outcome = request_erasure(ctx, "wa:patient", "anna")

    assert not outcome.finished
    assert set(outcome.counts) == {
        "whatsapp_dedupe",
        "whatsapp_journal",
        "template_fallbacks",
        "review_queue",
        "handoff",
        "spool",
    }
    with ctx.db.session() as session:
        job = session.execute(select(ErasureJob)).scalar_one()
        assert job.status == erasure.PENDING and job.attempts == 1
        assert job.last_error == "tickets: OSError"
    assert "tickets" in tables_containing(database_url, SECRET)  # not yet: noticed, pending

    use_places(None)  # the disk is back
    assert resume_pending(ctx) == 1

    with ctx.db.session() as session:
        job = session.execute(select(ErasureJob)).scalar_one()
        assert job.status == erasure.DONE and job.steps_done[-1] == "tracker_events"
    assert tables_containing(database_url, SECRET) == []
    assert tables_containing(ctx.tracker_url, SECRET) == []
    assert resume_pending(ctx) == 0


def test_an_open_urgent_ticket_is_kept_until_resolved_then_erased(ctx, database_url: str) -> None:  # type: ignore[no-untyped-def]
    ticket_id = populate(ctx, "wa:patient", SECRET, WHEN, severity="urgent", resolved=False)

    outcome = request_erasure(ctx, "wa:patient")

    assert outcome.held == (ticket_id,) and outcome.finished
    assert outcome.counts["tickets"] == 0 and outcome.counts["tracker_events"] == 4
    with ctx.db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.trigger_text == SECRET and ticket.callback_number  # the clinician needs it
        assert session.execute(select(ErasureJob)).scalar_one().status == erasure.HOLDING

    resolve(ctx.db, ticket_id, "anna", note="seen in clinic")

    with ctx.db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.trigger_text == "" and ticket.callback_number is None
        assert session.execute(select(ErasureJob)).scalar_one().status == erasure.DONE
        assert session.execute(select(ErasureHold)).scalars().all() == []
    assert tables_containing(database_url, SECRET) == []


def test_a_routine_open_ticket_is_not_held(ctx) -> None:  # type: ignore[no-untyped-def]
    ticket_id = populate(ctx, "wa:patient", SECRET, WHEN, severity="routine", resolved=False)
    outcome = request_erasure(ctx, "wa:patient")
    assert outcome.held == () and outcome.counts["tickets"] == 1
    with ctx.db.session() as session:
        assert session.get(Ticket, ticket_id).trigger_text == ""


def test_the_worker_releases_a_hold_whose_ticket_was_resolved_elsewhere(ctx) -> None:  # type: ignore[no-untyped-def]
    ticket_id = populate(ctx, "wa:patient", SECRET, WHEN, resolved=False)
    request_erasure(ctx, "wa:patient")
    with ctx.db.session() as session:  # resolved by a path that does not know about erasure
        session.get(Ticket, ticket_id).status = "resolved"
    resume_pending(ctx)
    with ctx.db.session() as session:
        assert session.get(Ticket, ticket_id).trigger_text == ""
        assert session.execute(select(ErasureJob)).scalar_one().status == erasure.DONE


def test_erasing_a_conversation_that_holds_nothing_erases_nothing(ctx) -> None:  # type: ignore[no-untyped-def]
    outcome = request_erasure(ctx, "never-seen")
    assert outcome.finished and outcome.total == 0


def test_dedupe_and_journal_rows_of_other_conversations_stay(ctx) -> None:  # type: ignore[no-untyped-def]
    populate(ctx, "wa:patient", SECRET, WHEN)
    populate(ctx, "wa:other", OTHER_SECRET, WHEN)
    request_erasure(ctx, "wa:patient")
    with ctx.db.session() as session:
        seen = session.execute(select(SeenChannelMessage.message_id)).scalars().all()
        journal = session.execute(select(InboundJournalEntry.message_id)).scalars().all()
        fallbacks = session.execute(select(TemplateFallback.conversation_id)).scalars().all()
    assert sorted(seen) == ["wa:wa:other-m0", "wa:wa:other-m1"]
    assert journal == ["wa:wa:other-m1"] and fallbacks == ["wa:other"]


def test_the_worker_leaves_a_job_to_the_request_that_is_running_it(ctx) -> None:  # type: ignore[no-untyped-def]
    """A job just recorded, with no failed step, is being run by its request; the worker takes
    it over only when that run never reported back within the grace period (a crash)."""
    populate(ctx, "wa:patient", SECRET, WHEN)
    job_id, _ = erasure._record_job(ctx, "wa:patient", "anna")

    assert resume_pending(ctx) == 0  # the request's own run is under way

    with ctx.db.session() as session:
        job = session.get(ErasureJob, job_id)
        job.requested_at = job.requested_at - erasure.IN_PROGRESS_GRACE - timedelta(seconds=1)
    assert resume_pending(ctx) == 1
    with ctx.db.session() as session:
        assert session.get(ErasureJob, job_id).status == erasure.DONE
