"""The output channel of one WhatsApp turn: collects what the bot says, then sends it at once.

Collecting first lets the turn be ordered (escalation first) and rendered as a whole. Each bot
response is kept as one message (bot/channels/output.py), so a `Reply` arrives with its text and
its `meso` envelope together. The channel is created with the user's real number; Rasa's
`recipient_id` is only the pseudonym and is not used for sending.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel

from bot.channels.output import bot_message
from bot.channels.whatsapp.delivery import Recipient, TurnDelivery

CHANNEL_NAME = "whatsapp"


class WhatsAppOutput(CollectingOutputChannel):
    def __init__(self, recipient: Recipient, delivery: TurnDelivery) -> None:
        super().__init__()
        self.recipient = recipient
        self.delivery = delivery

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keep the bot response whole: one message (the base class would send its text, cut at
        blank lines, and its custom payload apart)."""
        kept = bot_message(message)
        if kept:
            await self._persist_message(kept)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message({"text": text})

    async def flush(self) -> None:
        """Send everything collected so far, in WhatsApp's form, to the real number."""
        messages, self.messages = self.messages, []
        if messages:
            await self.delivery.deliver(self.recipient, messages)
