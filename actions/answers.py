"""FAQ actions: a knowledge-base answer, out of scope, "did you mean", unusable input."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import note_for_review, reply_language, send
from actions.services import services
from bot.knowledge.answers import compose_topic_answer
from bot.language.choice import PARSE_KEY
from bot.replies.payloads import topic_of_intent
from bot.replies.standard import (
    clarify_reply,
    language_chosen_reply,
    language_not_available_reply,
    out_of_scope_reply,
    unusable_reply,
)


def _ranking(tracker: Tracker) -> list[dict[str, Any]]:
    return tracker.latest_message.get("intent_ranking") or []


class ActionAnswerTopic(Action):
    def name(self) -> str:
        return "action_answer_topic"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        kb = svc.knowledge.current()
        lang = reply_language(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        topic = topic_of_intent(intent)
        if topic is None or kb.topic(topic) is None:
            send(dispatcher, clarify_reply(kb, svc.clinic, _ranking(tracker), lang))
            note_for_review(tracker, "clarify")
        else:
            send(dispatcher, compose_topic_answer(kb, topic, svc.clinic, lang))
            note_for_review(tracker, "answer", topic_intent=intent)
        return []


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        lang = reply_language(tracker)
        send(dispatcher, out_of_scope_reply(svc.knowledge.current(), svc.clinic, lang))
        note_for_review(tracker, "out_of_scope")
        return []


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        kb = svc.knowledge.current()
        send(dispatcher, clarify_reply(kb, svc.clinic, _ranking(tracker), reply_language(tracker)))
        note_for_review(tracker, "clarify")
        return []


class ActionUnusableMessage(Action):
    def name(self) -> str:
        return "action_unusable_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        verdict = tracker.latest_message.get("intake") or "unreadable"
        send(dispatcher, unusable_reply(verdict, services().clinic, reply_language(tracker)))
        note_for_review(tracker, "unusable")
        return []


class ActionChooseLanguage(Action):
    """The patient picked a language in words: confirm it in that language, or say which
    languages there are."""

    def name(self) -> str:
        return "action_choose_language"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        clinic = services().clinic
        requested = (tracker.latest_message.get(PARSE_KEY) or {}).get("requested")
        if requested:
            send(dispatcher, language_chosen_reply(clinic, requested))
        else:
            send(dispatcher, language_not_available_reply(clinic, reply_language(tracker)))
        return []
