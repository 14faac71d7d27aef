"""WhatsApp Cloud API channel for Rasa; credentials.yml key
bot.rasa.channels.whatsapp.WhatsAppInput. The webhook parsing, rendering, Graph API client and
delivery it uses are in bot/channels/whatsapp (no Rasa there). The classes load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.rasa.channels.whatsapp.input import WhatsAppInput
    from bot.rasa.channels.whatsapp.output import WhatsAppOutput

__all__ = ["WhatsAppInput", "WhatsAppOutput"]


def __getattr__(name: str) -> Any:
    if name == "WhatsAppInput":
        from bot.rasa.channels.whatsapp.input import WhatsAppInput

        return WhatsAppInput
    if name == "WhatsAppOutput":
        from bot.rasa.channels.whatsapp.output import WhatsAppOutput

        return WhatsAppOutput
    raise AttributeError(name)
