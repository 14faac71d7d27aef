"""The real socket.io channel (bot/rasa/channels/socketio.py) emits one `bot_uttered` event per
reply: `{"text", "quick_replies"?, "meso"}`, the text not cut at blank lines."""

from __future__ import annotations

from typing import Any

import pytest

from bot.serve import Stack
from tests.support.socketio_patient import socketio_patient

pytestmark = pytest.mark.e2e


async def _events(stack: Stack, message: str) -> list[dict[str, Any]]:
    """Send `message` in a new session; the `bot_uttered` data of its turn."""
    async with socketio_patient(stack.rasa_url) as patient:
        return await patient.turn(message)


async def test_an_answer_is_one_event(rasa_stack: Stack) -> None:
    [event] = await _events(rasa_stack, "/ask_hair_growth")
    meso = event["meso"]
    assert (meso["kind"], meso["topic"]) == ("answer", "hair_growth")
    assert f"Evidence note: {meso['disclaimer']}" in event["text"]
    assert event["text"].startswith(meso["body"]) and "Sources: " in event["text"]
    assert set(event) <= {"text", "quick_replies", "meso"}


async def test_an_emergency_is_instruction_then_reference_then_the_notice(
    rasa_stack: Stack,
) -> None:
    instruction, reference, notice = await _events(
        rasa_stack, "my lips are swelling and I can't breathe"
    )
    assert notice["meso"]["kind"] == "notice"  # the privacy notice, after the emergency
    assert instruction["text"].startswith("Call emergency services now on 112")
    assert instruction["meso"]["escalation"]["severity"] == "emergency"
    assert reference["meso"]["escalation"]["reference"] in reference["text"]
