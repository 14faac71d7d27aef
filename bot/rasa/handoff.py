"""Live handoff inside the Rasa server: pausing the assistant while triage keeps running, and
relaying the clinician's lines to the patient's channel.

Pausing uses Rasa's own events. When a clinician's "has joined" notice is sent, the relay adds
`ConversationPaused` to the conversation (under its lock); the hand-back notice adds
`ConversationResumed`. Rasa 3.6 predicts nothing for a paused conversation (the processor's
`_should_handle_message`), but the message is still parsed, so `SymptomTriage` has judged it.
`apply()` lets a paused conversation through when triage escalated the message (report_emergency,
report_symptom, help_request) or the patient restarts: an emergency still gets the emergency
instruction at once (a Rasa response), and the report still makes its ticket. Everything else
(FAQ questions, small talk) gets no answer from the assistant while a clinician holds the chat.
Each patient message of a held conversation, and whatever the assistant said to it, is added
to the handoff thread the clinician's page streams.

The relay polls the handoff table (bot/handoff/store.py) every RELAY_POLL_SECONDS, claims each
pending line (exactly one process sends it), adds it to the conversation as a `BotUttered` and
sends it:
- socket.io (widget): emitted as one `bot_uttered` event to the session's room, by the process
  whose socket.io server has the session (with several replicas, the one nginx pinned it to);
  when no process has had it for LEFT_AFTER_SECONDS (the patient closed the page) the line is
  `undelivered`, and kept;
- WhatsApp: through the channel's `TurnDelivery` (its renderer splits long text as replies are
  split; a closed 24-hour window sends the approved template instead: `template`); the number
  comes from the return address the channel kept when the conversation raised a ticket.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import USER_INTENT_RESTART
from rasa.shared.core.events import (
    BotUttered,
    ConversationPaused,
    ConversationResumed,
    Event,
    SessionStarted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.exc import SQLAlchemyError

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import ENGLISH
from bot.handoff import store
from bot.handoff.texts import patient_text
from bot.language.choice import REPLY_SLOT
from bot.rasa.components.triage import EMERGENCY_INTENT, HELP_INTENT, SYMPTOM_INTENT
from bot.storage.db import Database, get_database
from bot.storage.models import utcnow

logger = logging.getLogger(__name__)

RELAY_POLL_SECONDS = 0.5
RELAY_RETRY_SECONDS = 5.0
LEFT_AFTER_SECONDS = 3.0  # a widget line nobody's socket.io server can deliver: the patient left
WHILE_PAUSED = frozenset({EMERGENCY_INTENT, SYMPTOM_INTENT, HELP_INTENT, USER_INTENT_RESTART})
HANDOFF_KIND = "handoff"
SOCKETIO = "socketio"
WHATSAPP = "whatsapp"

_rasa_run_prediction_loop = MessageProcessor._run_prediction_loop


def should_handle_message(tracker: DialogueStateTracker) -> bool:
    """Rasa's rule (not paused, or a restart), plus: any message triage escalated."""
    if not tracker.is_paused():
        return True
    latest = tracker.latest_message
    return latest is not None and latest.intent.get(INTENT_NAME_KEY) in WHILE_PAUSED


async def _run_prediction_loop(
    self: MessageProcessor, output_channel: Any, tracker: DialogueStateTracker
) -> None:
    # A new session (after the domain's idle minutes) clears Rasa's pause; a clinician who
    # still holds the conversation keeps it. Only a new session reads the database here.
    renewed = not tracker.is_paused() and session_started_this_turn(tracker)
    if renewed and await _held(tracker.sender_id):
        tracker.update(ConversationPaused())
    if not tracker.is_paused():
        await _rasa_run_prediction_loop(self, output_channel, tracker)
        return
    start = len(tracker.events)
    await _rasa_run_prediction_loop(self, output_channel, tracker)
    latest = tracker.latest_message
    said = [e.text for e in list(tracker.events)[start:] if isinstance(e, BotUttered) and e.text]
    await _record(tracker.sender_id, latest.text if latest else None, said)


def session_started_this_turn(tracker: DialogueStateTracker) -> bool:
    """True when a session began with the latest patient message."""
    messages = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            return True
        if isinstance(event, UserUttered):
            messages += 1
            if messages > 1:
                return False
    return False


async def _held(conversation_id: str) -> bool:
    try:
        return await asyncio.to_thread(store.holder, get_database(), conversation_id) is not None
    except SQLAlchemyError:
        logger.exception("handoff: could not tell whether %s is held", conversation_id)
        return False


async def _record(conversation_id: str, patient: str | None, assistant: list[str]) -> None:
    """Add the turn to the handoff thread; a database failure is logged, never fails the turn
    (the patient has had their answer, and the conversation keeps the message)."""

    def write() -> None:
        db = get_database()
        store.record_received(db, conversation_id, store.PATIENT, [patient or ""])
        store.record_received(db, conversation_id, store.ASSISTANT, assistant)

    try:
        await asyncio.to_thread(write)
    except SQLAlchemyError:
        logger.exception("handoff: could not add a message of %s to its thread", conversation_id)


def apply() -> None:
    """Install the paused-conversation rules (idempotent)."""
    MessageProcessor._should_handle_message = staticmethod(should_handle_message)  # type: ignore[method-assign]
    MessageProcessor._run_prediction_loop = _run_prediction_loop  # type: ignore[method-assign]


# --- the relay -------------------------------------------------------------------------------


class Outlets:
    """Where the relay sends: the socket.io server and the WhatsApp delivery, registered by
    their channels when Rasa builds them (either may be missing)."""

    def __init__(self) -> None:
        self.sio: Any = None
        self.namespace: str = "/"
        self.whatsapp: Any = None  # bot.channels.whatsapp.delivery.TurnDelivery


OUTLETS = Outlets()


def envelope(line: store.ThreadLine, text: str, lang: str) -> dict[str, Any]:
    """The `meso` envelope a handoff line travels in: rich clients show `body` as text."""
    return {
        "kind": HANDOFF_KIND,
        "handoff": line.kind,
        "body": text,
        "lang": lang,
        "buttons": [],
        "escalation": None,
        "disclaimer": None,
        "citations": [],
    }


class Relay:
    def __init__(
        self, agent: Any, database: Database, clinic: ClinicConfig, outlets: Outlets = OUTLETS
    ) -> None:
        self.agent = agent
        self.database = database
        self.clinic = clinic
        self.outlets = outlets

    async def run_forever(self, poll_seconds: float = RELAY_POLL_SECONDS) -> None:
        while True:
            try:
                await self.relay_pending()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception(
                    "handoff: relay round failed; trying again in %s s", RELAY_RETRY_SECONDS
                )
                await asyncio.sleep(RELAY_RETRY_SECONDS)  # e.g. the database is down
            await asyncio.sleep(poll_seconds)

    async def relay_pending(self) -> int:
        """Send what is pending and this process may send; returns how many it sent."""
        sent = 0
        for line in await asyncio.to_thread(store.pending, self.database):
            if not self._mine(line):
                continue
            if await asyncio.to_thread(store.claim, self.database, line.id):
                await self.relay(line)
                sent += 1
        return sent

    def _mine(self, line: store.ThreadLine) -> bool:
        """A widget line is sent by the process whose socket.io server has the patient's
        session (with several replicas, only one has it); when none has, after
        LEFT_AFTER_SECONDS any process records that the patient has left."""
        if line.channel != SOCKETIO or self._in_room(line.conversation_id):
            return True
        return (utcnow() - line.at).total_seconds() >= LEFT_AFTER_SECONDS

    def _in_room(self, room: str) -> bool:
        sio = self.outlets.sio
        return sio is not None and bool(
            list(sio.manager.get_participants(self.outlets.namespace, room))
        )

    async def relay(self, line: store.ThreadLine) -> None:
        text, lang = await self._add_to_conversation(line)
        try:
            delivery, detail = await self._send(line, text, lang)
        except Exception:
            logger.exception("handoff: sending line %s failed", line.id)
            delivery, detail = store.UNDELIVERED, "sending failed"
        # A message keeps the words the clinician typed; a notice gets the words the patient got.
        shown = None if line.kind == store.MESSAGE else text
        await asyncio.to_thread(store.finish, self.database, line.id, delivery, detail, shown, lang)

    async def _add_to_conversation(self, line: store.ThreadLine) -> tuple[str, str]:
        """Under the conversation's lock: pause or resume it, and record what the patient is
        sent as a bot utterance; returns that text and its language."""
        processor = self.agent.processor
        async with self.agent.lock_store.lock(line.conversation_id):
            tracker = await processor.get_tracker(line.conversation_id)
            lang = str(tracker.get_slot(REPLY_SLOT) or ENGLISH)
            text = patient_text(line, lang, self.clinic)
            events: list[Event] = []
            if line.kind == store.JOINED:
                events.append(ConversationPaused())
            elif line.kind == store.HANDED_BACK:
                events.append(ConversationResumed())
            events.append(
                BotUttered(
                    text,
                    data={"custom": {"meso": envelope(line, text, lang)}},
                    metadata={"handoff_line": line.id, "clinician": line.author},
                )
            )
            for event in events:
                tracker.update(event)
            await processor.save_tracker(tracker)
        return text, lang

    async def _send(self, line: store.ThreadLine, text: str, lang: str) -> tuple[str, str | None]:
        message = {"text": text, "meso": envelope(line, text, lang)}
        if line.channel == SOCKETIO:
            sio = self.outlets.sio
            if sio is None:
                return store.UNDELIVERED, "the socket.io channel is not running"
            room = line.conversation_id
            if not self._in_room(room):
                return store.UNDELIVERED, "the patient has left the chat"
            await sio.emit("bot_uttered", message, room=room, namespace=self.outlets.namespace)
            return store.DELIVERED, None
        if line.channel == WHATSAPP:
            return await self._send_whatsapp(line, text, lang)
        return store.NO_RETURN_CHANNEL, f"no way to write back on {line.channel}"

    async def _send_whatsapp(
        self, line: store.ThreadLine, text: str, lang: str
    ) -> tuple[str, str | None]:
        from bot.channels.whatsapp.delivery import SENT, TEMPLATE, Recipient

        delivery = self.outlets.whatsapp
        if delivery is None:
            return store.UNDELIVERED, "the WhatsApp channel is not configured"
        phone = await asyncio.to_thread(
            store.contact, self.database, WHATSAPP, line.conversation_id
        )
        if phone is None:
            return store.UNDELIVERED, "no WhatsApp number is kept for this conversation"
        rasa_message = {"text": text, "custom": {"meso": envelope(line, text, lang)}}
        outcome = await delivery.deliver(Recipient(phone, line.conversation_id), [rasa_message])
        if outcome == SENT:
            return store.DELIVERED, None
        if outcome == TEMPLATE:
            return store.TEMPLATE, "the 24-hour window had closed: the approved template was sent"
        return store.UNDELIVERED, "WhatsApp refused the message"


_relay_task: asyncio.Task[None] | None = None


async def start_relay(app: Any, *_: Any) -> None:
    """Start the relay once per process (a Sanic listener of the socket.io channel)."""
    global _relay_task
    agent = getattr(app.ctx, "agent", None)
    if agent is None or (_relay_task is not None and not _relay_task.done()):
        return
    relay = Relay(agent, get_database(), clinic_config())
    _relay_task = asyncio.get_running_loop().create_task(relay.run_forever())


async def stop_relay(*_: Any) -> None:
    global _relay_task
    if _relay_task is not None:
        _relay_task.cancel()
        _relay_task = None
