"""The real socket.io channel (bot/rasa/channels/socketio.py) emits one `bot_uttered` event per
reply: `{"text", "quick_replies"?, "meso"}`, the text not cut at blank lines."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import socketio

from bot.serve import Stack

pytestmark = pytest.mark.e2e

QUIET_SECONDS = 1.5  # after the last expected event, how long nothing more may arrive


async def _events(stack: Stack, message: str, expected: int) -> list[dict[str, Any]]:
    """Send `message` in a new session; the `bot_uttered` data received."""
    client = socketio.AsyncClient()
    confirmed: asyncio.Event = asyncio.Event()
    received: list[dict[str, Any]] = []
    enough: asyncio.Event = asyncio.Event()

    @client.on("session_confirm")
    async def on_confirm(data: Any) -> None:
        confirmed.set()

    @client.on("bot_uttered")
    async def on_bot(data: dict[str, Any]) -> None:
        received.append(data)
        if len(received) >= expected:
            enough.set()

    session = uuid.uuid4().hex
    # long-polling: engine.io's websocket client needs a newer aiohttp than Rasa 3.6 allows
    await client.connect(stack.rasa_url, transports=["polling"])
    try:
        await client.emit("session_request", {"session_id": session})
        await asyncio.wait_for(confirmed.wait(), 15)
        await client.emit("user_uttered", {"message": message, "session_id": session})
        await asyncio.wait_for(enough.wait(), 60)
        await asyncio.sleep(QUIET_SECONDS)
    finally:
        await client.disconnect()
    return received


async def test_an_answer_is_one_event(rasa_stack: Stack) -> None:
    [event] = await _events(rasa_stack, "/ask_hair_growth", expected=1)
    meso = event["meso"]
    assert (meso["kind"], meso["topic"]) == ("answer", "hair_growth")
    assert f"Evidence note: {meso['disclaimer']}" in event["text"]
    assert event["text"].startswith(meso["body"]) and "Sources: " in event["text"]
    assert set(event) <= {"text", "quick_replies", "meso"}


async def test_an_emergency_is_instruction_then_reference_then_the_notice(
    rasa_stack: Stack,
) -> None:
    instruction, reference, notice = await _events(
        rasa_stack, "my lips are swelling and I can't breathe", expected=3
    )
    assert notice["meso"]["kind"] == "notice"  # the privacy notice, after the emergency
    assert instruction["text"].startswith("Call emergency services now on 112")
    assert instruction["meso"]["escalation"]["severity"] == "emergency"
    assert reference["meso"]["escalation"]["reference"] in reference["text"]
