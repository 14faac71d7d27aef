"""Serve a Sanic or aiohttp application on a free 127.0.0.1 port for the length of a test."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator

from aiohttp import web
from sanic import Sanic


@contextlib.asynccontextmanager
async def sanic_served(app: Sanic, backlog: int = 128) -> AsyncIterator[str]:
    """`app` with its startup and shutdown listeners run; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(backlog)
    server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
    assert server is not None
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        await server.before_stop()
        server.close()
        await server.wait_closed()
        await server.after_stop()
        sock.close()


@contextlib.asynccontextmanager
async def aiohttp_served(app: web.Application) -> AsyncIterator[str]:
    """`app` run by an AppRunner; yields its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()
