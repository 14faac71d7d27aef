"""Rasa NLU component: marks messages the assistant cannot read as a question.

Runs after the intent classifiers. For empty, unreadable, other-language or overlong input it
sets the intent `unusable_message` and records why in `message["intake"]`, so the reply can
say what went wrong. The symptom-triage component runs after it and still wins.
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.intake.check import check_message
from bot.rasa.components.base import StatelessComponent, set_intent

UNUSABLE_INTENT = "unusable_message"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class InputGuard(StatelessComponent):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            verdict = check_message(message.get(TEXT))
            message.set("intake", verdict, add_to_output=True)
            if verdict != "ok":
                set_intent(message, UNUSABLE_INTENT)
        return messages
