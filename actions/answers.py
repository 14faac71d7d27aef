"""FAQ actions: a knowledge-base answer, out of scope, "did you mean", unusable input."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import send
from actions.services import services
from bot.knowledge.answers import compose_topic_answer
from bot.replies.payloads import topic_of_intent
from bot.replies.standard import clarify_reply, out_of_scope_reply, unusable_reply


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
        topic = topic_of_intent((tracker.latest_message.get("intent") or {}).get("name"))
        if topic is None or kb.topic(topic) is None:
            send(dispatcher, clarify_reply(kb, svc.clinic, _ranking(tracker)))
        else:
            send(dispatcher, compose_topic_answer(kb, topic, svc.clinic))
        return []


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        send(dispatcher, out_of_scope_reply(svc.knowledge.current(), svc.clinic))
        return []


class ActionClarify(Action):
    def name(self) -> str:
        return "action_clarify"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        send(dispatcher, clarify_reply(svc.knowledge.current(), svc.clinic, _ranking(tracker)))
        return []


class ActionUnusableMessage(Action):
    def name(self) -> str:
        return "action_unusable_message"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        verdict = tracker.latest_message.get("intake") or "unreadable"
        lang = (tracker.latest_message.get("triage") or {}).get("reply_language")
        send(dispatcher, unusable_reply(verdict, services().clinic, lang))
        return []
