"""Fixtures for the WhatsApp channel tests: fake Graph API, a real database (SQLite and
PostgreSQL: `database_url` in tests/conftest.py), real Sanic server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import aiohttp
import pytest

from bot.replies.reply import Reply
from bot.storage.db import get_database
from tests.channels.whatsapp_fakes import FakeBot, FakeGraph, Harness, default_replies


@pytest.fixture
async def make_harness(database_url: str) -> AsyncIterator[Callable[..., Any]]:
    """Factory for harnesses; everything it started is stopped after the test."""
    stacks: list[AsyncExitStack] = []

    async def make(replies: Callable[[str], list[Reply]] = default_replies, **bot: Any) -> Harness:
        stack = AsyncExitStack()
        stacks.append(stack)
        graph = FakeGraph()
        await graph.start()
        stack.push_async_callback(graph.stop)
        http = await stack.enter_async_context(aiohttp.ClientSession())
        database = get_database(database_url)
        stack.callback(database.dispose)  # get_database keeps it: give its connections back
        harness = Harness(graph, database, FakeBot(replies, **bot), http, stack)
        await harness.start_channel()
        return harness

    yield make
    for stack in reversed(stacks):
        await stack.aclose()


@pytest.fixture
async def harness(make_harness: Callable[..., Any]) -> Harness:
    return await make_harness()
