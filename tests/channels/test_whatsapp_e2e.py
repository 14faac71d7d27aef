"""The real stack (Rasa, action server) answering a signed WhatsApp message at a fake Graph API."""

from __future__ import annotations

import time
import urllib.request
from pathlib import Path

import pytest

from tests.channels.whatsapp_fakes import (
    ACCESS_TOKEN,
    APP_SECRET,
    PHONE,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    FakeGraph,
    encode,
    fake_graph_in_thread,
    notification,
    signed_headers,
    text_message,
)

pytestmark = pytest.mark.e2e


def _wait_for_answer(graph: FakeGraph, timeout: float = 60.0, quiet: float = 3.0) -> None:
    """Until an answer has arrived and nothing more came for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not graph.sent:
        time.sleep(0.2)
    seen = -1
    while time.monotonic() < deadline and seen != len(graph.calls):
        seen = len(graph.calls)
        time.sleep(quiet)


def test_signed_question_gets_exactly_one_cited_answer(tmp_path: Path) -> None:
    from tests.stack import start_stack

    with fake_graph_in_thread() as graph:
        env = {
            "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
            "WHATSAPP_APP_SECRET": APP_SECRET,
            "WHATSAPP_ACCESS_TOKEN": ACCESS_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_GRAPH_URL": graph.url,
        }
        with start_stack(tmp_path, env, with_web=False) as stack:
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
        tracker = stack.var_dir / "rasa_tracker.db"
        stored = tracker.read_bytes() if tracker.exists() else b""
    assert PHONE not in logs and message["id"] not in logs
    assert PHONE.encode() not in stored and message["id"].encode() not in stored
