"""Paused conversations (bot/rasa/handoff.py): Rasa's ConversationPaused stops the assistant,
except for messages triage escalated, and a restart."""

from __future__ import annotations

import pytest
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import (
    ConversationPaused,
    ConversationResumed,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa import handoff


def _tracker(intent: str, paused: bool) -> DialogueStateTracker:
    events = [ConversationPaused()] if paused else []
    events.append(UserUttered("text", {"name": intent, "confidence": 1.0}))
    return DialogueStateTracker.from_events("patient", events)


@pytest.mark.parametrize(
    ("intent", "paused", "handled"),
    [
        ("ask_cost", False, True),
        ("ask_cost", True, False),  # a question while a clinician holds the chat: silence
        ("greet", True, False),
        ("report_emergency", True, True),  # the emergency instruction still goes out
        ("report_symptom", True, True),
        ("help_request", True, True),
        ("restart", True, True),
    ],
)
def test_only_escalations_pass_a_paused_conversation(
    intent: str, paused: bool, handled: bool
) -> None:
    assert handoff.should_handle_message(_tracker(intent, paused)) is handled


def test_resumed_conversation_is_answered_again() -> None:
    tracker = DialogueStateTracker.from_events(
        "patient",
        [ConversationPaused(), ConversationResumed(), UserUttered("q", {"name": "ask_cost"})],
    )
    assert handoff.should_handle_message(tracker)


def test_apply_installs_the_rule_on_rasas_processor() -> None:
    original = MessageProcessor.__dict__["_should_handle_message"]
    try:
        handoff.apply()
        assert MessageProcessor._should_handle_message(_tracker("report_emergency", True))
        assert not MessageProcessor._should_handle_message(_tracker("ask_cost", True))
    finally:
        MessageProcessor._should_handle_message = original
        MessageProcessor._run_prediction_loop = handoff._rasa_run_prediction_loop


def test_a_new_session_is_told_apart_from_a_turn_of_the_same_session() -> None:
    new_session = DialogueStateTracker.from_events(
        "patient",
        [
            UserUttered("before", {"name": "ask_cost"}),
            SessionStarted(),
            UserUttered("after an hour", {"name": "ask_cost"}),
        ],
    )
    assert handoff.session_started_this_turn(new_session)
    same_session = DialogueStateTracker.from_events(
        "patient",
        [SessionStarted(), UserUttered("one", {"name": "greet"}), UserUttered("two")],
    )
    assert not handoff.session_started_this_turn(same_session)


async def test_a_held_conversation_stays_paused_across_a_new_session(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rasa's SessionStarted clears the pause; the hold in the database restores it, so the
    assistant still answers only what triage escalates."""
    from bot.handoff import store
    from bot.storage.db import Database

    db = Database(database_url)
    monkeypatch.setattr(handoff, "get_database", lambda: db)
    store.take(db, "patient", None, "socketio", "nurse.anna")
    tracker = DialogueStateTracker.from_events(
        "patient",
        [ConversationPaused(), SessionStarted(), UserUttered("cost?", {"name": "ask_cost"})],
    )
    assert not tracker.is_paused()  # what Rasa leaves after a new session

    ran: list[bool] = []

    async def rasa_loop(self: object, output_channel: object, tracker: object) -> None:
        ran.append(handoff.should_handle_message(tracker))

    monkeypatch.setattr(handoff, "_rasa_run_prediction_loop", rasa_loop)
    await handoff._run_prediction_loop(None, None, tracker)  # type: ignore[arg-type]
    assert tracker.is_paused() and ran == [False]
    assert [line.text for line in store.thread(db, "patient")][-1] == "cost?"
    db.dispose()
