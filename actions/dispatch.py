"""Sending a `Reply` through the Rasa SDK dispatcher."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from bot.replies.reply import Reply


def send(dispatcher: CollectingDispatcher, *replies: Reply) -> None:
    """Utter each reply's messages in order: its text (with buttons), then its envelope."""
    for reply in replies:
        for message in reply.rasa_messages():
            if "custom" in message:
                dispatcher.utter_message(json_message=message["custom"])
            else:
                dispatcher.utter_message(text=message["text"], buttons=message.get("buttons", []))
