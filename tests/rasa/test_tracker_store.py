"""CachingSQLTrackerStore (bot/rasa/tracker_store.py): a turn reads only the events it does not
have, yet every store sharing the database sees exactly what SQL holds, as Rasa's own
SQLTrackerStore would read it: nothing stale, lost or duplicated, across replicas."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
import sqlalchemy.exc
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from bot.rasa.tracker_store import (
    CachingSQLTrackerStore,
    SpoolingSQLTrackerStore,
    when_reachable,
)

DOMAIN = Domain.from_yaml(
    """
version: '3.1'
intents: [greet, ask_price, report_symptom]
slots:
  topic:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
responses:
  utter_price: [{text: "It depends."}]
"""
)
SENDER = "patient-1"


def store_at(db: Path) -> CachingSQLTrackerStore:
    return CachingSQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db))


def run(coroutine):  # type: ignore[no-untyped-def]
    return asyncio.run(coroutine)


def turn_events(n: int) -> list[Event]:
    """What one turn of a conversation appends: the message, a slot, the answer, listen."""
    return [
        UserUttered(f"question {n}", {"name": "ask_price", "confidence": 1.0}),
        SlotSet("topic", f"topic {n}"),
        ActionExecuted("utter_price"),
        BotUttered(f"answer {n}"),
        ActionExecuted("action_listen"),
    ]


async def take_turn(store: CachingSQLTrackerStore, n: int) -> DialogueStateTracker:
    """As Rasa's processor does: retrieve (or create), append, save."""
    tracker = await store.get_or_create_tracker(SENDER, append_action_listen=False)
    for event in turn_events(n):
        tracker.update(event)
    await store.save(tracker)
    return tracker


def as_rasa_reads_it(db: Path, sender: str = SENDER) -> list[dict]:
    """The events of the latest session, read by Rasa's own SQLTrackerStore."""
    tracker = run(SQLTrackerStore(domain=DOMAIN, dialect="sqlite", db=str(db)).retrieve(sender))
    return [event.as_dict() for event in tracker.events] if tracker else []


def stored_rows(store: CachingSQLTrackerStore) -> int:
    event = store.SQLEvent
    with store.session_scope() as session:
        return session.execute(select(func.count()).select_from(event)).scalar_one()


def texts(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "user"]


def test_a_turn_reads_only_new_events(tmp_path: Path) -> None:
    store = store_at(tmp_path / "t.db")
    run(take_turn(store, 0))  # a new conversation: created, then read once in full
    first = run(take_turn(store, 1))
    statements: list[str] = []
    sa_event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    again = run(store.retrieve(SENDER))
    assert again is first  # the cached tracker, not a replay of the whole session
    assert len(statements) == 1 and "events.id >" in statements[0]  # one indexed query


def test_another_replica_sees_every_event_and_takes_over(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    a, b = store_at(db), store_at(db)
    for n in range(3):
        run(take_turn(a, n))
    run(b.retrieve(SENDER))  # b caches the conversation too
    run(take_turn(a, 3))  # … which a then continues
    tracker_b = run(b.retrieve(SENDER))
    assert [e.as_dict() for e in tracker_b.events] == as_rasa_reads_it(db)
    assert tracker_b.get_slot("topic") == "topic 3"
    run(take_turn(b, 4))  # the conversation moves to b (a replica died)
    tracker_a = run(a.retrieve(SENDER))
    assert [e.as_dict() for e in tracker_a.events] == as_rasa_reads_it(db)
    assert texts(as_rasa_reads_it(db)) == [f"question {n}" for n in range(5)]


def test_many_turns_over_two_replicas_lose_or_duplicate_nothing(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    replicas = [store_at(db), store_at(db)]
    rng = random.Random(11)
    for n in range(120):
        run(take_turn(rng.choice(replicas), n))
    events = as_rasa_reads_it(db)
    assert texts(events) == [f"question {n}" for n in range(120)]
    assert stored_rows(replicas[0]) == len(events) == 120 * len(turn_events(0))
    for store in replicas:
        assert [e.as_dict() for e in run(store.retrieve(SENDER)).events] == events


def test_a_turn_that_failed_before_saving_is_not_served(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = store_at(db)
    run(take_turn(store, 0))
    tracker = run(store.retrieve(SENDER))
    tracker.update(UserUttered("never saved", {"name": "greet"}))  # then the turn failed
    again = run(store.retrieve(SENDER))
    assert "never saved" not in texts([e.as_dict() for e in again.events])
    assert [e.as_dict() for e in again.events] == as_rasa_reads_it(db)


def test_a_new_session_written_elsewhere_replaces_the_cached_one(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    a, b = store_at(db), store_at(db)
    run(take_turn(a, 0))
    tracker = run(b.retrieve(SENDER))
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_listen"))
    run(b.save(tracker))
    run(take_turn(b, 1))
    for store in (a, b):
        events = [e.as_dict() for e in run(store.retrieve(SENDER)).events]
        assert events == as_rasa_reads_it(db)
        assert texts(events) == ["question 1"]


def test_an_erased_conversation_is_not_served_from_the_cache(tmp_path: Path) -> None:
    """Erasure (bot/privacy) deletes the rows from another process; the next turn must not see
    the erased messages, even after the erasing turn itself was saved from memory."""
    db = tmp_path / "t.db"
    store = store_at(db)
    for n in range(2):
        run(take_turn(store, n))
    tracker = run(store.retrieve(SENDER))
    event = store.SQLEvent
    with store.session_scope() as session:
        session.query(event).filter(event.sender_id == SENDER).delete()
        session.commit()
    for new in turn_events(2):  # the erasing turn, saved by Rasa from its in-memory tracker
        tracker.update(new)
    run(store.save(tracker))
    served = [e.as_dict() for e in run(store.retrieve(SENDER)).events]
    assert texts(served) == ["question 2"]
    assert served == as_rasa_reads_it(db)


def test_a_tracker_not_handed_out_by_the_store_is_saved_the_rasa_way(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = store_at(db)
    run(take_turn(store, 0))
    rebuilt = DialogueStateTracker.from_dict(SENDER, as_rasa_reads_it(db), DOMAIN.slots)
    for event in turn_events(1):
        rebuilt.update(event)
    run(store.save(rebuilt))  # e.g. Rasa's HTTP API replacing a tracker
    assert texts(as_rasa_reads_it(db)) == ["question 0", "question 1"]
    assert stored_rows(store) == 2 * len(turn_events(0))
    assert [e.as_dict() for e in run(store.retrieve(SENDER)).events] == as_rasa_reads_it(db)


def test_a_failed_write_leaves_no_cached_tracker(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    store = store_at(db)
    run(take_turn(store, 0))
    tracker = run(take_turn(store, 1))  # the cached one
    tracker.update(UserUttered("lost with the database", {"name": "greet"}))
    with store.engine.begin() as connection:  # the database refuses writes
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'down'); END"
        )
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        run(store.save(tracker))
    with store.engine.begin() as connection:
        connection.exec_driver_sql("DROP TRIGGER refuse")
    again = run(store.retrieve(SENDER))
    assert again is not tracker
    assert texts([e.as_dict() for e in again.events]) == ["question 0", "question 1"]


def test_the_spooling_store_spools_through_the_cached_path(tmp_path: Path) -> None:
    store = SpoolingSQLTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"), spool_dir=str(tmp_path / "s")
    )
    run(take_turn(store, 0))
    tracker = run(store.retrieve(SENDER))
    triage = {
        "severity": "urgent",
        "mentions": [{"text": "swollen", "concept": "swelling", "start": 7, "end": 14}],
        "rules": ["swelling"],
    }
    tracker.update(
        UserUttered(
            "lip is swollen",
            {"name": "report_symptom"},
            parse_data={"intent": {"name": "report_symptom"}, "entities": [], "triage": triage},
            message_id="m-1",
        )
    )
    run(store.save(tracker))
    assert store.spool.path.exists() and "m-1" in store.spool.path.read_text()
    assert texts(as_rasa_reads_it(tmp_path / "t.db"))[-1] == "lip is swollen"


def test_a_database_that_is_away_for_a_moment_is_waited_for() -> None:
    """A read or write that failed because the database was unreachable (a restart) is tried
    again; Rasa's fail-safe wrapper would otherwise answer from an empty tracker."""
    attempts: list[int] = []

    def operation() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise sqlalchemy.exc.OperationalError("SELECT 1", {}, ConnectionRefusedError())
        return "read"

    assert run(when_reachable(operation)) == "read"
    assert len(attempts) == 3


def test_any_other_database_error_is_raised_at_once() -> None:
    attempts: list[int] = []

    def operation() -> None:
        attempts.append(1)
        raise sqlalchemy.exc.IntegrityError("INSERT", {}, ValueError("duplicate"))

    with pytest.raises(sqlalchemy.exc.IntegrityError):
        run(when_reachable(operation))
    assert len(attempts) == 1
