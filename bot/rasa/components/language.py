"""Rasa NLU component: decides the reply language of every message (bot/language/choice.py).

Runs after the intent classifiers. It records `message["language"]` ({code, reply, requested,
unavailable}) and the entity `reply_lang` (slot: picks the variation of the responses Rasa sends
itself). A language picked in words or with the widget's switch also becomes the entity
`chosen_lang`, kept in its slot for the rest of the conversation. A message that only picks a
language ("in Hindi please") gets the intent `choose_language`.

Metadata it reads: `lang` (the widget's or kiosk's switch), `page_lang` (the page's default),
and, from bot/rasa/patches.py, `meso_chosen_lang` and `meso_reply_lang` (the slots so far).
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.language.choice import (
    CHOSEN_SLOT,
    PARSE_KEY,
    REPLY_SLOT,
    language_request,
    reply_language,
)
from bot.language.identify import identify, language_settings
from bot.rasa.components.base import StatelessComponent, add_slot_entities, set_intent

CHOOSE_INTENT = "choose_language"
LANGUAGE_KEY = PARSE_KEY
SWITCH_KEY = "lang"
PAGE_KEY = "page_lang"
CHOSEN_SLOT_KEY = "meso_chosen_lang"
REPLY_SLOT_KEY = "meso_reply_lang"


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class LanguageChoice(StatelessComponent):
    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self.annotate(message)
        return messages

    def annotate(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        metadata = message.get(METADATA) or {}
        replies = language_settings().replies
        switched = metadata.get(SWITCH_KEY) if metadata.get(SWITCH_KEY) in replies else None
        guess = identify(text)
        request = language_request(text) if not text.startswith("/") else None
        chosen = (request.lang if request else None) or switched
        reply = reply_language(
            guess,
            len(text.split()),
            request=request,
            chosen=switched or metadata.get(CHOSEN_SLOT_KEY),
            previous=metadata.get(REPLY_SLOT_KEY),
            page_default=metadata.get(PAGE_KEY),
        )
        message.set(
            LANGUAGE_KEY,
            {
                "code": guess.code,
                "reply": reply,
                "requested": request.lang if request else None,
                "unavailable": request.unavailable if request else None,
            },
            add_to_output=True,
        )
        if request and request.only_request:
            set_intent(message, CHOOSE_INTENT)
        found = [(REPLY_SLOT, reply)] + ([(CHOSEN_SLOT, chosen)] if chosen else [])
        add_slot_entities(message, found, type(self).__name__)
