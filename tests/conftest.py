"""Shared fixtures. `rasa_stack` runs the real system once per test session; `browser` is the one
headless Chromium (Debian's package, driven by Playwright) that every browser test shares: two
Playwright sync instances cannot run in one process at once."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from bot.serve import Stack
from tests.stack import start_stack

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with start_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does this)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


REST_MESSAGE_KEYS = {"recipient_id", "text", "buttons", "custom", "image", "attachment"}


def rest_messages(
    stack: Stack, sender: str, message: str, timeout: float = 30
) -> list[dict[str, Any]]:
    """POST one message to the REST channel and return the bot's messages: one per bot response
    (bot/channels/rest.py), so one per `Reply`, each holding its text and its envelope."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        assert response.status == 200
        messages = json.load(response)
    for m in messages:
        assert m["recipient_id"] == sender and set(m) <= REST_MESSAGE_KEYS, m
    return messages


def envelopes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `meso` envelopes of `messages`, in order."""
    return [m["custom"]["meso"] for m in messages if "meso" in (m.get("custom") or {})]
