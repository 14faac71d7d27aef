"""The real stack (Rasa, action server) answering a signed WhatsApp message at a fake Graph API."""

from __future__ import annotations

import time
import urllib.request

import pytest

from bot.readiness import wait_until
from bot.serve import Stack
from tests.channels.whatsapp_fakes import (
    PHONE,
    FakeGraph,
    encode,
    notification,
    signed_headers,
    text_message,
)

pytestmark = pytest.mark.e2e


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
    # The shared stack's WhatsApp channel sends to `whatsapp_graph` (tests/conftest.py); this is
    # the only test that talks WhatsApp to it, and it looks only at what arrives from now on.
    stack, graph = rasa_stack, whatsapp_graph
    assert stack.whatsapp_enabled
    graph.calls.clear()
    message = text_message(PHONE, "does mesotherapy help hair growth")
    body = encode(notification([message], phone_for_contacts=PHONE))
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook",
        data=body,
        headers=signed_headers(body),
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
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
