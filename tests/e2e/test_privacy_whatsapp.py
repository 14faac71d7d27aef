"""Erasure on request over WhatsApp, against the real system and the fake Graph API: the
confirmation arrives as reply buttons, the Yes button erases, and the conversation's dedupe ids
and journal entries go with its messages."""

from __future__ import annotations

import time
import urllib.request
import uuid

from sqlalchemy import select

from bot.channels.whatsapp.privacy import message_ref
from bot.channels.whatsapp.settings import WhatsAppSettings
from bot.privacy.texts import privacy_texts
from bot.readiness import wait_until
from bot.serve import Stack
from bot.storage import Database
from bot.storage.models import InboundJournalEntry, SeenChannelMessage
from tests.channels import whatsapp_fakes as wa
from tests.channels.whatsapp_fakes import (
    FakeGraph,
    encode,
    interactive_reply,
    notification,
    signed_headers,
    text_message,
)
from tests.privacy.helpers import files_containing, tables_containing


def _post(stack: Stack, phone: str, message: dict[str, object]) -> None:
    body = encode(notification([message], phone_for_contacts=phone))
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=body, headers=signed_headers(body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _sent_to(graph: FakeGraph, phone: str) -> list[wa.GraphCall]:
    return [c for c in graph.sent if c.body.get("to") == phone]


def _say(stack: Stack, graph: FakeGraph, phone: str, message: dict[str, object]) -> wa.GraphCall:
    """Post `message` and return the last reply once the replies to it have stopped coming."""
    before = len(_sent_to(graph, phone))
    _post(stack, phone, message)
    wait_until(lambda: len(_sent_to(graph, phone)) > before, 60, "a reply", interval=0.2)
    time.sleep(2)  # a turn's replies arrive together; wait out any second message
    return _sent_to(graph, phone)[-1]


def _rows(stack: Stack, refs: list[str]) -> tuple[int, int]:
    db = Database(stack.database_url)
    try:
        with db.session() as session:
            seen = session.execute(
                select(SeenChannelMessage).where(SeenChannelMessage.message_id.in_(refs))
            ).all()
            journal = session.execute(
                select(InboundJournalEntry).where(InboundJournalEntry.message_id.in_(refs))
            ).all()
            return len(seen), len(journal)
    finally:
        db.dispose()


def test_a_whatsapp_patient_erases_their_conversation_with_the_yes_button(
    rasa_stack: Stack, whatsapp_graph: FakeGraph
) -> None:
    stack, graph = rasa_stack, whatsapp_graph
    phone = "9198" + str(uuid.uuid4().int)[:8]
    secret = f"pangolin{uuid.uuid4().hex[:8]}"
    settings = WhatsAppSettings(wa.VERIFY_TOKEN, wa.APP_SECRET, wa.ACCESS_TOKEN, wa.PHONE_NUMBER_ID)
    question = text_message(phone, f"how much does mesotherapy cost for my {secret}")
    request = text_message(phone, "delete my data")
    refs = [message_ref(str(m["id"]), settings.conversation_key) for m in (question, request)]
    texts = privacy_texts("en")

    _say(stack, graph, phone, question)
    confirm = _say(stack, graph, phone, request)

    assert confirm.body["type"] == "interactive" and confirm.text.startswith(texts["confirm"])
    buttons = confirm.body["interactive"]["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["/affirm", "/deny"]
    assert _rows(stack, refs) == (2, 2)
    tracker_url = f"sqlite:///{stack.var_dir / 'rasa_tracker.db'}"
    assert tables_containing(tracker_url, secret)

    done = _say(stack, graph, phone, interactive_reply(phone, "button_reply", "/affirm", "Yes"))

    assert done.text.startswith(texts["erased"])
    assert _rows(stack, refs) == (0, 0)
    assert tables_containing(tracker_url, secret) == []
    assert tables_containing(stack.database_url, secret) == []
    assert files_containing(stack.var_dir, secret) == []
    assert tables_containing(tracker_url, refs[0]) == []  # nor the message's reference
