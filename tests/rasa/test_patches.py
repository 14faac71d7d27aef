"""The action-response validation fix keeps Rasa's behaviour: valid passes, invalid raises."""

from __future__ import annotations

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.rasa import patches as rasa_patches


@pytest.fixture
def action() -> RemoteAction:
    rasa_patches.apply()
    return RemoteAction("action_answer_topic", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_valid_response_passes(action: RemoteAction) -> None:
    result = {
        "events": [{"event": "slot", "name": "last_ticket", "value": "abc"}],
        "responses": [{"text": "hi", "custom": {"meso": {"kind": "chitchat"}}}],
    }
    assert action._validate_action_result(result) is True


def test_invalid_response_raises_the_same_error_as_rasa(action: RemoteAction) -> None:
    bad = {"events": [{"event": "slot"}], "responses": "not a list"}
    with pytest.raises(jsonschema.ValidationError) as patched:
        action._validate_action_result(bad)
    with pytest.raises(jsonschema.ValidationError) as original:
        jsonschema.validate(bad, RemoteAction.action_response_format_spec())
    assert patched.value.message.startswith(original.value.message)
    assert "Failed to validate Action server response" in patched.value.message


def test_event_types_resolve_as_before() -> None:
    from rasa.shared.core.events import ActionExecuted, Event, UserUttered

    rasa_patches.apply()
    assert Event.resolve_by_type("user") is UserUttered
    assert Event.resolve_by_type("action") is ActionExecuted
    assert Event.resolve_by_type("user") is UserUttered  # cached
    assert Event.resolve_by_type("no_such_event", default=UserUttered) is UserUttered
    assert Event.resolve_by_type("topic") is None
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no_such_event")


def test_applied_events_continued_match_rasa_at_every_step() -> None:
    """Random conversations with a form, reverts, restarts and new sessions: after every event
    the continued walk gives exactly what Rasa's full walk gives."""
    import random

    from rasa.shared.core.events import (
        ActionExecuted,
        ActionReverted,
        ActiveLoop,
        Restarted,
        SessionStarted,
        SlotSet,
        UserUtteranceReverted,
        UserUttered,
    )
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_patches.apply()
    rasa_walk = rasa_patches._rasa_applied_events
    rng = random.Random(7)
    makers = [
        lambda: UserUttered("hi", {"name": "greet"}),
        lambda: ActionExecuted("action_listen"),
        lambda: ActionExecuted("utter_price"),
        lambda: ActionExecuted("callback_form"),
        lambda: ActionExecuted("other_form"),
        lambda: ActiveLoop("callback_form"),
        lambda: ActiveLoop("other_form"),
        lambda: ActiveLoop(None),
        lambda: SlotSet("requested_slot", "phone"),
        lambda: UserUtteranceReverted(),
        lambda: ActionReverted(),
        lambda: Restarted(),
        lambda: SessionStarted(),
    ]
    weights = [8, 8, 5, 6, 2, 2, 1, 2, 3, 1, 1, 0.3, 0.3]
    for _ in range(30):
        tracker = DialogueStateTracker("t", [])
        for _ in range(rng.randint(20, 120)):
            tracker.update(rng.choices(makers, weights)[0]())
            if rng.random() < 0.7:
                assert tracker.applied_events() == rasa_walk(tracker)
        assert tracker.applied_events() == rasa_walk(tracker)
        assert tracker.applied_events() is not tracker.applied_events()  # a copy each time
