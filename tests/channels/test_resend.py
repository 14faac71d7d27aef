"""A message a client sends again is run once (bot/rasa/channels/resend.py), with Rasa's own
in-memory tracker store and real concurrency: the resend arrives while the first delivery runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa.channels.resend import ResentMessages, recorded_turn
from bot.rasa.channels.rest import OneMessageOutput

SENDER, MESSAGE_ID = "session-1", "client:m-1"
ANSWER = {"text": "Usually 4 to 6 sessions.", "custom": {"meso": {"kind": "answer"}}}


def _output() -> OneMessageOutput:
    """The REST channel's output: each response whole, in `messages`."""
    return OneMessageOutput(CollectingOutputChannel())


def _message(output: OneMessageOutput, message_id: str = MESSAGE_ID) -> UserMessage:
    return UserMessage("how many sessions", output, SENDER, message_id=message_id)


class Turn:
    """A stand-in for Rasa's turn: sends the answer once released, then records the turn in
    the tracker store as Rasa does (saved when complete). `fail_first`: the first run raises."""

    def __init__(self, store: InMemoryTrackerStore, fail_first: bool = False) -> None:
        self.store, self.fail_first = store, fail_first
        self.runs = 0
        self.release = asyncio.Event()

    async def __call__(self, message: UserMessage) -> None:
        self.runs += 1
        await self.release.wait()
        if self.fail_first and self.runs == 1:
            raise RuntimeError("the turn failed")
        await message.output_channel.send_response(SENDER, dict(ANSWER))
        tracker = await self.store.get_or_create_tracker(SENDER)
        tracker.update(UserUttered(message.text, message_id=message.message_id))
        tracker.update(ActionExecuted("action_answer"))
        tracker.update(BotUttered(ANSWER["text"], {"custom": ANSWER["custom"]}))
        await self.store.save(tracker)


@pytest.fixture
def store() -> InMemoryTrackerStore:
    return InMemoryTrackerStore(Domain.empty())


async def _first_and_resend(
    resent: ResentMessages, turn: Turn
) -> tuple[OneMessageOutput, OneMessageOutput]:
    first_out, again_out = _output(), _output()
    first_message, again_message = _message(first_out), _message(again_out)
    first = asyncio.create_task(resent.run_once(first_message, lambda: turn(first_message)))
    await asyncio.sleep(0.01)
    again = asyncio.create_task(resent.run_once(again_message, lambda: turn(again_message)))
    await asyncio.sleep(0.01)
    turn.release.set()
    await asyncio.gather(first, again, return_exceptions=True)
    return first_out, again_out


async def test_a_socketio_resend_while_the_first_runs_sends_nothing_more(
    store: InMemoryTrackerStore,
) -> None:
    turn = Turn(store)
    resent = ResentMessages(room_replies=True, tracker_store=lambda: store)
    first_out, again_out = await _first_and_resend(resent, turn)
    assert turn.runs == 1
    assert [m["text"] for m in first_out.messages] == [ANSWER["text"]]
    assert again_out.messages == []  # the first's reply reached the session's room


async def test_a_rest_resend_while_the_first_runs_gets_the_recorded_turn(
    store: InMemoryTrackerStore,
) -> None:
    turn = Turn(store)
    resent = ResentMessages(room_replies=False, tracker_store=lambda: store)
    first_out, again_out = await _first_and_resend(resent, turn)
    assert turn.runs == 1
    assert [m["text"] for m in again_out.messages] == [ANSWER["text"]]
    assert again_out.messages[0]["custom"] == ANSWER["custom"]


@pytest.mark.parametrize("room_replies", [True, False])
async def test_a_resend_of_a_finished_turn_gets_its_recorded_responses(
    store: InMemoryTrackerStore, room_replies: bool
) -> None:
    turn = Turn(store)
    turn.release.set()
    resent = ResentMessages(room_replies=room_replies, tracker_store=lambda: store)
    first = _message(_output())
    await resent.run_once(first, lambda: turn(first))
    again_out = _output()
    again = _message(again_out)
    await resent.run_once(again, lambda: turn(again))
    assert turn.runs == 1
    assert [m["text"] for m in again_out.messages] == [ANSWER["text"]]
    other = _message(_output(), message_id="client:m-2")
    await resent.run_once(other, lambda: turn(other))  # another message is run
    assert turn.runs == 2


async def test_a_resend_after_a_failed_first_delivery_runs_the_turn(
    store: InMemoryTrackerStore,
) -> None:
    turn = Turn(store, fail_first=True)
    resent = ResentMessages(room_replies=True, tracker_store=lambda: store)
    first_out = _output()
    first_message = _message(first_out)
    first = asyncio.create_task(resent.run_once(first_message, lambda: turn(first_message)))
    await asyncio.sleep(0.01)
    again_out = _output()
    again_message = _message(again_out)
    again = asyncio.create_task(resent.run_once(again_message, lambda: turn(again_message)))
    await asyncio.sleep(0.01)
    turn.release.set()
    with pytest.raises(RuntimeError):
        await first
    await again
    assert turn.runs == 2
    assert [m["text"] for m in again_out.messages] == [ANSWER["text"]]


async def test_an_unreadable_tracker_store_runs_the_turn() -> None:
    class Broken(InMemoryTrackerStore):
        async def retrieve(self, sender_id: str) -> Any:
            raise ConnectionError("redis is down")

    broken = Broken(Domain.empty())
    turn = Turn(InMemoryTrackerStore(Domain.empty()))
    turn.release.set()
    resent = ResentMessages(room_replies=False, tracker_store=lambda: broken)
    out = _output()
    message = _message(out)
    await resent.run_once(message, lambda: turn(message))
    assert turn.runs == 1 and [m["text"] for m in out.messages] == [ANSWER["text"]]


async def test_recorded_turn_is_none_for_a_message_the_tracker_does_not_hold(
    store: InMemoryTrackerStore,
) -> None:
    assert await recorded_turn(store, SENDER, MESSAGE_ID) is None
    assert await recorded_turn(None, SENDER, MESSAGE_ID) is None
    await store.save(
        DialogueStateTracker.from_events(SENDER, [UserUttered("hi", message_id=MESSAGE_ID)])
    )
    assert await recorded_turn(store, SENDER, MESSAGE_ID) == []
