"""Server-sent events over a real aiohttp server on 127.0.0.1, read the way a browser reads them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer

from bot.web.clinician.live import LiveEvent, stream_events


async def _read_frames(client: TestClient, count: int, headers: dict[str, str]) -> list[str]:
    response = await client.get("/events", headers=headers)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    frames: list[str] = []
    buffer = ""
    while len(frames) < count:
        chunk = await asyncio.wait_for(response.content.readany(), timeout=5)
        assert chunk, "the stream ended early"
        buffer += chunk.decode()
        *complete, buffer = buffer.split("\n\n")
        frames += [f for f in complete if f.startswith("event:")]
    response.close()
    return frames


async def test_events_carry_a_cursor_and_a_reconnect_resumes_after_it() -> None:
    items = ["first", "second", "third <b>"]
    seen_cursors: list[str | None] = []

    async def poll(cursor: str | None) -> tuple[Sequence[LiveEvent], str | None]:
        seen_cursors.append(cursor)
        start = int(cursor or 0)
        return [LiveEvent("item", {"text": t}) for t in items[start:]], str(len(items))

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream_events(request, poll, poll_seconds=0.05)

    app = web.Application()
    app.router.add_get("/events", handler)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        frames = await _read_frames(client, 3, {})
        assert frames[0] == 'event: item\nid: 3\ndata: {"text":"first"}'
        assert frames[2].endswith('{"text":"third <b>"}')
        items.append("fourth")
        resumed = await _read_frames(client, 1, {"Last-Event-ID": "3"})
    assert resumed == ['event: item\nid: 4\ndata: {"text":"fourth"}']
    assert "3" in seen_cursors


async def test_a_quiet_stream_sends_keep_alive_comments() -> None:
    async def poll(cursor: str | None) -> tuple[Sequence[LiveEvent], str | None]:
        return [], cursor

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream_events(request, poll, poll_seconds=0.02, heartbeat_seconds=0.05)

    app = web.Application()
    app.router.add_get("/events", handler)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/events")
        received = ""
        while ": keep-alive" not in received:
            received += (await asyncio.wait_for(response.content.readany(), timeout=5)).decode()
        response.close()
    assert received.startswith("retry: 2000")


async def test_polling_stops_soon_after_the_browser_leaves() -> None:
    """On a server run as production runs it (aiohttp's TestServer cancels handlers when the
    client goes; web.AppRunner by default does not)."""
    polls: list[float] = []

    async def poll(cursor: str | None) -> tuple[Sequence[LiveEvent], str | None]:
        polls.append(asyncio.get_running_loop().time())
        return [], cursor

    async def handler(request: web.Request) -> web.StreamResponse:
        return await stream_events(request, poll, poll_seconds=0.02, heartbeat_seconds=60)

    app = web.Application()
    app.router.add_get("/events", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    try:
        async with ClientSession() as session:
            response = await session.get(f"http://127.0.0.1:{port}/events")
            await asyncio.wait_for(response.content.readany(), timeout=5)
            response.close()
        await asyncio.sleep(0.3)
        after_close = len(polls)
        await asyncio.sleep(0.5)
    finally:
        await runner.cleanup()
    assert after_close > 0
    assert len(polls) == after_close  # no heartbeat write was needed to notice
