"""The inbound journal (bot/channels/whatsapp/journal.py) and its replay by the channel, on
SQLite and PostgreSQL (`database_url`): accepted messages are kept, claimed by exactly one
process once their lease runs out, replayed without answering twice, and pruned."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.channels.whatsapp.graph import RetryPolicy
from bot.channels.whatsapp.journal import (
    Acceptance,
    InboundJournal,
    JournalSettings,
)
from bot.channels.whatsapp.privacy import message_ref, pseudonym
from bot.channels.whatsapp.webhook import Inbound
from bot.rasa.channels.whatsapp.input import WhatsAppInput
from bot.storage.db import Database, get_database
from bot.storage.models import InboundJournalEntry, SeenChannelMessage
from tests.channels.whatsapp_fakes import (
    PHONE,
    Harness,
    notification,
    serve_channel,
    text_message,
    wamid_for,
)

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
SETTINGS = JournalSettings(lease=timedelta(seconds=20), max_attempts=3, retention=timedelta(days=7))
SECRET_TEXT = "my cheek is swollen"


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = get_database(database_url)
    yield db
    db.dispose()


def inbound(n: int = 0, text: str = SECRET_TEXT) -> Inbound:
    return Inbound(f"wamid.{n}", PHONE, "text", text, "text")


def entry(db: Database, ref: str) -> InboundJournalEntry:
    with db.session() as session:
        return session.execute(
            select(InboundJournalEntry).where(InboundJournalEntry.message_id == ref)
        ).scalar_one()


# --- accept, hold, done ----------------------------------------------------------------------


def test_accept_records_seen_and_journal_together_and_refuses_a_second_time(
    database: Database,
) -> None:
    journal = InboundJournal(database, "whatsapp", SETTINGS, Clock())
    first = journal.accept("ref-1", inbound())
    assert first.outcome is Acceptance.JOURNALED and first.token
    assert journal.accept("ref-1", inbound()).outcome is Acceptance.DUPLICATE
    with database.session() as session:
        seen = session.execute(select(SeenChannelMessage.message_id)).scalars().all()
    assert seen == ["ref-1"]
    kept = entry(database, "ref-1")
    assert (kept.phone, kept.text, kept.attempts) == (PHONE, SECRET_TEXT, 0)
    assert kept.claim_token == first.token
    assert journal.pending_count() == 1


def test_an_unreachable_database_is_reported_not_raised() -> None:
    journal = InboundJournal(Database("postgresql://nobody@127.0.0.1:1/none"), "whatsapp")
    assert journal.accept("ref-1", inbound()).outcome is Acceptance.UNAVAILABLE


def test_a_held_entry_is_not_due_and_done_clears_the_payload(database: Database) -> None:
    clock = Clock()
    journal = InboundJournal(database, "whatsapp", SETTINGS, clock)
    token = journal.accept("ref-1", inbound()).token
    clock.advance(15)
    assert journal.claim_due() == []  # within the lease
    assert journal.renew("ref-1", token)  # the accepting process renews while it answers
    assert not journal.renew("ref-1", "someone-else")
    clock.advance(15)
    assert journal.claim_due() == []  # 30 s after receipt, but renewed at 15 s
    journal.mark_done("ref-1")
    clock.advance(3600)
    assert journal.claim_due() == []
    done = entry(database, "ref-1")
    assert done.done_at is not None and done.phone is None and done.text is None
    assert journal.pending_count() == 0


# --- claiming and giving up ------------------------------------------------------------------


def test_an_expired_entry_is_claimed_once_with_its_payload(database: Database) -> None:
    clock = Clock()
    journal = InboundJournal(database, "whatsapp", SETTINGS, clock)
    original = journal.accept("ref-1", inbound()).token
    clock.advance(21)
    [claimed] = journal.claim_due()
    assert claimed.inbound == Inbound("ref-1", PHONE, "text", SECRET_TEXT, "text")
    assert claimed.token != original and claimed.attempts == 1
    assert journal.claim_due() == []  # now leased to the claimer
    assert not journal.renew("ref-1", original)  # the dead holder has lost it


def test_concurrent_sweepers_claim_each_entry_exactly_once(database_url: str) -> None:
    clock = Clock()
    InboundJournal(get_database(database_url), "whatsapp", SETTINGS, clock)
    for n in range(30):
        InboundJournal(get_database(database_url), "whatsapp", SETTINGS, clock).accept(
            f"ref-{n}", inbound(n)
        )
    clock.advance(60)
    # separate engines, as separate processes have
    databases = [Database(database_url) for _ in range(4)]
    claims: list[list[str]] = [[] for _ in databases]
    start = threading.Barrier(len(databases))

    def sweep(i: int) -> None:
        journal = InboundJournal(databases[i], "whatsapp", SETTINGS, clock)
        start.wait()
        if i % 2:  # half of them race for every entry, in the same order
            for n in range(30):
                if (claimed := journal.claim(f"ref-{n}")) is not None:
                    claims[i].append(claimed.message_id)
        else:
            for _ in range(5):
                claims[i].extend(c.message_id for c in journal.claim_due(limit=10))

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(len(databases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for db in databases:
        db.dispose()
    everything = [ref for refs in claims for ref in refs]
    assert sorted(everything) == sorted(f"ref-{n}" for n in range(30))


def test_after_max_attempts_the_entry_fails_and_is_logged_without_patient_data(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    journal = InboundJournal(database, "whatsapp", SETTINGS, clock)
    journal.accept("ref-1", inbound())
    for attempt in (1, 2, 3):
        clock.advance(21)
        assert [c.attempts for c in journal.claim_due()] == [attempt]
    clock.advance(21)
    with caplog.at_level(logging.ERROR):
        assert journal.claim_due() == []
    failed = entry(database, "ref-1")
    assert failed.failed_at is not None and failed.phone is None and failed.text is None
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "gave up on ref-1" in logged
    assert SECRET_TEXT not in logged and PHONE not in logged
    clock.advance(3600)
    assert journal.claim_due() == []


def test_prune_deletes_done_and_failed_entries_after_the_retention_only(
    database: Database,
) -> None:
    clock = Clock()
    journal = InboundJournal(database, "whatsapp", SETTINGS, clock)
    for ref in ("done", "pending"):
        journal.accept(ref, inbound())
    journal.mark_done("done")
    clock.advance(6 * 86400)
    assert journal.prune() == 0
    clock.advance(2 * 86400)
    assert journal.prune() == 1
    with database.session() as session:
        left = session.execute(select(InboundJournalEntry.message_id)).scalars().all()
        seen = session.execute(select(SeenChannelMessage.message_id)).scalars().all()
    assert left == ["pending"]  # pending entries fail by attempts, not by age
    assert sorted(seen) == ["done", "pending"]  # the dedupe ids (no number in them) stay


def test_settings_from_the_environment() -> None:
    settings = JournalSettings.from_env(
        {
            "MESO_WHATSAPP_JOURNAL_LEASE_SECONDS": "5",
            "MESO_WHATSAPP_JOURNAL_MAX_ATTEMPTS": "two",
            "MESO_WHATSAPP_JOURNAL_RETENTION_DAYS": "1",
        }
    )
    assert settings == JournalSettings(timedelta(seconds=5), 3, timedelta(days=1))


# --- the channel: journaling, replay without answering twice ---------------------------------


@pytest.fixture
async def quiet_harness(
    make_harness: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Harness:
    """A harness whose own sweeper runs only at its start: the test calls `sweep` itself."""
    monkeypatch.setenv("MESO_WHATSAPP_JOURNAL_LEASE_SECONDS", "3600")
    return await make_harness()


def orphan(harness: Harness, text: str, clock: Clock) -> str:
    """Journal a message as a process that then died would have: accepted, never done."""
    wamid = wamid_for(PHONE)
    ref = message_ref(wamid, harness.settings.conversation_key)
    InboundJournal(harness.database, "whatsapp", SETTINGS, clock).accept(
        ref, Inbound(wamid, PHONE, "text", text, "text")
    )
    return ref


def conversation(harness: Harness) -> str:
    return pseudonym(PHONE, harness.settings.conversation_key)


async def tracker_with(harness: Harness, *events: Any) -> InMemoryTrackerStore:
    store = InMemoryTrackerStore(Domain.empty())
    tracker = DialogueStateTracker.from_events(conversation(harness), list(events))
    await store.save(tracker)
    return store


async def test_an_answered_message_is_marked_done_and_its_payload_cleared(
    harness: Harness,
) -> None:
    wamid = wamid_for(PHONE)
    assert (await harness.post(notification([text_message(PHONE, "hello", wamid)])))[0] == 200
    await harness.settle()
    assert len(harness.graph.sent) == 1
    done = entry(harness.database, message_ref(wamid, harness.settings.conversation_key))
    assert done.done_at is not None and done.phone is None and done.text is None


async def test_a_journaled_message_that_rasa_never_answered_is_replayed_once(
    quiet_harness: Harness,
) -> None:
    harness = quiet_harness
    ref = orphan(harness, "does it help hair", Clock(datetime.now(timezone.utc) - timedelta(60)))
    assert await harness.channel.sweep(harness.bot.on_new_message, None) == 1
    await harness.settle()
    assert [m.message_id for m in harness.bot.received] == [ref]
    assert harness.bot.received[0].sender_id == conversation(harness)
    assert len(harness.graph.sent) == 1 and harness.graph.sent[0].body["to"] == PHONE
    assert entry(harness.database, ref).done_at is not None
    assert await harness.channel.sweep(harness.bot.on_new_message, None) == 0
    assert len(harness.graph.sent) == 1


async def test_a_turn_rasa_recorded_but_did_not_send_is_sent_from_the_tracker(
    quiet_harness: Harness,
) -> None:
    harness = quiet_harness
    ref = orphan(harness, "does it help hair", Clock(datetime.now(timezone.utc) - timedelta(60)))
    store = await tracker_with(
        harness,
        ActionExecuted("action_listen"),
        UserUttered("does it help hair", message_id=ref),
        BotUttered("Recorded answer", {"buttons": [{"title": "More", "payload": "/more"}]}),
        ActionExecuted("action_listen"),
        UserUttered("a later message", message_id="other"),
        BotUttered("Later answer"),
    )
    assert await harness.channel.sweep(harness.bot.on_new_message, store) == 1
    await harness.settle()
    assert harness.bot.received == []  # Rasa does not run the turn again
    assert [c.text for c in harness.graph.sent] == ["Recorded answer"]
    assert entry(harness.database, ref).done_at is not None


async def test_a_recorded_turn_without_a_bot_response_is_done_without_sending(
    quiet_harness: Harness,
) -> None:
    harness = quiet_harness
    ref = orphan(harness, "ok", Clock(datetime.now(timezone.utc) - timedelta(60)))
    store = await tracker_with(harness, UserUttered("ok", message_id=ref))
    assert await harness.channel.sweep(harness.bot.on_new_message, store) == 1
    await harness.settle()
    assert harness.bot.received == [] and harness.graph.calls == []
    assert entry(harness.database, ref).done_at is not None


async def test_the_channel_sweeps_on_its_own_once_the_server_runs(
    make_harness: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESO_WHATSAPP_JOURNAL_LEASE_SECONDS", "0.4")
    harness: Harness = await make_harness()
    ref = orphan(harness, "does it help hair", Clock(datetime.now(timezone.utc) - timedelta(60)))
    for _ in range(50):
        if harness.graph.sent:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # a few more sweeps: still one answer
    assert [m.message_id for m in harness.bot.received] == [ref]
    assert len(harness.graph.sent) == 1


async def test_with_the_database_down_a_message_is_still_acknowledged_and_answered(
    harness: Harness,
) -> None:
    """Today's fallback, kept: a message that cannot be journaled is answered at once."""
    down = Database("postgresql://nobody@127.0.0.1:1/none")
    harness.channel = WhatsAppInput(
        harness.settings, database=down, retry=RetryPolicy(attempts=2, base_delay=0.01)
    )
    harness.base_url = await harness.stack.enter_async_context(
        serve_channel(harness.channel, harness.bot)
    )
    code, _, _ = await harness.post(notification([text_message(PHONE, "does it help hair")]))
    await harness.settle()
    assert code == 200
    assert len(harness.graph.sent) == 1
