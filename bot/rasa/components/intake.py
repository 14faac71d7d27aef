"""Rasa NLU component: marks messages the assistant cannot read as a question.

Runs after the intent classifiers. For empty, unreadable, other-language or overlong input it
sets the intent `unusable_message` and records why in `message["intake"]`, so the reply can
say what went wrong. The symptom-triage component runs after it and still wins.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.intake.check import check_message

UNUSABLE_INTENT = "unusable_message"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(GraphComponent):
    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> InputGuard:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            verdict = check_message(message.get(TEXT))
            message.set("intake", verdict, add_to_output=True)
            if verdict != "ok":
                message.set(
                    INTENT, {"name": UNUSABLE_INTENT, "confidence": 1.0}, add_to_output=True
                )
        return messages
