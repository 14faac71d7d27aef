"""A patient on Rasa's socket.io channel, as the tests talk to the running system: one client,
one Rasa session, the `bot_uttered` replies of each message.

The client long-polls (engine.io's websocket client needs a newer aiohttp than Rasa 3.6 allows).
It closes abortively (`disconnect_at_once`, which bench/load.py's conversations use too):
python-engineio's ordinary `disconnect()` posts its CLOSE packet, then waits for its pending
long-poll GET, which the server (python-engineio 4.x) never answers once the socket is closed (no
pings on a closed socket; it gives up after ping interval + timeout, 45 s), so the wait ends
only at the client's own request timeout, ping interval + 5 s = 30 s per session."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import socketio

QUIET_SECONDS = 2.0  # a turn has ended when nothing more arrives for this long
REPLY_TIMEOUT = 60.0  # for the first reply to a message
CONFIRM_TIMEOUT = 30.0  # for `session_confirm`
CLOSE_SECONDS = 5.0  # a close takes longer only when it waits for the long-poll again


class SocketioPatient:
    """A socket.io client in one Rasa session, asking for that session again after every
    (re)connect, as the widget does (bot/web/static/chat.js)."""

    def __init__(self, url: str, session_id: str | None = None) -> None:
        self.url = url
        self.session_id = session_id or uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection_delay=0.5, reconnection_delay_max=1)
        self.confirmed = asyncio.Event()
        self.replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        @self.client.on("connect")
        async def on_connect() -> None:
            await self.client.emit("session_request", {"session_id": self.session_id})

        @self.client.on("session_confirm")
        async def on_confirm(data: Any) -> None:
            self.confirmed.set()

        @self.client.on("bot_uttered")
        async def on_bot(data: dict[str, Any]) -> None:
            await self.replies.put(data)

    @property
    def engineio_sid(self) -> str:
        """The engine.io session id (in a cluster, its prefix names the replica holding it)."""
        sid = self.client.eio.sid
        assert sid, "not connected"
        return sid

    async def connect(self) -> None:
        """Connect (long-polling) and wait for Rasa to confirm the session."""
        await self.client.connect(self.url, transports=["polling"])
        await asyncio.wait_for(self.confirmed.wait(), CONFIRM_TIMEOUT)

    async def send(self, text: str, metadata: dict[str, Any] | None = None) -> None:
        """Send `text` as the patient; replies to earlier messages not yet read are dropped."""
        while not self.replies.empty():
            self.replies.get_nowait()
        message: dict[str, Any] = {"message": text, "session_id": self.session_id}
        if metadata is not None:
            message["metadata"] = metadata
        await self.client.emit("user_uttered", message)

    async def ask(self, text: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send `text`; the first reply's `bot_uttered` data."""
        await self.send(text, metadata)
        return await asyncio.wait_for(self.replies.get(), REPLY_TIMEOUT)

    async def turn(self, text: str, metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Send `text`; every reply's `bot_uttered` data, in order, once nothing more has arrived
        for QUIET_SECONDS after the last one."""
        replies = [await self.ask(text, metadata)]
        while True:
            try:
                replies.append(await asyncio.wait_for(self.replies.get(), QUIET_SECONDS))
            except asyncio.TimeoutError:
                return replies

    async def close(self) -> None:
        """Disconnect at once (`disconnect_at_once`) and stop reconnecting."""
        started = time.monotonic()
        await disconnect_at_once(self.client)
        assert time.monotonic() - started < CLOSE_SECONDS, "the disconnect waited"


async def disconnect_at_once(client: socketio.AsyncClient) -> None:
    """Disconnect `client` without the 30 s wait, and stop its reconnection attempts, if any.
    The engine.io CLOSE packet still reaches the server, whose socket.io disconnect handlers run
    for every namespace; only the wait for the unanswerable long-poll is skipped: an abortive
    disconnect closes the HTTP session, which ends that request at once."""
    eio = client.eio
    if eio.state == "connected":
        await eio.disconnect(abort=True)
        if eio.read_loop_task is not None:
            await eio.read_loop_task  # over with the HTTP session: no task left behind
    await client.shutdown()


@contextlib.asynccontextmanager
async def socketio_patient(url: str) -> AsyncIterator[SocketioPatient]:
    """A connected SocketioPatient in a new session, closed on exit."""
    patient = SocketioPatient(url)
    try:
        await patient.connect()
        yield patient
    finally:
        await patient.close()
