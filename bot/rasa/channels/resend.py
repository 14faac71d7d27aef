"""A message a client sends again (same conversation, same message id) is run once.

Clients that got no reply in time send a message again with the same id (REST and socket.io:
bot/channels/message_id.py; WhatsApp: Meta's redelivery, replayed from the journal). Running it
again would answer it twice. Rasa saves a turn only when it is complete and sends it after that,
so a tracker holding the message under its id means the turn ran: its recorded bot responses
are sent instead of running it again.

A resend that arrives while the first delivery is still running on this server waits for it.
On socket.io the first delivery's replies go to the session's room, which the resending client
has joined, so the resend then sends nothing more; a REST resend gets the recorded responses in
its own answer. When the first delivery failed, the resend runs the turn (it is the retry).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Blueprint

from bot.channels.message_id import client_message_id

logger = logging.getLogger(__name__)


def tracker_store_of(app: Any) -> TrackerStore | None:
    """The tracker store of the Rasa agent served by the Sanic `app`, if there is one yet."""
    agent = getattr(getattr(app, "ctx", None), "agent", None)
    store = getattr(agent, "tracker_store", None)
    return store if isinstance(store, TrackerStore) else None


async def recorded_turn(
    tracker_store: TrackerStore | None, sender_id: str, message_id: str
) -> list[dict[str, Any]] | None:
    """The bot responses Rasa recorded for the user message `message_id` (up to the next user
    message), or None when the conversation does not hold that message (or cannot be read)."""
    if tracker_store is None:
        return None
    tracker = await tracker_store.retrieve(sender_id)
    if tracker is None:
        return None
    responses: list[dict[str, Any]] | None = None
    for event in tracker.events:
        if isinstance(event, UserUttered):
            if responses is not None:
                break
            if event.message_id == message_id:
                responses = []
        elif isinstance(event, BotUttered) and responses is not None:
            responses.append(event.message())
    return responses


@dataclass
class _Delivery:
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    succeeded: bool = False


@dataclass
class ResentMessages:
    """Runs each (conversation, message id) once per server; see the module docstring.
    `room_replies`: the first delivery's replies reach a client that sends the message again
    while it runs (socket.io rooms), so such a resend sends nothing itself."""

    room_replies: bool
    tracker_store: Callable[[], TrackerStore | None] = lambda: None
    _running: dict[tuple[str, str], _Delivery] = field(default_factory=dict)

    def follow_tracker_store(self, blueprint: Blueprint) -> None:
        """Read the tracker store of the app `blueprint` is served by, once the server starts."""

        @blueprint.listener("after_server_start")
        async def find_tracker_store(app: Any, *_: Any) -> None:
            self.tracker_store = lambda: tracker_store_of(app)

    async def answer(self, message: UserMessage, run: Callable[[], Awaitable[Any]]) -> None:
        """Run `run`, the turn of `message`: once per message when its client chose the id
        (bot/channels/message_id.py), else as it comes (no id, so no resend to recognise)."""
        if client_message_id(message.metadata):
            await self.run_once(message, run)
        else:
            await run()

    async def run_once(self, message: UserMessage, run: Callable[[], Awaitable[Any]]) -> None:
        """Run `run` (the turn of `message`, whose id the client chose) unless this server is
        running it already or the tracker records it (then send the recorded responses)."""
        key = (message.sender_id, str(message.message_id))
        while (running := self._running.get(key)) is not None:
            await running.finished.wait()
            if running.succeeded and self.room_replies:
                logger.info(
                    "%s: a resent message was answered by its first delivery", message.input_channel
                )
                return
        delivery = self._running[key] = _Delivery()
        try:
            recorded = await self._recorded(message, key)
            if recorded is None:
                await run()
            else:
                logger.info("%s: a resent message gets its recorded turn", message.input_channel)
                for response in recorded:
                    await message.output_channel.send_response(message.sender_id, response)
            delivery.succeeded = True
        finally:
            del self._running[key]
            delivery.finished.set()

    async def _recorded(
        self, message: UserMessage, key: tuple[str, str]
    ) -> list[dict[str, Any]] | None:
        try:
            return await recorded_turn(self.tracker_store(), *key)
        except Exception as exc:  # an unreadable tracker: run the turn, as without an id
            channel, reason = message.input_channel, type(exc).__name__
            logger.warning("%s: could not read the conversation (%s)", channel, reason)
            return None
