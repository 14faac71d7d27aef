"""The WhatsApp side of a handoff without Rasa: the channel keeps a return address only for a
conversation that raised a ticket, and the relay sends a clinician's line through the channel's
own delivery (split at 4096, the template when the window has closed) to the fake Graph API.
The widget side: a line nobody's socket.io server can deliver is recorded as undelivered."""

from __future__ import annotations

from datetime import timedelta

import socketio

from bot.channels.whatsapp.privacy import pseudonym
from bot.clinic import clinic_config
from bot.handoff import store
from bot.rasa.handoff import LEFT_AFTER_SECONDS, Outlets, Relay
from bot.storage.models import utcnow
from tests.channels.whatsapp_fakes import PHONE, Harness, notification, text_message


def _conversation(harness: Harness) -> str:
    return pseudonym(PHONE, harness.settings.conversation_key)


def _relay(harness: Harness) -> Relay:
    outlets = Outlets()
    outlets.whatsapp = harness.channel.delivery
    return Relay(None, harness.database, clinic_config(), outlets)


async def test_only_a_conversation_that_raised_a_ticket_keeps_its_number(harness: Harness) -> None:
    conversation = _conversation(harness)
    await harness.post(notification([text_message(PHONE, "does it regrow hair")]))
    await harness.settle()
    assert store.contact(harness.database, "whatsapp", conversation) is None
    await harness.post(notification([text_message(PHONE, "swelling and a hair question")]))
    await harness.settle()
    assert store.contact(harness.database, "whatsapp", conversation) == PHONE


async def test_the_relay_sends_through_the_channels_delivery(harness: Harness) -> None:
    db, conversation = harness.database, _conversation(harness)
    relay = _relay(harness)
    store.take(db, conversation, None, "whatsapp", "nurse.anna")
    [joined] = store.pending(db)
    # No number kept (no ticket from this number): kept, not delivered, nothing sent.
    assert await relay._send(joined, "Nurse Anna has joined", "en") == (
        store.UNDELIVERED,
        "no WhatsApp number is kept for this conversation",
    )
    assert harness.graph.calls == []

    store.save_contact(db, "whatsapp", conversation, PHONE)
    long_text = "Nurse Anna: " + " ".join(["Keep the area clean and dry."] * 200)
    line = store.send(db, conversation, "nurse.anna", long_text)
    assert await relay._send(line, long_text, "en") == (store.DELIVERED, None)
    pieces = [call.text for call in harness.graph.sent]
    assert len(pieces) == 2 and all(len(p) <= 4096 for p in pieces)
    assert all(call.body["to"] == PHONE for call in harness.graph.sent)

    harness.graph.fail_next(400, code=131047)  # the 24-hour window has closed
    later = store.send(db, conversation, "nurse.anna", "Are you still there?")
    delivery, detail = await relay._send(later, "Nurse Anna: Are you still there?", "en")
    assert delivery == store.TEMPLATE and "template" in (detail or "")
    template = harness.graph.sent[-1].body
    assert template["type"] == "template"
    assert template["template"]["name"] == clinic_config().whatsapp_template


async def test_a_widget_line_waits_for_the_server_holding_the_session_then_is_undelivered(
    harness: Harness,
) -> None:
    db = harness.database
    outlets = Outlets()
    outlets.sio = socketio.AsyncServer(async_mode="asgi")
    relay = Relay(None, db, clinic_config(), outlets)
    store.take(db, "widget-session", None, "socketio", "nurse.anna")
    [line] = store.pending(db)
    assert not relay._mine(line)  # another replica may hold the patient's socket
    assert relay._mine(
        store.ThreadLine(
            **{**line.__dict__, "at": utcnow() - timedelta(seconds=LEFT_AFTER_SECONDS)}
        )
    )
    assert await relay._send(line, "Nurse Anna has joined", "en") == (
        store.UNDELIVERED,
        "the patient has left the chat",
    )
