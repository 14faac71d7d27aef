"""Capture: each kind of unsure reply, run through the real action, lands in the review table
(SQLite and PostgreSQL); sure replies do not; a slow or broken database neither delays nor fails
a reply; and the erase / expire / export functions of the privacy room."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select, update

import actions.services
from actions.answers import (
    ActionAnswerTopic,
    ActionClarify,
    ActionOutOfScope,
    ActionUnusableMessage,
)
from actions.escalation import ActionEscalate
from bot.review import capture, queue
from bot.storage.db import Database
from bot.storage.models import ReviewItem, utcnow
from tests.tickets.helpers import make_report, unreachable_db

CONVERSATION = "conv-review-1"


@pytest.fixture
def db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """The test database, used by the action server's services and the review recorder."""
    database = Database(database_url)
    monkeypatch.setenv("MESO_DATABASE_URL", database_url)
    actions.services.services.cache_clear()
    monkeypatch.setattr(capture, "_recorder", capture.ReviewRecorder(lambda: database))
    yield database
    actions.services.services.cache_clear()
    database.dispose()


def _tracker(text: str, parse: dict[str, Any], message_id: str = "m-1") -> Tracker:
    parse_data = {"text": text, "message_id": message_id, **parse}
    event = {
        "event": "user",
        "text": text,
        "timestamp": time.time(),
        "message_id": message_id,
        "input_channel": "rest",
        "parse_data": parse_data,
    }
    return Tracker(CONVERSATION, {}, parse_data, [event], False, None, {}, "action_listen")


def _ranking(*pairs: tuple[str, float]) -> dict[str, Any]:
    ranking = [{"name": name, "confidence": conf} for name, conf in pairs]
    return {"intent": ranking[0], "intent_ranking": ranking}


ENGLISH = {"language": {"code": "en", "reply": "en"}}
STATISTICAL_ONLY = replace(
    make_report(text="my skin feels weird and tight after yesterday", severity="urgent").triage,
    mentions=(),
    rules=(),
    caught_by=("statistical",),
    detector={"report": 0.81, "emergency": 0.05, "severity": "urgent"},
    language="en",
)

CASES = {
    "clarify": (
        ActionClarify(),
        "can the blue thingy be done on a tuesday",
        {
            **_ranking(("nlu_fallback", 0.25), ("ask_consultation", 0.2), ("ask_sessions", 0.1)),
            **ENGLISH,
        },
        "asked the patient to clarify",
    ),
    "out_of_scope": (
        ActionOutOfScope(),
        "what is the best car insurance",
        {**_ranking(("out_of_scope", 0.9), ("ask_cost", 0.05)), **ENGLISH},
        "said the question is out of scope",
    ),
    "low_confidence": (
        ActionAnswerTopic(),
        "how much is the hair one roughly",
        {**_ranking(("ask_cost", 0.38), ("ask_hair_growth", 0.3)), **ENGLISH},
        "answered ask_cost (38% sure)",
    ),
    "unsupported_language": (
        ActionUnusableMessage(),
        "Combien coûte une séance de mésothérapie ?",
        {
            **_ranking(("unusable_message", 1.0), ("ask_cost", 0.4)),
            "intake": "other_language",
            "language": {"code": "fr", "reply": "en"},
        },
        "said it cannot answer in this language",
    ),
    "second_detector": (
        ActionEscalate(),
        "my skin feels weird and tight after yesterday",
        {
            **_ranking(("report_symptom", 1.0), ("ask_side_effects", 0.4)),
            "triage": STATISTICAL_ONLY.as_dict(),
            **ENGLISH,
        },
        "escalated as urgent",
    ),
}


async def _run(action: Action, tracker: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tracker, {})
    return dispatcher.messages


def _rows(db: Database) -> list[ReviewItem]:
    with db.session() as session:
        return list(session.execute(select(ReviewItem).order_by(ReviewItem.id)).scalars())


@pytest.mark.parametrize("reason", list(CASES))
async def test_each_unsure_reply_is_captured(db: Database, reason: str) -> None:
    action, text, parse, did = CASES[reason]
    messages = await _run(action, _tracker(text, parse))
    assert messages, "the patient got a reply"
    capture.recorder().flush()
    (row,) = _rows(db)
    assert row.reason == reason
    assert row.text == text
    assert row.assistant_did == did
    assert row.conversation_id == CONVERSATION and row.message_id == "m-1"
    assert row.language == parse["language"]["code"]
    assert row.top_intents[0] == parse["intent_ranking"][0]
    assert row.created_at is not None and row.label is None
    if reason == "second_detector":
        assert row.detector == {"report": 0.81, "emergency": 0.05, "severity": "urgent"}


@pytest.mark.parametrize(
    "action,text,parse",
    [
        (ActionAnswerTopic(), "how much does it cost", {**_ranking(("ask_cost", 0.93)), **ENGLISH}),
        (ActionAnswerTopic(), "/ask_cost", {**_ranking(("ask_cost", 1.0)), **ENGLISH}),  # a button
        (ActionOutOfScope(), "/out_of_scope", {**_ranking(("out_of_scope", 1.0)), **ENGLISH}),
        (
            ActionUnusableMessage(),
            "zzzz qqqq xxxx",
            {**_ranking(("unusable_message", 1.0)), "intake": "unreadable", **ENGLISH},
        ),
        (
            ActionEscalate(),
            "my cheek is swollen and hot since the injections",
            {
                **_ranking(("report_symptom", 1.0)),
                "triage": replace(
                    make_report().triage, caught_by=("rules", "statistical")
                ).as_dict(),
                **ENGLISH,
            },
        ),
    ],
    ids=["confident_answer", "topic_button", "button_out_of_scope", "unreadable", "rules_caught"],
)
async def test_sure_replies_are_not_captured(
    db: Database, action: Action, text: str, parse: dict[str, Any]
) -> None:
    assert await _run(action, _tracker(text, parse))
    capture.recorder().flush()
    assert _rows(db) == []


async def test_a_retried_action_does_not_add_the_message_twice(db: Database) -> None:
    action, text, parse, _ = CASES["out_of_scope"]
    for _ in range(2):
        await _run(action, _tracker(text, parse))
    await _run(action, _tracker(text, parse, message_id="m-2"))
    capture.recorder().flush()
    assert [row.message_id for row in _rows(db)] == ["m-1", "m-2"]


async def test_a_broken_database_costs_no_reply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broken = unreachable_db(tmp_path)
    monkeypatch.setattr(capture, "_recorder", capture.ReviewRecorder(lambda: broken))
    action, text, parse, _ = CASES["clarify"]
    messages = await _run(action, _tracker(text, parse))
    assert messages[0]["custom"]["meso"]["kind"] == "clarify"
    capture.recorder().flush()
    assert "review capture not stored (OperationalError)" in caplog.text
    assert text not in caplog.text  # patient text is never logged


async def test_a_slow_database_does_not_delay_the_reply(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow_database() -> Database:
        time.sleep(1.5)
        raise ConnectionError("storage too slow")

    monkeypatch.setattr(capture, "_recorder", capture.ReviewRecorder(slow_database))
    action, text, parse, _ = CASES["out_of_scope"]
    started = time.perf_counter()
    messages = await _run(action, _tracker(text, parse))
    elapsed = time.perf_counter() - started
    assert messages and elapsed < 0.5, f"the reply waited {elapsed:.2f} s for the review write"
    capture.recorder().flush()


def test_a_malformed_parse_is_skipped_without_raising() -> None:
    capture.note("c", {"text": "hello", "intent": "not a dict"}, "answer", topic_intent="ask_cost")
    assert capture.review_case("c", {"text": "  "}, "clarify") is None


def _add(db: Database, conversation: str, message: str, days_ago: int = 0) -> None:
    case = capture.ReviewCase(
        conversation_id=conversation,
        message_id=message,
        reason="clarify",
        text=f"question {message}",
        assistant_did="asked the patient to clarify",
        language="en",
    )
    assert capture.record_case(db, case)
    with db.session() as session:
        session.execute(
            update(ReviewItem)
            .where(ReviewItem.message_id == message)
            .values(created_at=utcnow() - timedelta(days=days_ago))
        )


def test_erase_expire_and_export_a_conversation(db: Database) -> None:
    _add(db, "conv-a", "a1", days_ago=40)
    _add(db, "conv-a", "a2")
    _add(db, "conv-b", "b1", days_ago=40)
    exported = queue.export_conversation(db, "conv-a")
    assert [e["text"] for e in exported] == ["question a1", "question a2"]
    assert all("conv-a" not in str(e.values()) for e in exported)
    assert queue.expire_before(db, utcnow() - timedelta(days=30)) == 2
    assert [r.message_id for r in _rows(db)] == ["a2"]
    assert queue.erase_conversation(db, "conv-a") == 1
    assert queue.erase_conversation(db, "conv-a") == 0
    assert _rows(db) == [] and queue.export_conversation(db, "conv-a") == []


def test_an_erasure_waits_for_the_cases_still_being_written(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review case queued just before the patient asked for erasure is written first and then
    erased, never written after it (the recorder writes on a background thread)."""

    def slow_database() -> Database:
        time.sleep(1.0)
        return db

    monkeypatch.setattr(capture, "_recorder", capture.ReviewRecorder(slow_database))
    capture.recorder().submit(
        capture.ReviewCase(
            conversation_id="conv-slow",
            message_id="s1",
            reason="clarify",
            text="question s1",
            assistant_did="asked the patient to clarify",
            language="en",
        )
    )
    assert queue.erase_conversation(db, "conv-slow") == 1
    capture.recorder().flush()
    assert _rows(db) == []
