"""Servers for the browser tests: our web app on a free loopback port, and a controllable
fake Rasa socket.io server (fake_rasa.py) in a subprocess."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.serve import free_port
from bot.web.app import create_app
from bot.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
CLINIC_PHONE = "+91 80 4000 1234"  # data/clinic.yml


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def serve(app: web.Application, port: int | None = None) -> Iterator[str]:
    """Run an aiohttp app on loopback in its own thread and event loop; yields its URL."""
    port = port or free_port()
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)

    async def start() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@contextmanager
def web_server(rasa_url: str, kiosk_idle_seconds: int | None = None) -> Iterator[str]:
    """Our web app (bot.web.app) on a free loopback port; yields its URL."""
    port = free_port()
    settings = WebSettings(
        host="127.0.0.1", port=port, rasa_url=rasa_url, kiosk_idle_seconds=kiosk_idle_seconds
    )
    with serve(create_app(settings), port) as url:
        yield url


@contextmanager
def other_site(html: str) -> Iterator[str]:
    """Some other website (its own origin, no CSP) serving one page; yields its URL."""
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app.router.add_get("/", page)
    with serve(app) as url:
        yield url.replace("127.0.0.1", "localhost") + "/"


@dataclass
class FakeRasa:
    """fake_rasa.py in a subprocess, so "server down" is a killed process, as in production."""

    port: int = field(default_factory=free_port)
    delay: float = 0.2
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeRasa:
        script = Path(__file__).with_name("fake_rasa.py")
        self.process = subprocess.Popen(
            [sys.executable, str(script), "--port", str(self.port), "--delay", str(self.delay)],
            cwd=ROOT,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/_events", timeout=5) as response:
            events = json.load(response)
        return [e for e in events if kind is None or e["event"] == kind]
