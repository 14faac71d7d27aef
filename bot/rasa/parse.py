"""Parse many texts at once through a loaded model's NLU graph (evaluation, not the server).

`Agent.parse_message` runs the NLU graph on one message at a time. The graph's message
placeholder is a list and every component of config.yml processes each message of the list on
its own, so `parse_texts` gives each batch to the graph in one run and builds the same parse
data per text as Rasa 3.6's `MessageProcessor.parse_message` with a fresh tracker: the text
stripped, the defaults for a text the graph leaves without intent (`_parse_message_with_graph`),
the output properties only, the full retrieval intent. It logs no per-message debug line and
does not warn about intents missing from the domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.engine.constants import PLACEHOLDER_MESSAGE, PLACEHOLDER_TRACKER
from rasa.shared.constants import DEFAULT_SENDER_ID
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)

DEFAULT_BATCH_SIZE = 64


async def parse_texts(
    agent: Agent, texts: Sequence[str], batch_size: int = DEFAULT_BATCH_SIZE
) -> list[dict[str, Any]]:
    """The parse data of every text, in order, as `agent.parse_message(text)` gives it."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    processor = agent.processor
    if processor is None:
        raise ValueError("the agent has no model loaded")
    if processor.http_interpreter:  # NLU runs elsewhere: nothing to batch here
        return [await agent.parse_message(text) for text in texts]
    target = processor.model_metadata.nlu_target
    parsed: list[dict[str, Any]] = []
    for start in range(0, len(texts), batch_size):
        messages = [UserMessage(text) for text in texts[start : start + batch_size]]
        tracker = DialogueStateTracker.from_events(DEFAULT_SENDER_ID, [])
        results = processor.graph_runner.run(
            inputs={PLACEHOLDER_MESSAGE: messages, PLACEHOLDER_TRACKER: tracker},
            targets=[target],
        )
        for message in results[target]:
            parse_data: dict[str, Any] = {
                TEXT: "",
                INTENT: {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0},
                ENTITIES: [],
            }
            parse_data.update(message.as_dict(only_output_properties=True))
            processor._update_full_retrieval_intent(parse_data)
            parsed.append(parse_data)
    return parsed
