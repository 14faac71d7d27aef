"""One bot response, one message: the shape every channel of this assistant sends.

Rasa 3.6's `OutputChannel.send_response` sends a response's text and its custom payload as two
messages, and its REST and socket.io channels also cut the text at every blank line. A `Reply`
(bot/replies/reply.py) is one Rasa response with `text`, `buttons` and `custom: {"meso": …}`, so
our channels override `send_response` and keep it whole: `bot_message()` for REST and WhatsApp,
`socketio_message()` for socket.io. (No Rasa import here: the browser tests' fake server uses it.)
"""

from __future__ import annotations

from typing import Any

# The parts of a Rasa bot response a channel passes on; everything else (timestamp, utter_action
# and other metadata Rasa adds) stays behind.
MESSAGE_KEYS = ("text", "buttons", "image", "attachment", "elements", "custom")


def bot_message(response: dict[str, Any]) -> dict[str, Any]:
    """The parts of one Rasa bot response (`BotUttered.message()`), unsplit, in one dict.

    Keys: those of MESSAGE_KEYS that are set (not None, not empty). `quick_replies` become
    `buttons` when the response has no buttons of its own.
    """
    message = {key: response[key] for key in MESSAGE_KEYS if response.get(key)}
    if "buttons" not in message and response.get("quick_replies"):
        message["buttons"] = response["quick_replies"]
    return message


def socketio_message(response: dict[str, Any]) -> dict[str, Any]:
    """One Rasa bot response as the data of one `bot_uttered` event: the custom payload's keys,
    `text`, and the buttons as Rasa's socket.io `quick_replies`; empty when there is nothing."""
    parts = bot_message(response)
    data: dict[str, Any] = dict(parts.pop("custom", None) or {})
    if "text" in parts:
        data["text"] = parts.pop("text")
    if "buttons" in parts:
        data["quick_replies"] = [
            {"content_type": "text", "title": b.get("title"), "payload": b.get("payload")}
            for b in parts.pop("buttons")
        ]
    return {**parts, **data}


def is_escalation(message: dict[str, Any]) -> bool:
    """True for a bot message carrying an escalation envelope (a report became a ticket)."""
    custom = message.get("custom")
    meso = custom.get("meso") if isinstance(custom, dict) else None
    return isinstance(meso, dict) and meso.get("kind") == "escalation"
