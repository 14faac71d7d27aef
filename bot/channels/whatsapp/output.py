"""The output channel of one WhatsApp turn: collects what the bot says, then sends it at once.

Collecting first lets the turn be ordered (escalation first) and rendered as a whole (the
plain text and its `meso` envelope become one message). The channel is created with the
user's real number; Rasa's `recipient_id` is only the pseudonym and is not used for sending.
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel

from bot.channels.whatsapp.delivery import Recipient, TurnDelivery

CHANNEL_NAME = "whatsapp"
_KEPT_KEYS = ("text", "buttons", "quick_replies", "custom", "image", "attachment")


class WhatsAppOutput(CollectingOutputChannel):
    def __init__(self, recipient: Recipient, delivery: TurnDelivery) -> None:
        super().__init__()
        self.recipient = recipient
        self.delivery = delivery

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Keep the bot message whole (the base class would split text at blank lines)."""
        kept = {key: message[key] for key in _KEPT_KEYS if message.get(key) is not None}
        if kept:
            await self._persist_message(kept)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message({"text": text})

    async def flush(self) -> None:
        """Send everything collected so far, in WhatsApp's form, to the real number."""
        messages, self.messages = self.messages, []
        if messages:
            await self.delivery.deliver(self.recipient, messages)
