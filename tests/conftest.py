"""Shared fixtures. `rasa_stack` runs the real system once per test session."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.serve import Stack
from tests.stack import start_stack


@pytest.fixture(scope="session")
def rasa_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with start_stack(tmp_path_factory.mktemp("stack")) as stack:
        yield stack


def rest_messages(
    stack: Stack, sender: str, message: str, timeout: float = 30
) -> list[dict[str, Any]]:
    """POST one message to the REST channel and return the bot's messages."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        assert response.status == 200
        return json.load(response)


def envelopes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m["custom"]["meso"] for m in messages if "meso" in (m.get("custom") or {})]
