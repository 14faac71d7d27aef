"""Escalation actions: record the report, tell the patient what happens next, take a callback."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.dispatch import note_for_review, reply_language, send
from actions.services import services
from bot.knowledge.answers import compose_topic_answer
from bot.replies.reply import Reply
from bot.replies.standard import topic_after_handoff
from bot.tickets.callback import CallbackRefused, save_callback_number
from bot.tickets.report import report_from_rasa_events
from bot.tickets.spool import record_report_promptly
from bot.triage.escalation import EMERGENCY_INSTRUCTION_RESPONSE, callback_text, escalation_reply


def _bot_actions_since_user(tracker: Tracker) -> list[str]:
    actions: list[str] = []
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            break
        if event.get("event") == "action":
            actions.append(event.get("name"))
    return actions


def _note(text: str, lang: str) -> Reply:
    return Reply(kind="chitchat", body=text, lang=lang)


class ActionEscalate(Action):
    def name(self) -> str:
        return "action_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        svc = services()
        report = report_from_rasa_events(tracker.sender_id, tracker.events)
        if report is None or report.triage.severity is None:
            return []
        outcome = await record_report_promptly(report, svc.clinic)
        severity = report.triage.severity
        lang = reply_language(tracker)
        replies = [
            escalation_reply(
                severity,
                outcome.ticket_id,
                svc.clinic,
                instruction_sent=EMERGENCY_INSTRUCTION_RESPONSE in _bot_actions_since_user(tracker),
                lang=lang,
            )
        ]
        ranking = tracker.latest_message.get("intent_ranking") or []
        topic = topic_after_handoff(severity, report.text, ranking)
        kb = svc.knowledge.current()
        if topic and kb.topic(topic) and not tracker.is_paused():  # a clinician holds the chat
            replies.append(compose_topic_answer(kb, topic, svc.clinic, lang))
        send(dispatcher, *replies)
        note_for_review(tracker, "escalation", severity=severity)
        return [SlotSet("last_ticket", outcome.ticket_id or outcome.expected_ticket_id)]


class ActionAskCallbackNumber(Action):
    def name(self) -> str:
        return "action_ask_callback_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        lang = reply_language(tracker)
        send(dispatcher, _note(callback_text("ask_number", services().clinic, lang), lang))
        return []


class ValidateCallbackForm(FormValidationAction):
    def name(self) -> str:
        return "validate_callback_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # Nothing to ask when there is no report to attach a number to.
        return domain_slots if tracker.get_slot("last_ticket") else []

    def validate_callback_number(
        self,
        slot_value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        svc = services()
        lang = reply_language(tracker)
        ticket = tracker.get_slot("last_ticket")
        try:
            e164 = save_callback_number(
                svc.database(), ticket, str(slot_value), svc.clinic, True, lang
            )
        except CallbackRefused as refusal:
            send(dispatcher, _note(str(refusal), lang))
            return {"callback_number": None}
        # The number itself stays with the ticket only; the conversation keeps a masked form.
        return {"callback_number": f"{e164[:3]}…{e164[-3:]}"}


class ActionSubmitCallback(Action):
    def name(self) -> str:
        return "action_submit_callback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        clinic = services().clinic
        lang = reply_language(tracker)
        masked = tracker.get_slot("callback_number")
        if tracker.get_slot("last_ticket") and masked:
            send(dispatcher, _note(callback_text("saved", clinic, lang, number=masked), lang))
        else:
            send(dispatcher, _note(callback_text("declined", clinic, lang), lang))
        return [SlotSet("callback_number", None)]
