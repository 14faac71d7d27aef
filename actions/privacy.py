"""Privacy actions: what is kept, and erasure on the patient's request after a confirmation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.dispatch import reply_language, send
from actions.services import services
from bot.privacy.erasure import PATIENT_ACTOR, request_erasure
from bot.privacy.registry import PrivacyContext
from bot.privacy.texts import (
    about_data_reply,
    confirm_reply,
    erased_reply,
    not_erased_reply,
    unavailable_reply,
)

logger = logging.getLogger(__name__)


class ActionPrivacyInfo(Action):
    def name(self) -> str:
        return "action_privacy_info"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        send(dispatcher, about_data_reply(services().clinic, reply_language(tracker)))
        return []


class ActionConfirmErasure(Action):
    def name(self) -> str:
        return "action_confirm_erasure"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        send(dispatcher, confirm_reply(services().clinic, reply_language(tracker)))
        return []


class ActionEraseConversation(Action):
    def name(self) -> str:
        return "action_erase_conversation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        svc = services()
        lang = reply_language(tracker)
        try:
            ctx = PrivacyContext.default(svc.database())
            outcome = await asyncio.to_thread(
                request_erasure, ctx, tracker.sender_id, PATIENT_ACTOR
            )
        except Exception as exc:  # storage down: nothing recorded, say so
            logger.error("erasure not recorded (%s)", type(exc).__name__)
            send(dispatcher, unavailable_reply(svc.clinic, lang))
            return []
        send(dispatcher, erased_reply(outcome, svc.clinic, lang))
        return [SlotSet("last_ticket", None), SlotSet("callback_number", None)]


class ActionKeepData(Action):
    def name(self) -> str:
        return "action_keep_data"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        send(dispatcher, not_erased_reply(services().clinic, reply_language(tracker)))
        return []
