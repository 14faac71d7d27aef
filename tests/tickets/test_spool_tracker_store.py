"""The spooling tracker store: escalating user messages reach the spool before SQL, once, and
spooling never breaks Rasa's message handling."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import func, select

from bot.rasa.tracker_store import SpoolingSQLTrackerStore
from bot.storage.db import Database
from bot.storage.models import Ticket
from bot.tickets.records import record_report
from bot.tickets.report import report_from_rasa_events
from bot.tickets.spool import Spool, drain_spool

from .helpers import make_clinic, make_report

TRIAGE = {
    "severity": "urgent",
    "mentions": [
        {
            "text": "swollen",
            "concept": "swelling",
            "start": 7,
            "end": 14,
            "status": "affirmed",
            "modifiers": ["worsening"],
        }
    ],
    "rules": ["swelling_worsening"],
}
DOMAIN = Domain.from_yaml("version: '3.1'\nintents: [report_symptom, greet]")


def user_event(triage: Any = TRIAGE, **overrides: Any) -> dict[str, Any]:
    event = {
        "event": "user",
        "timestamp": 1_900_000_000.5,
        "text": "lip is swollen and getting worse",
        "parse_data": {"intent": {"name": "report_symptom"}, "entities": [], "triage": triage},
        "input_channel": "socketio",
        "message_id": "a1b2c3",
        "metadata": {},
    }
    event.update(overrides)
    return event


def tracker(*events: dict[str, Any], sender: str = "conv-7") -> DialogueStateTracker:
    return DialogueStateTracker.from_dict(sender, list(events), DOMAIN.slots)


@pytest.fixture
def store(tmp_path: Path, spool: Spool) -> SpoolingSQLTrackerStore:
    return SpoolingSQLTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "tracker.db"),
        spool_dir=str(spool.directory),
    )  # fmt: skip


def spooled(spool: Spool) -> list[dict[str, Any]]:
    if not spool.path.exists():
        return []
    return [json.loads(line)["report"] for line in spool.path.read_text().splitlines()]


def test_rasa_loads_the_store_from_endpoint_config(tmp_path: Path) -> None:
    config = EndpointConfig(
        type="bot.rasa.tracker_store.SpoolingSQLTrackerStore",
        dialect="sqlite",
        db=str(tmp_path / "t.db"),
        spool_dir=str(tmp_path / "s"),
    )
    store = TrackerStore.create(config, DOMAIN)
    inner = getattr(store, "_tracker_store", store)  # Rasa wraps it in a fail-safe store
    assert isinstance(inner, SpoolingSQLTrackerStore)
    assert inner.spool.directory == tmp_path / "s"


async def test_escalating_message_is_spooled_and_the_conversation_saved(
    store: SpoolingSQLTrackerStore, spool: Spool
) -> None:
    await store.save(tracker(user_event()))
    (report,) = spooled(spool)
    assert (report["conversation_id"], report["message_id"]) == ("conv-7", "a1b2c3")
    assert report["channel"] == "socketio"
    assert report["text"] == "lip is swollen and getting worse"
    assert report["triage"]["severity"] == "urgent"
    assert report["transcript"][0]["text"] == "lip is swollen and getting worse"
    restored = await store.retrieve("conv-7")
    assert restored is not None and restored.latest_message.text == report["text"]


async def test_saving_again_does_not_spool_the_same_message_twice(
    store: SpoolingSQLTrackerStore, spool: Spool
) -> None:
    conversation = tracker(user_event())
    await store.save(conversation)
    conversation.update_with_events([], DOMAIN)
    await store.save(conversation)
    assert len(spooled(spool)) == 1


@pytest.mark.parametrize(
    "events",
    [
        [user_event(triage=None)],
        [user_event(triage={"severity": None, "mentions": [], "rules": []})],
        [user_event(parse_data={"intent": {"name": "greet"}})],
        [{"event": "bot", "text": "Call emergency services now", "timestamp": 1.0}],
        [{"event": "action", "name": "action_listen", "timestamp": 1.0}],
    ],
)
async def test_non_escalating_conversations_are_not_spooled(
    store: SpoolingSQLTrackerStore, spool: Spool, events: list[dict[str, Any]]
) -> None:
    await store.save(tracker(*events))
    assert spooled(spool) == []


async def test_malformed_mentions_still_spool_the_severity(
    store: SpoolingSQLTrackerStore, spool: Spool
) -> None:
    await store.save(
        tracker(user_event(triage={"severity": "emergency", "mentions": [{"concept": "x"}]}))
    )
    (report,) = spooled(spool)
    assert report["triage"]["severity"] == "emergency"
    assert report["triage"]["mentions"] == [] and report["triage"]["rules"] == []


async def test_unwritable_spool_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    store = SpoolingSQLTrackerStore(
        domain=DOMAIN, dialect="sqlite", db=str(tmp_path / "t.db"), spool_dir=str(blocker)
    )
    with caplog.at_level(logging.ERROR):
        await store.save(tracker(user_event()))
    assert "could not spool an escalating message of conversation conv-7" in caplog.text
    assert "swollen" not in caplog.text
    assert await store.retrieve("conv-7") is not None


async def test_spool_and_action_server_together_make_one_ticket(
    store: SpoolingSQLTrackerStore, spool: Spool, db: Database
) -> None:
    clinic = make_clinic()
    await store.save(tracker(user_event()))
    record_report(db, make_report(conversation_id="conv-7", message_id="a1b2c3"), clinic)
    assert drain_spool(db, clinic, spool) == 1
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1


async def test_action_side_report_names_the_same_message_as_the_spool(
    store: SpoolingSQLTrackerStore, spool: Spool, db: Database
) -> None:
    greeting = user_event(triage=None, text="hello", message_id="m0", timestamp=1_899_999_990.0)
    tracker_events = [
        {"event": "action", "name": "action_listen"},
        greeting,
        {"event": "bot", "text": "Hello! Ask me about mesotherapy.", "timestamp": 1_899_999_991.0},
        user_event(),
        {"event": "action", "name": "action_escalate"},
    ]
    report = report_from_rasa_events("conv-7", tracker_events)
    assert report is not None
    assert (report.conversation_id, report.message_id) == ("conv-7", "a1b2c3")
    assert [t["sender"] for t in report.transcript] == ["user", "bot", "user"]

    clinic = make_clinic()
    await store.save(tracker(*tracker_events))
    record_report(db, report, clinic)
    drain_spool(db, clinic, spool)
    with db.session() as session:
        (ticket,) = session.execute(select(Ticket)).scalars().all()
    assert len(ticket.transcript) == 3  # the action's richer transcript won


@pytest.mark.parametrize(
    ("input_channel", "metadata", "channel"),
    [
        ("socketio", {"surface": "kiosk"}, "kiosk"),  # no way back: the ticket must say so
        ("socketio", {"surface": "widget"}, "socketio"),
        ("socketio", None, "socketio"),
        ("whatsapp", {"surface": "kiosk"}, "whatsapp"),
        (None, None, "unknown"),
    ],
)
def test_a_report_names_the_kiosk_apart_from_the_widget(
    input_channel: str | None, metadata: dict[str, Any] | None, channel: str
) -> None:
    event = user_event(input_channel=input_channel, metadata=metadata)
    report = report_from_rasa_events("conv-k", [event])
    assert report is not None and report.channel == channel
