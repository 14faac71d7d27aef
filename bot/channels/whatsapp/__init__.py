"""WhatsApp Cloud API channel for Rasa. credentials.yml key: bot.channels.whatsapp.WhatsAppInput.

The channel classes are imported on first use, so `bot check` can validate the channel's texts
(bot.channels.whatsapp.texts) without loading Rasa's server stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.channels.whatsapp.input import WhatsAppInput
    from bot.channels.whatsapp.output import WhatsAppOutput

__all__ = ["WhatsAppInput", "WhatsAppOutput"]


def __getattr__(name: str) -> Any:
    if name == "WhatsAppInput":
        from bot.channels.whatsapp.input import WhatsAppInput

        return WhatsAppInput
    if name == "WhatsAppOutput":
        from bot.channels.whatsapp.output import WhatsAppOutput

        return WhatsAppOutput
    raise AttributeError(name)
