"""The fixes to Rasa keep its behaviour: action responses are validated as before, events
resolve as before, and an action server that is briefly away is called again."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from rasa.core.actions.action import RemoteAction
from rasa.core.lock_store import InMemoryLockStore, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from bot.cluster.servers import RedisServer
from bot.rasa import patches as rasa_patches
from bot.readiness import free_port, wait_until


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


class _FlakyActionServer:
    """An action server on loopback that drops the connection of its first `drops` calls
    (as one that is being restarted does), then answers."""

    def __init__(self, drops: int) -> None:
        self.drops = drops
        self.calls = 0

    async def handle(self, request: Any) -> Any:
        from aiohttp import web

        self.calls += 1
        if self.calls <= self.drops:
            request.transport.close()  # the client sees the server disconnect
            return web.Response()
        return web.json_response({"events": [], "responses": [{"text": "answered"}]})

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        from aiohttp import web

        from tests.support.loopback import aiohttp_served

        app = web.Application()
        app.router.add_post("/webhook", self.handle)
        async with aiohttp_served(app) as url:
            yield f"{url}/webhook"


async def _run(url: str, events: list[Any] | None = None) -> list[str]:
    """The texts the action utters (as BotUttered events, which Rasa then sends), in a
    conversation of `events` so far."""
    from rasa.core.channels.channel import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import BotUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    rasa_patches.apply()
    action = RemoteAction("action_answer_topic", EndpointConfig(url))
    uttered = await action.run(
        CollectingOutputChannel(),
        TemplatedNaturalLanguageGenerator({}),
        DialogueStateTracker.from_events("patient", events or []),
        Domain.empty(),
    )
    return [e.text for e in uttered if isinstance(e, BotUttered)]


async def test_an_action_server_that_is_restarting_is_called_again() -> None:
    server = _FlakyActionServer(drops=2)
    async with server.serving() as url:
        texts = await _run(url)
    assert server.calls == 3
    assert texts == ["answered"]  # once: nothing is uttered by a failed attempt


async def test_an_action_server_that_stays_away_fails_after_the_retry_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rasa.shared.exceptions import RasaException

    monkeypatch.setattr(rasa_patches, "ACTION_RETRY_SECONDS", 1.0)
    server = _FlakyActionServer(drops=1000)
    async with server.serving() as url:
        with pytest.raises(RasaException, match="Failed to execute custom action"):
            await _run(url)
    assert 2 <= server.calls <= 4  # retried for about a second, then Rasa's own error


async def test_a_turn_that_has_its_reply_is_not_held_up_by_a_missing_action_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # An emergency: the instruction (a Rasa response) has gone out; the ticket comes from the
    # spool, so the patient's reply is not delayed while the action server is away.
    from rasa.shared.core.events import BotUttered, UserUttered
    from rasa.shared.exceptions import RasaException

    monkeypatch.setattr(rasa_patches, "ACTION_RETRY_SECONDS", 5.0)
    server = _FlakyActionServer(drops=1000)
    turn = [UserUttered("my lips are swelling"), BotUttered("Call emergency services now")]
    async with server.serving() as url:
        with pytest.raises(RasaException, match="Failed to execute custom action"):
            await _run(url, turn)
    assert server.calls == 1


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


async def test_a_lock_store_that_is_away_for_a_moment_is_waited_for(tmp_path: Path) -> None:
    """Redis restarting (nothing listening yet) when a message takes its conversation's ticket:
    the ticket is taken once Redis answers, instead of the message failing with a LockError."""
    rasa_patches.apply()
    server = RedisServer(tmp_path / "redis", free_port())
    store = RedisLockStore(port=server.port, db=1)
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def take_ticket() -> str:
        async with store.lock("conversation") as lock:
            return lock.conversation_id

    taking = asyncio.ensure_future(take_ticket())
    await asyncio.sleep(1.0)
    assert not taking.done()  # waiting, not failed
    redis = subprocess.Popen(server.command(), stdout=subprocess.DEVNULL)
    try:
        assert await asyncio.wait_for(taking, rasa_patches.LOCK_RETRY_SECONDS) == "conversation"
        assert loop.time() - started >= 1.0
    finally:
        redis.terminate()
        redis.wait(10)


async def test_another_lock_error_is_raised_at_once() -> None:
    rasa_patches.apply()

    class BrokenLockStore(InMemoryLockStore):
        def get_or_create_lock(self, conversation_id: str) -> Any:
            raise ValueError("broken")

    store = BrokenLockStore()
    with pytest.raises(LockError):
        async with store.lock("conversation"):
            pass


async def test_a_lock_released_while_redis_restarts_is_released_once_it_is_back(
    tmp_path: Path,
) -> None:
    """The turn ran while Redis restarted: releasing its ticket waits for Redis instead of
    failing the turn after its reply."""
    rasa_patches.apply()
    server = RedisServer(tmp_path / "redis", free_port())
    processes = [subprocess.Popen(server.command(), stdout=subprocess.DEVNULL)]
    wait_until(server.answers, 30, "Redis answering")
    store = RedisLockStore(port=server.port, db=1)

    def restart() -> None:
        processes.append(subprocess.Popen(server.command(), stdout=subprocess.DEVNULL))

    try:
        async with store.lock("conversation"):
            processes[0].terminate()
            processes[0].wait(10)
            asyncio.get_running_loop().call_later(1.0, restart)
        assert len(processes) == 2  # released only once Redis was back
        assert store.get_lock("conversation") is None
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


@contextlib.contextmanager
def _redis(tmp_path: Path) -> Any:
    """A real Redis server on loopback; yields (server, processes) so a test may restart it."""
    server = RedisServer(tmp_path / "redis", free_port())
    processes = [subprocess.Popen(server.command(), stdout=subprocess.DEVNULL)]
    wait_until(server.answers, 30, "Redis answering")
    try:
        yield server, processes
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)


async def _wait_behind(store: RedisLockStore, holding: asyncio.Event) -> str:
    """Take the conversation's turn behind the current holder; what the turn saw."""
    await holding.wait()
    async with store.lock("conversation", wait_time_in_seconds=0.1) as lock:
        return lock.conversation_id


@contextlib.asynccontextmanager
async def _one_waiting_behind(store: RedisLockStore) -> AsyncIterator[asyncio.Future[str]]:
    """Inside: the conversation's lock is held, and a second message waits for its turn."""
    holding = asyncio.Event()
    waiting = asyncio.ensure_future(_wait_behind(store, holding))
    async with store.lock("conversation"):
        holding.set()
        await asyncio.sleep(0.5)
        assert not waiting.done()  # behind the holder
        yield waiting


async def test_a_message_waiting_when_the_lock_vanishes_takes_a_fresh_ticket(
    tmp_path: Path,
) -> None:
    """Redis restarted empty while a message waited for its conversation's turn: Rasa failed it
    with "Could not acquire lock"; it now takes a fresh ticket and runs."""
    rasa_patches.apply()
    with _redis(tmp_path) as (server, _):
        store = RedisLockStore(port=server.port, db=1)
        async with _one_waiting_behind(store) as waiting:
            store.red.flushdb()  # what a restart without persistence leaves
            turn = await asyncio.wait_for(waiting, rasa_patches.LOCK_RETRY_SECONDS)
            assert turn == "conversation"
        assert store.get_lock("conversation") is None  # both tickets released


async def test_a_message_waiting_when_redis_goes_away_runs_once_it_is_back(
    tmp_path: Path,
) -> None:
    rasa_patches.apply()
    with _redis(tmp_path) as (server, processes):
        store = RedisLockStore(port=server.port, db=1)
        async with _one_waiting_behind(store) as waiting:
            processes[0].terminate()
            processes[0].wait(10)
            await asyncio.sleep(1.0)
            assert not waiting.done()  # not failed while Redis is away
            processes.append(subprocess.Popen(server.command(), stdout=subprocess.DEVNULL))
            turn = await asyncio.wait_for(waiting, rasa_patches.LOCK_RETRY_SECONDS)
            assert turn == "conversation"
