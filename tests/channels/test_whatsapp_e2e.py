"""The real stack (Rasa, action server) answering a signed WhatsApp message at a fake Graph API."""

from __future__ import annotations

import os
import signal
import time
import urllib.request

import pytest
from sqlalchemy import select

from bot.channels.whatsapp.privacy import message_ref
from bot.channels.whatsapp.settings import WhatsAppSettings
from bot.readiness import wait_until
from bot.serve import Stack
from bot.storage import Database
from bot.storage.models import InboundJournalEntry
from tests.channels import whatsapp_fakes as wa
from tests.channels.whatsapp_fakes import (
    PHONE,
    FakeGraph,
    encode,
    notification,
    signed_headers,
    text_message,
)

pytestmark = pytest.mark.e2e


def _post(stack: Stack, message: dict[str, object]) -> None:
    body = encode(notification([message], phone_for_contacts=PHONE))
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook",
        data=body,
        headers=signed_headers(body),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def _wait_for_answer(graph: FakeGraph, timeout: float = 60.0, quiet: float = 3.0) -> None:
    """Until an answer has arrived and nothing more came for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    try:
        wait_until(lambda: graph.sent, timeout, "a message sent to the Graph API", interval=0.2)
    except TimeoutError:
        return  # the assertions below say what is missing
    # Quiet period: that nothing more arrives cannot be polled for, only waited out.
    seen = -1
    while time.monotonic() < deadline and seen != len(graph.calls):
        seen = len(graph.calls)
        time.sleep(quiet)


def test_signed_question_gets_exactly_one_cited_answer(
    rasa_stack: Stack, whatsapp_graph: FakeGraph
) -> None:
    # The shared stack's WhatsApp channel sends to `whatsapp_graph` (tests/conftest.py); the
    # tests here look only at what arrives from their start on.
    stack, graph = rasa_stack, whatsapp_graph
    assert stack.whatsapp_enabled
    graph.calls.clear()
    message = text_message(PHONE, "does mesotherapy help hair growth")
    _post(stack, message)
    _wait_for_answer(graph)
    answers = [c for c in graph.sent if "Evidence note" in c.text]
    assert len(answers) == 1, [c.body for c in graph.calls]
    assert "Sources" in answers[0].text
    assert all(c.body["to"] == PHONE for c in graph.calls)
    assert not [c for c in graph.calls if c.status >= 300]
    logs = "".join(p.read_text(errors="replace") for p in stack.log_dir.glob("*.log"))
    # Rasa saved the conversation before the quiet period ended (the tracker store writes each
    # turn when it is handled), so the file holds it while the stack keeps running.
    # The database file with any journal or write-ahead log beside it.
    stored = b"".join(p.read_bytes() for p in stack.var_dir.glob("rasa_tracker.db*"))
    assert PHONE not in logs and message["id"] not in logs
    assert PHONE.encode() not in stored and message["id"].encode() not in stored


def test_message_acknowledged_then_rasa_killed_is_answered_once_after_the_restart(
    rasa_stack: Stack, whatsapp_graph: FakeGraph
) -> None:
    """Meta does not redeliver after a 200: the journal must. Rasa is SIGKILLed right after it
    acknowledged the message; supervisor restarts it, and its journal sweeper replays the
    message once the lease (20 s by default) has run out."""
    stack, graph = rasa_stack, whatsapp_graph
    graph.calls.clear()
    message = text_message(PHONE, "does mesotherapy help hair growth")
    killed = stack.pid("rasa")
    _post(stack, message)
    os.kill(killed, signal.SIGKILL)
    answered_before_kill = len([c for c in graph.sent if "Evidence note" in c.text])
    try:
        wait_until(lambda: stack.pid("rasa") not in (0, killed), 60, "Rasa restarted")
        stack.wait_ready()
        _wait_for_answer(graph, timeout=120.0, quiet=5.0)
    finally:
        stack.wait_ready()  # the next test gets a serving stack whatever happened here
    answers = [c for c in graph.sent if "Evidence note" in c.text]
    assert len(answers) == 1, (answered_before_kill, [c.body for c in graph.calls])
    assert answers[0].body["to"] == PHONE
    settings = WhatsAppSettings(wa.VERIFY_TOKEN, wa.APP_SECRET, wa.ACCESS_TOKEN, wa.PHONE_NUMBER_ID)
    ref = message_ref(message["id"], settings.conversation_key)
    database = Database(stack.database_url)
    try:
        with database.session() as session:
            kept = session.execute(
                select(InboundJournalEntry).where(InboundJournalEntry.message_id == ref)
            ).scalar_one()
    finally:
        database.dispose()
    assert kept.done_at is not None and kept.phone is None and kept.text is None
