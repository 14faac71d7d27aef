"""The Rasa event broker: spools escalating user messages only, and never raises into Rasa."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import func, select

from bot.storage.db import Database
from bot.storage.models import Ticket
from bot.triage.spool import Spool, drain_spool
from bot.triage.spool_broker import SpoolEventBroker
from bot.triage.tickets import record_report, report_from_rasa_events

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


def user_event(triage: Any = TRIAGE, **overrides: Any) -> dict[str, Any]:
    event = {
        "sender_id": "conv-7",
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


@pytest.fixture
def broker(spool: Spool) -> SpoolEventBroker:
    return SpoolEventBroker(spool_dir=str(spool.directory))


def spooled(spool: Spool) -> list[dict[str, Any]]:
    if not spool.path.exists():
        return []
    return [json.loads(line)["report"] for line in spool.path.read_text().splitlines()]


async def test_rasa_loads_the_broker_from_endpoint_config(tmp_path: Path) -> None:
    config = EndpointConfig(
        type="bot.triage.spool_broker.SpoolEventBroker", spool_dir=str(tmp_path / "s")
    )
    broker = await EventBroker.create(config)
    assert isinstance(broker, SpoolEventBroker)
    assert broker.spool.directory == tmp_path / "s"
    assert broker.is_ready()
    await broker.close()


def test_escalating_user_event_is_spooled_as_a_report(
    broker: SpoolEventBroker, spool: Spool
) -> None:
    broker.publish(user_event())
    (report,) = spooled(spool)
    assert report["conversation_id"] == "conv-7"
    assert report["message_id"] == "a1b2c3"
    assert report["channel"] == "socketio"
    assert report["text"] == "lip is swollen and getting worse"
    assert report["triage"]["severity"] == "urgent"
    assert report["created_at"].startswith("2030-03-17T17:46:40")
    assert report["transcript"] == [
        {"sender": "user", "text": "lip is swollen and getting worse", "at": report["created_at"]}
    ]


@pytest.mark.parametrize(
    "event",
    [
        user_event(triage=None),
        user_event(triage={"severity": None, "mentions": [], "rules": []}),
        user_event(parse_data={"intent": {"name": "greet"}}),
        {"sender_id": "conv-7", "event": "bot", "text": "Call emergency services now"},
        {"sender_id": "conv-7", "event": "action", "name": "action_listen"},
        {"sender_id": "conv-7", "event": "slot", "name": "x", "value": {"triage": TRIAGE}},
    ],
)
def test_other_events_are_ignored(
    broker: SpoolEventBroker, spool: Spool, event: dict[str, Any]
) -> None:
    broker.publish(event)
    assert spooled(spool) == []


@pytest.mark.parametrize(
    "event",
    [
        None,
        "not an event",
        {"event": "user", "parse_data": "garbage"},
        user_event(triage={"severity": "catastrophic"}),
        user_event(triage=["urgent"]),
    ],
)
def test_malformed_events_never_raise(broker: SpoolEventBroker, spool: Spool, event: Any) -> None:
    broker.publish(event)
    assert spooled(spool) == []


def test_malformed_mentions_still_spool_the_severity(
    broker: SpoolEventBroker, spool: Spool
) -> None:
    broker.publish(user_event(triage={"severity": "emergency", "mentions": [{"concept": "x"}]}))
    (report,) = spooled(spool)
    assert report["triage"] == {"severity": "emergency", "mentions": [], "rules": []}


def test_unwritable_spool_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("")
    broker = SpoolEventBroker(spool_dir=str(blocker))
    with caplog.at_level(logging.ERROR):
        broker.publish(user_event())
    assert "could not spool escalating message a1b2c3" in caplog.text
    assert "swollen" not in caplog.text


def test_event_without_message_id_gets_a_stable_one(broker: SpoolEventBroker, spool: Spool) -> None:
    broker.publish(user_event(message_id=None))
    broker.publish(user_event(message_id=None))
    first, second = spooled(spool)
    assert first["message_id"] == second["message_id"] and first["message_id"].startswith("event-")


def test_broker_and_action_server_together_make_one_ticket(
    broker: SpoolEventBroker, spool: Spool, db: Database
) -> None:
    clinic = make_clinic()
    broker.publish(user_event())
    record_report(db, make_report(conversation_id="conv-7", message_id="a1b2c3"), clinic)
    assert drain_spool(db, clinic, spool) == 1
    with db.session() as session:
        assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1


def test_action_side_report_from_tracker_events_matches_the_broker(
    broker: SpoolEventBroker, spool: Spool, db: Database
) -> None:
    """What an action builds from tracker.events names the same message as the broker."""
    greeting = user_event(triage=None, text="hello", message_id="m0", timestamp=1_899_999_990.0)
    tracker_events = [
        {"event": "action", "name": "action_listen"},
        greeting,
        {"event": "bot", "text": "Hello! Ask me about mesotherapy.", "timestamp": 1_899_999_991.0},
        {"event": "bot", "text": None, "data": {"custom": {"meso": {}}}},
        user_event(),
        {"event": "user_featurization", "use_text_for_featurization": False},
        {"event": "action", "name": "action_escalate"},
    ]
    report = report_from_rasa_events("conv-7", tracker_events)
    assert report is not None
    assert (report.conversation_id, report.message_id, report.channel) == (
        "conv-7",
        "a1b2c3",
        "socketio",
    )
    assert [t["sender"] for t in report.transcript] == ["user", "bot", "user"]
    assert report.triage.symptoms == ["swelling"]
    assert report_from_rasa_events("conv-7", tracker_events[:3]) is None

    clinic = make_clinic()
    broker.publish(user_event())
    record_report(db, report, clinic)
    drain_spool(db, clinic, spool)
    with db.session() as session:
        (ticket,) = session.execute(select(Ticket)).scalars().all()
    assert len(ticket.transcript) == 3  # the action's richer transcript won
