"""Which bot message of a conversation carries the privacy notice (bot/replies/notice.py).

Called by bot/rasa/patches.py (fix 7) with the events of each action just before Rasa logs
them on the tracker and sends their messages, so every channel gets the same message. "Shown"
is read from the tracker itself (a bot message of the current session whose envelope has a
notice): nothing is kept in process memory, so it holds across restarts and replicas, and a
new session (a new sender id, a restart, or the session expiring) shows it again.

- The first bot message of a session that has an envelope and is not an emergency escalation
  carries it.
- An emergency's messages never do: when the turn ends (`action_listen`) and the session has
  had only emergency messages, the notice follows as a message of its own.
"""

from __future__ import annotations

from typing import Any

from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import BotUttered, Event, Restarted, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker

from bot.language.choice import PARSE_KEY
from bot.replies.notice import (
    carries_notice,
    envelope_of,
    is_emergency,
    notice_language,
    notice_message,
    privacy_notice,
    with_notice,
)


def bot_message(event: BotUttered) -> dict[str, Any]:
    return {**event.data, "text": event.text}


def _session_bot_messages(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    """The bot messages of the current session, latest first."""
    messages = []
    for event in reversed(tracker.events):
        if isinstance(event, (SessionStarted, Restarted)):
            break
        if isinstance(event, BotUttered):
            messages.append(bot_message(event))
    return messages


def _written_in(tracker: DialogueStateTracker) -> str | None:
    latest = tracker.latest_message
    language = (latest.parse_data or {}).get(PARSE_KEY) if latest else None  # type: ignore[union-attr]
    return language.get("code") if isinstance(language, dict) else None


def _uttered(message: dict[str, Any], like: BotUttered | None = None) -> BotUttered:
    data = {key: value for key, value in message.items() if key != "text"}
    if like is None:
        return BotUttered(text=message.get("text"), data=data)
    return BotUttered(
        text=message.get("text"), data=data, metadata=like.metadata, timestamp=like.timestamp
    )


def attach_privacy_notice(
    tracker: DialogueStateTracker, action_name: str, events: list[Event]
) -> None:
    """Put the notice, in place, on the message of `events` that should carry it (see the
    module's docstring); nothing when the session has shown it."""
    previous = _session_bot_messages(tracker)
    if any(carries_notice(m) for m in previous):
        return
    written_in = _written_in(tracker)
    for index, event in enumerate(events):
        if not isinstance(event, BotUttered):
            continue
        message = bot_message(event)
        envelope = envelope_of(message)
        if envelope is None or is_emergency(message):
            continue
        notice = privacy_notice(notice_language(envelope.get("lang"), written_in))
        events[index] = _uttered(with_notice(message, notice), like=event)
        return
    if action_name == ACTION_LISTEN_NAME and any(is_emergency(m) for m in previous):
        reply_lang = str((envelope_of(previous[0]) or {}).get("lang") or "en")
        notice = privacy_notice(notice_language(reply_lang, written_in))
        events.append(_uttered(notice_message(notice, reply_lang)))
