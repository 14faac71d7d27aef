"""Sending a `Reply` through the Rasa SDK dispatcher."""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.datafiles import ENGLISH
from bot.language.choice import PARSE_KEY, REPLY_SLOT
from bot.replies.reply import Reply
from bot.review import capture


def send(dispatcher: CollectingDispatcher, *replies: Reply) -> None:
    """Utter each reply as one bot message: its text, its buttons and its `meso` envelope."""
    for reply in replies:
        message = reply.rasa_message()
        dispatcher.utter_message(
            text=message["text"],
            buttons=message.get("buttons", []),
            json_message=message["custom"],
        )


def reply_language(tracker: Tracker) -> str:
    """The language to answer the latest message in, as the language component decided it
    (`message["language"]`), else the `reply_lang` slot, else English."""
    decided = (tracker.latest_message.get(PARSE_KEY) or {}).get("reply")
    return str(decided or tracker.get_slot(REPLY_SLOT) or ENGLISH)


def note_for_review(
    tracker: Tracker,
    outcome: capture.Outcome,
    *,
    topic_intent: str | None = None,
    severity: str | None = None,
) -> None:
    """Put the latest message in the review queue when `outcome` shows the assistant was unsure
    (bot/review/capture.py decides); written in the background, never delays or fails a reply."""
    message = dict(tracker.latest_message or {})
    if not message.get("message_id"):
        user = next((e for e in reversed(tracker.events) if e.get("event") == "user"), {})
        message["message_id"] = user.get("message_id")
    capture.note(
        tracker.sender_id,
        message,
        outcome,
        topic_intent=topic_intent,
        severity=severity,
    )
