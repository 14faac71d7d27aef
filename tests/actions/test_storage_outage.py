"""Replies never wait on storage: the action server answers a report in full while the
database is unavailable, and the ticket is written from the spool once storage is back."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.services
from actions.escalation import ActionEscalate
from bot.clinic import clinic_config
from bot.storage.db import Database
from bot.storage.models import Ticket
from bot.tickets import spool as spool_module
from bot.tickets.callback import CallbackStorageUnavailable, save_callback_number
from bot.tickets.records import ticket_id_for
from bot.tickets.spool import Spool, drain_spool
from tests.tickets.helpers import make_report

QUESTION = "my cheek is swollen and hot since the injections, how long does downtime last?"


def _tracker(text: str, severity: str) -> Tracker:
    report = make_report(text=text, severity=severity)
    parse_data = {
        "text": text,
        "intent": {"name": "ask_downtime", "confidence": 0.8},
        "intent_ranking": [{"name": "ask_downtime", "confidence": 0.8}],
        "triage": report.triage.as_dict(),
    }
    event = {
        "event": "user",
        "text": text,
        "timestamp": time.time(),
        "message_id": "m-1",
        "input_channel": "rest",
        "parse_data": parse_data,
    }
    return Tracker("conv-outage", {}, parse_data, [event], False, None, {}, "action_listen")


@pytest.fixture
def database_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The database is an SQLite path that is a directory; the spool is under tmp_path."""
    occupied = tmp_path / "meso.db"
    occupied.mkdir()
    monkeypatch.setenv("MESO_DATABASE_URL", f"sqlite:///{occupied}")
    monkeypatch.setattr(spool_module, "VAR_DIR", tmp_path)
    actions.services.services.cache_clear()
    yield occupied
    actions.services.services.cache_clear()


async def _run(text: str, severity: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionEscalate().run(dispatcher, _tracker(text, severity), {})
    return dispatcher.messages, events


@pytest.mark.parametrize("severity", ["urgent", "routine"])
async def test_report_gets_its_full_reply_while_the_database_is_down(
    database_down: Path, severity: str
) -> None:
    messages, _ = await _run(QUESTION, severity)
    envelopes = [m["custom"]["meso"] for m in messages if m.get("custom")]
    assert [e["kind"] for e in envelopes] == ["escalation", "answer"]
    escalation, answer = envelopes
    assert escalation["escalation"]["severity"] == severity
    assert "call you back" in escalation["body"].lower() or "call back" in escalation["body"]
    assert escalation["buttons"], "the callback offer keeps its buttons"
    assert answer["topic"] == "downtime" and answer["citations"]
    assert answer["knowledge_version"]
    assert Spool(database_down.parent / "spool").pending() == 1


async def test_spooled_report_becomes_a_ticket_once_storage_is_back(database_down: Path) -> None:
    _, events = await _run(QUESTION, "urgent")
    [slot] = [e for e in events if e.get("name") == "last_ticket"]
    database_down.rmdir()  # storage is back: the path can hold a database again
    database = Database(f"sqlite:///{database_down}")
    assert drain_spool(database, clinic_config(), Spool(database_down.parent / "spool")) == 1
    assert ticket_id_for(database, "conv-outage", "m-1") == slot["value"]


async def test_callback_number_while_storage_is_down_gets_a_clear_answer(
    database_down: Path,
) -> None:
    _, events = await _run(QUESTION, "urgent")
    [slot] = [e for e in events if e.get("name") == "last_ticket"]
    with pytest.raises(CallbackStorageUnavailable) as refused:
        save_callback_number(
            Database(f"sqlite:///{database_down}"), slot["value"], "+91 98765 43210",
            clinic_config(), consent=True,
        )  # fmt: skip
    assert clinic_config().phone in str(refused.value)
    assert "98765" not in str(refused.value)


async def test_callback_number_reaches_a_ticket_still_waiting_in_the_spool(
    database_down: Path,
) -> None:
    _, events = await _run(QUESTION, "urgent")
    [slot] = [e for e in events if e.get("name") == "last_ticket"]
    database_down.rmdir()  # storage is back, but no worker has drained the spool yet
    database = Database(f"sqlite:///{database_down}")
    assert (
        save_callback_number(
            database, slot["value"], "+91 98765 43210", clinic_config(), consent=True
        )
        == "+919876543210"
    )
    with database.session() as session:
        assert session.get(Ticket, slot["value"]).callback_number == "+919876543210"


async def test_a_database_that_hangs_does_not_hold_up_the_reply(
    database_down: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hang(*_args: Any, **_kwargs: Any) -> None:
        time.sleep(2.5)

    monkeypatch.setattr(spool_module, "record_report", hang)
    monkeypatch.setattr(spool_module, "RECORD_SECONDS", 0.5)
    started = time.monotonic()
    messages, _ = await _run(QUESTION, "urgent")
    assert time.monotonic() - started < 2
    assert [m["custom"]["meso"]["kind"] for m in messages if m.get("custom")] == [
        "escalation",
        "answer",
    ]
    assert Spool(database_down.parent / "spool").pending() >= 1
