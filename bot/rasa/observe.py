"""Observability of the Rasa server we launch (applied by `python -m bot.rasa.cli`, beside
bot/rasa/patches.py):

1. /health/live, /health/ready (ready = the model is loaded) and /metrics on Rasa's own port:
   `rasa.core.run.configure_app` builds the Sanic app that `rasa run` serves (with or without
   the HTTP API); we add bot/observability's blueprint to the app it returns. Routes are added
   before Sanic forks its workers, so every worker serves them.
2. Every bot message Rasa sends, on any channel, passes `MessageProcessor._send_bot_messages`:
   each is counted by reply kind there (`note_reply`), inside the turn its channel opened
   (`observe_turn` in bot/rasa/channels).
3. `MessageProcessor.parse_message` is where triage's verdict for a message becomes known: an
   escalated message is counted by severity (`note_triage`), whether or not the action server
   is up.
"""

from __future__ import annotations

from typing import Any

import rasa.core.run
from rasa.core.processor import MessageProcessor
from rasa.shared.core.events import BotUttered
from sanic import Sanic

from bot.observability.endpoints import sanic_blueprint
from bot.observability.metrics import note_reply, note_triage

_configure_app = rasa.core.run.configure_app
_send_bot_messages = MessageProcessor._send_bot_messages
_parse_message = MessageProcessor.parse_message


def model_ready(app: Sanic) -> tuple[bool, dict[str, Any]]:
    """Rasa is ready once its agent has loaded the model."""
    agent = getattr(app.ctx, "agent", None)
    loaded = bool(agent is not None and agent.is_ready())
    return loaded, {"model_loaded": loaded}


def configure_app(*args: Any, **kwargs: Any) -> Sanic:
    app = _configure_app(*args, **kwargs)
    app.blueprint(sanic_blueprint(model_ready))
    return app


async def send_bot_messages(events: list[Any], tracker: Any, output_channel: Any) -> None:
    await _send_bot_messages(events, tracker, output_channel)
    for event in events:
        if isinstance(event, BotUttered):
            note_reply(event.message())


async def parse_message(self: MessageProcessor, *args: Any, **kwargs: Any) -> dict[str, Any]:
    parse_data = await _parse_message(self, *args, **kwargs)
    note_triage(parse_data)
    return parse_data


def apply() -> None:
    """Install the hooks (idempotent)."""
    rasa.core.run.configure_app = configure_app
    MessageProcessor._send_bot_messages = staticmethod(send_bot_messages)  # type: ignore[method-assign]
    MessageProcessor.parse_message = parse_message  # type: ignore[method-assign]
