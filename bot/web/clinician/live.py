"""Server-sent events for inbox pages that update without reloading (inbox rows, handoff threads).

A page opens `new EventSource(url)`; the handler calls `stream_events(request, poll)`. `poll` gets
the cursor of the last event sent (None at first, or the browser's Last-Event-ID after a
reconnect) and returns the new events and the new cursor, or raises `StreamEnded` to close the
stream. Polling the database keeps every web replica equal: no replica has to be told about a
change another one made.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
# The browser reconnects after this long when the stream drops (milliseconds).
RETRY_MILLISECONDS = 2000


class StreamEnded(Exception):
    """Raised by a `poll` to end the stream (e.g. the session behind it ended)."""


@dataclass(frozen=True)
class LiveEvent:
    """One server-sent event: `name` is what `addEventListener` listens for."""

    name: str
    data: dict[str, Any]


Poll = Callable[[str | None], Awaitable[tuple[Sequence[LiveEvent], str | None]]]


def _frame(event: LiveEvent, cursor: str | None) -> bytes:
    lines = [f"event: {event.name}"]
    if cursor is not None:
        lines.append(f"id: {cursor}")
    lines.append("data: " + json.dumps(event.data, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n\n").encode()


async def stream_events(
    request: web.Request,
    poll: Poll,
    *,
    poll_seconds: float = POLL_SECONDS,
    heartbeat_seconds: float = HEARTBEAT_SECONDS,
) -> web.StreamResponse:
    """Send what `poll` returns until the browser goes away; a comment line keeps proxies open."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-store",
            # nginx must pass each event on at once instead of buffering the response.
            "X-Accel-Buffering": "no",
        }
    )
    await response.prepare(request)
    cursor = request.headers.get("Last-Event-ID") or None
    await response.write(f"retry: {RETRY_MILLISECONDS}\n\n".encode())
    quiet = 0.0
    try:
        while True:
            transport = request.transport
            if transport is None or transport.is_closing():
                break  # the browser left: stop polling now rather than at the next write
            events, cursor = await poll(cursor)
            for event in events:
                await response.write(_frame(event, cursor))
            if events:
                quiet = 0.0
            else:
                quiet += poll_seconds
                if quiet >= heartbeat_seconds:
                    await response.write(b": keep-alive\n\n")
                    quiet = 0.0
            await asyncio.sleep(poll_seconds)
    except ConnectionResetError:
        pass  # the browser left; it reconnects with Last-Event-ID if it wants more
    except StreamEnded:
        pass  # the browser reconnects and is told why (e.g. 401 when signed out)
    return response
