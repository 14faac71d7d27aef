"""Servers for the browser tests: our web app on a loopback port chosen by the system, and a
controllable fake Rasa socket.io server (fake_rasa.py) in a subprocess."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.readiness import ReservedPort, port_accepts, wait_until
from bot.web.app import create_app
from bot.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[2]
CLINIC_PHONE = "+91 80 4000 1234"  # data/clinic.yml


@contextmanager
def serve(app: web.Application) -> Iterator[str]:
    """Run an aiohttp app on loopback (port 0) in its own thread and event loop; yields its URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app)

    async def start() -> int:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runner.addresses[0][1]

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@contextmanager
def web_server(rasa_url: str, kiosk_idle_seconds: int | None = None) -> Iterator[str]:
    """Our web app (bot.web.app) on a loopback port chosen by the system; yields its URL."""
    settings = WebSettings(
        host="127.0.0.1", port=0, rasa_url=rasa_url, kiosk_idle_seconds=kiosk_idle_seconds
    )
    with serve(create_app(settings)) as url:
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
    """fake_rasa.py in a subprocess, so "server down" is a killed process, as in production.

    Its port is reserved from construction (connections are refused until `start`) and handed to
    the subprocess as a bound socket; a restart after `stop` binds the same port again.
    """

    delay: float = 0.2
    process: subprocess.Popen[bytes] | None = None
    _reserved: ReservedPort = field(default_factory=ReservedPort)

    @property
    def port(self) -> int:
        return self._reserved.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeRasa:
        """Start the server; returns once it accepts connections. Raises RuntimeError if the
        process exits first, TimeoutError if it does not listen within 20 s."""
        script = Path(__file__).with_name("fake_rasa.py")
        sock = self._reserved.take()
        try:
            fd = str(sock.fileno())
            self.process = subprocess.Popen(
                [sys.executable, str(script), "--fd", fd, "--delay", str(self.delay)],
                cwd=ROOT,
                pass_fds=(sock.fileno(),),
            )
        finally:
            sock.close()  # the subprocess has its own copy: killing it closes the port
        process = self.process

        def check() -> None:
            if process.poll() is not None:
                raise RuntimeError(f"fake_rasa.py exited with {process.returncode}")

        wait_until(lambda: port_accepts(self.port), 20, f"fake Rasa on {self.url}", check=check)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None
        self._reserved.close()

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.url}/_events", timeout=5) as response:
            events = json.load(response)
        return [e for e in events if kind is None or e["event"] == kind]
