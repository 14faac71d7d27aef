"""What makes Rasa's start shorter happened in the running stack's Rasa (bot/rasa/preload.py,
bot/rasa/startup_gc.py), and the emergency path answers as soon as Rasa is ready."""

from __future__ import annotations

import uuid

import pytest

from bot.serve import Stack
from tests.conftest import envelopes, rest_messages

pytestmark = pytest.mark.e2e

EMERGENCY = "my lips are swelling and I can't breathe"


def test_rasa_started_with_skops_first_and_full_collections_resumed(rasa_stack: Stack) -> None:
    log = rasa_stack.log_path("rasa").read_text()
    assert "bot.rasa.preload: imported skops.io first" in log
    assert "full garbage collections resumed" in log
    messages = rest_messages(rasa_stack, f"test-{uuid.uuid4().hex[:12]}", EMERGENCY)
    assert messages[0]["text"].startswith("Call emergency services now")
    assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
