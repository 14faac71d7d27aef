"""The one convention for topic intents and button payloads: topic `cost` is intent `ask_cost`,
and a button asking about it sends the payload `/ask_cost` (Rasa reads "/intent" as that intent).
"""

from __future__ import annotations

TOPIC_INTENT_PREFIX = "ask_"


def topic_intent(topic_id: str) -> str:
    """The NLU intent of a knowledge-base topic."""
    return f"{TOPIC_INTENT_PREFIX}{topic_id}"


def intent_payload(intent: str) -> str:
    """The button payload that triggers `intent` directly."""
    return f"/{intent}"


def topic_payload(topic_id: str) -> str:
    """The button payload that asks about a topic."""
    return intent_payload(topic_intent(topic_id))


def topic_of_intent(intent: str | None) -> str | None:
    """The topic id of a topic intent; None for any other intent."""
    if intent and intent.startswith(TOPIC_INTENT_PREFIX):
        return intent[len(TOPIC_INTENT_PREFIX) :]
    return None
