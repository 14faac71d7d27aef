"""Rasa's REST channel, with one message per bot response.

Mounted where Rasa's built-in `rest` channel is (/webhooks/rest/webhook, same request body), so
clients keep working. The answer is a JSON list with one entry per bot response:
`{"recipient_id", "text"?, "buttons"?, "custom"?}` (and `image` / `attachment` / `elements` when a
response has them). Rasa's own channel would split a text at every blank line and send a custom
payload as a separate entry; a `Reply` would arrive in pieces.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint

from bot.channels.message_id import client_message_id
from bot.channels.output import bot_message, is_escalation
from bot.observability.metrics import channel_label, observe_turn
from bot.rasa.channels.failsafe import run_or_answer_report
from bot.rasa.channels.resend import ResentMessages


class OneMessageOutput(CollectingOutputChannel):
    """Puts each bot response, whole, into the collector (or stream queue) of Rasa's REST
    blueprint, which answers the HTTP request with what it collected."""

    def __init__(self, collector: CollectingOutputChannel) -> None:
        super().__init__()
        self.collector = collector
        self.messages = collector.messages

    async def _persist_message(self, message: dict[str, Any]) -> None:
        await self.collector._persist_message(message)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        parts = bot_message(message)
        if parts:
            await self._persist_message({"recipient_id": recipient_id, **parts})

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """A text on its own (not through send_response), unsplit."""
        await self._persist_message({"recipient_id": recipient_id, "text": text})


class MesoRestInput(RestInput):
    """credentials.yml key `bot.rasa.channels.rest.MesoRestInput`; URL /webhooks/rest/webhook.

    A request may name its message (`metadata.message_id`, bot/channels/message_id.py), so that
    a client retrying after a failed or empty answer sends the same message again; it is
    answered once, then with the recorded turn (bot/rasa/channels/resend.py)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        resent = ResentMessages(room_replies=False)

        async def one_message_per_response(message: UserMessage) -> None:
            collector = message.output_channel
            if isinstance(collector, CollectingOutputChannel):
                message.output_channel = OneMessageOutput(collector)
            message.message_id = client_message_id(message.metadata) or message.message_id
            output = message.output_channel

            async def run() -> None:
                await run_or_answer_report(
                    message,
                    on_new_message,
                    lambda: any(is_escalation(m) for m in getattr(output, "messages", ())),
                )

            with observe_turn(channel_label(message.input_channel, message.metadata)):
                await resent.answer(message, run)

        blueprint = super().blueprint(one_message_per_response)
        resent.follow_tracker_store(blueprint)
        return blueprint
