"""Helpers for the escalation tests: clinic and report builders, a settable clock, and receivers
whose port is reserved (bound, not listening) until they start."""

from __future__ import annotations

import dataclasses
import shutil
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope

from bot.clinic import ClinicConfig, EmailSettings, NotificationSettings, load_clinic
from bot.readiness import ReservedPort
from bot.storage.db import Database
from bot.tickets.report import Report
from bot.triage.result import SymptomMention, TriageResult


def unreachable_db(tmp_path: Path) -> Database:
    """A Database whose file and directory vanished after start-up: every query fails."""
    directory = tmp_path / "gone"
    directory.mkdir()
    database = Database(f"sqlite:///{directory / 'meso.db'}")
    database.dispose()
    shutil.rmtree(directory)
    return database


def make_clinic(
    webhook_url: str | None = None,
    email: EmailSettings | None = None,
    max_attempts: int = 12,
    backoff_seconds: float = 5.0,
    region: str = "IN",
) -> ClinicConfig:
    base = load_clinic()
    return dataclasses.replace(
        base,
        region=region,
        notifications=NotificationSettings(
            webhook_url=webhook_url,
            email=email,
            max_attempts=max_attempts,
            backoff_seconds=backoff_seconds,
        ),
    )


def make_report(
    message_id: str = "msg-1",
    conversation_id: str = "conv-1",
    text: str = "my cheek is swollen and hot since the injections",
    severity: str | None = "urgent",
    transcript: list[dict[str, str]] | None = None,
    channel: str = "rest",
) -> Report:
    mention = SymptomMention(text="swollen", concept="swelling", start=9, end=16, status="affirmed")
    return Report(
        channel=channel,
        conversation_id=conversation_id,
        message_id=message_id,
        text=text,
        triage=TriageResult(severity=severity, mentions=(mention,), rules=("r1",)),  # type: ignore[arg-type]
        transcript=transcript
        if transcript is not None
        else [{"sender": "user", "text": text, "at": "2024-05-01T10:00:00+00:00"}],
    )


class FakeClock:
    """A settable UTC clock for the outbox (backoff without waiting)."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 9, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class WebhookReceiver:
    """A real aiohttp endpoint on 127.0.0.1 that records what it receives; start/stop at will.
    Its port (and url) is fixed from construction; it refuses connections until started."""

    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    _runner: web.AppRunner | None = None
    _reserved: ReservedPort = field(default_factory=ReservedPort)

    @property
    def port(self) -> int:
        return self._reserved.port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/tickets"

    @property
    def idempotency_keys(self) -> list[str]:
        return [r["headers"].get("Idempotency-Key") for r in self.received]

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.received.append(
            {"headers": dict(request.headers), "raw": raw, "json": await request.json()}
        )
        return web.json_response({"ok": self.status < 300}, status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/tickets", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.SockSite(self._runner, self._reserved.take()).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._reserved.close()


class _Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted"


class _SocketController(Controller):
    """aiosmtpd's threaded Controller serving on a given (bound) socket."""

    def __init__(self, handler: Any, sock: socket.socket, **kwargs: Any) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(handler, hostname=host, port=port, **kwargs)
        self._sock = sock

    def _create_server(self) -> Any:
        return self.loop.create_server(self._factory_invoker, sock=self._sock)


@dataclass
class SmtpReceiver:
    """A real aiosmtpd server on 127.0.0.1; start/stop at will. Its port is fixed from
    construction; it refuses connections until started."""

    inbox: _Inbox = field(default_factory=_Inbox)
    _controller: Controller | None = None
    _reserved: ReservedPort = field(default_factory=ReservedPort)

    @property
    def port(self) -> int:
        return self._reserved.port

    def settings(self) -> EmailSettings:
        return EmailSettings(
            host="127.0.0.1",
            port=self.port,
            sender="assistant@clinic.example",
            recipients=("nurse@clinic.example", "doctor@clinic.example"),
        )

    def start(self) -> None:
        self._controller = _SocketController(self.inbox, self._reserved.take())
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._reserved.close()
