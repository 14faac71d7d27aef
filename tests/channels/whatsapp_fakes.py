"""Test doubles for the WhatsApp channel: a fake Graph API server, signed webhook payloads,
a controllable bot, and a Sanic app that mounts the channel the way Rasa does."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp import web
from rasa.core.channels.channel import InputChannel, UserMessage, register
from sanic import Sanic

from bot.channels.whatsapp.graph import RetryPolicy
from bot.channels.whatsapp.privacy import sign
from bot.channels.whatsapp.settings import WhatsAppSettings
from bot.evidence.notes import EvidenceNote
from bot.rasa.channels.whatsapp import WhatsAppInput
from bot.replies.reply import Button, Citation, Escalation, Reply
from bot.storage.db import Database
from tests.support.loopback import sanic_served

GRAPH_VERSION = "v25.0"
PHONE_NUMBER_ID = "106540352242922"
APP_SECRET = "test-app-secret"
VERIFY_TOKEN = "test-verify-token"
ACCESS_TOKEN = "test-access-token"


# --- replies the fake bot gives ----------------------------------------------------------------

PHONE = "919812345678"

NOTE = EvidenceNote(
    "limited_hair",
    "Studies of scalp injections are small and mostly uncontrolled, so any benefit for hair "
    "is uncertain.",
)
CITATIONS = (
    Citation(
        "review_2021",
        "A review of injected treatments for hair thinning",
        "sources/review.md",
        "review",
    ),
)


def efficacy_answer() -> Reply:
    return Reply(
        kind="answer",
        body="Scalp mesotherapy is offered for **thinning hair**.\n\n- results vary\n- more visits",
        topic="hair_growth",
        efficacy=True,
        evidence_note=NOTE,
        citations=CITATIONS,
    )


def menu(count: int) -> Reply:
    topics = [
        "cost",
        "sessions",
        "downtime",
        "side_effects",
        "hair_growth",
        "results",
        "pain_during",
    ]
    topics += [f"extra_topic_number_{n}" for n in range(count)]
    buttons = tuple(
        Button(f"Tell me about {topic.replace('_', ' ')}", f"/ask_{topic}")
        for topic in topics[:count]
    )
    return Reply(
        kind="clarify", body="Which of these would you like to know about?", buttons=buttons
    )


def escalation(body: str = "") -> Reply:
    return Reply(
        kind="escalation",
        body=body
        or "What you describe needs a clinician today. Call the clinic on +91 80 4000 1234; in an "
        "emergency call 112. Reference: T-1001.",
        escalation=Escalation("urgent", "T-1001", "112", "+91 80 4000 1234"),
    )


def default_replies(text: str) -> list[Reply]:
    if text.startswith("menu"):
        return [menu(int(text.split()[1]))]
    if text == "swelling and a hair question":
        return [efficacy_answer(), escalation()]  # deliberately in the wrong order
    return [efficacy_answer()]


# --- fake Graph API --------------------------------------------------------------------------


@dataclass
class GraphCall:
    path: str
    authorization: str | None
    body: dict[str, Any]
    status: int

    @property
    def text(self) -> str:
        """All user-visible text of the sent message, for assertions."""
        message = self.body
        if message.get("type") == "text":
            return message["text"]["body"]
        if message.get("type") == "interactive":
            return message["interactive"]["body"]["text"]
        return ""


@dataclass
class FakeGraph:
    """An aiohttp server on 127.0.0.1 answering POST /{version}/{phone_number_id}/messages.

    It records every call; `fail_next` queues error answers that are used before it goes
    back to answering with success.
    """

    calls: list[GraphCall] = field(default_factory=list)
    port: int = 0
    _plan: deque[tuple[int, dict[str, Any]]] = field(default_factory=deque)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{GRAPH_VERSION}"

    @property
    def sent(self) -> list[GraphCall]:
        """Calls that were accepted (2xx)."""
        return [c for c in self.calls if 200 <= c.status < 300]

    def fail_next(self, status: int, code: int | None = None, times: int = 1) -> None:
        error = {"message": f"(#{code}) simulated failure", "type": "OAuthException", "code": code}
        for _ in range(times):
            self._plan.append((status, {"error": error}))

    async def start(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post("/{version}/{phone_number_id}/messages", self._messages)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _messages(self, request: web.Request) -> web.Response:
        body = await request.json()
        status, answer = self._plan.popleft() if self._plan else (200, None)
        self.calls.append(
            GraphCall(request.path, request.headers.get("Authorization"), body, status)
        )
        if answer is None:
            answer = {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                "messages": [{"id": f"wamid.out{len(self.calls)}"}],
            }
        return web.json_response(answer, status=status)


@contextlib.contextmanager
def fake_graph_in_thread() -> Iterator[FakeGraph]:
    """A FakeGraph served from its own thread and event loop (for tests that block)."""
    graph = FakeGraph()
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(graph.start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield graph
    finally:
        asyncio.run_coroutine_threadsafe(graph.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


# --- webhook payloads ------------------------------------------------------------------------


def wamid_for(phone: str) -> str:
    """A message id shaped like WhatsApp's: base64 that contains the sender's number."""
    raw = b"\x18\x0c" + phone.encode() + b"\x15\x02\x00\x12\x18\x14" + os.urandom(10).hex().encode()
    return "wamid." + base64.b64encode(raw).decode()


def text_message(phone: str, body: str, wamid: str | None = None) -> dict[str, Any]:
    return {
        "from": phone,
        "id": wamid or wamid_for(phone),
        "timestamp": str(int(time.time())),
        "type": "text",
        "text": {"body": body},
    }


def interactive_reply(phone: str, kind: str, reply_id: str, title: str) -> dict[str, Any]:
    return {
        "from": phone,
        "id": wamid_for(phone),
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": kind, kind: {"id": reply_id, "title": title}},
    }


def media_message(phone: str, kind: str) -> dict[str, Any]:
    content: dict[str, Any] = {"id": "1234567890", "mime_type": "application/octet-stream"}
    if kind == "location":
        content = {"latitude": 12.97, "longitude": 77.59}
    if kind == "contacts":
        return {"from": phone, "id": wamid_for(phone), "type": kind, kind: [{"name": {}}]}
    return {"from": phone, "id": wamid_for(phone), "type": kind, kind: content}


def notification(
    messages: list[dict[str, Any]] | None = None,
    statuses: list[dict[str, Any]] | None = None,
    phone_for_contacts: str | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
    }
    if phone_for_contacts:
        value["contacts"] = [{"profile": {"name": "Test User"}, "wa_id": phone_for_contacts}]
    if messages is not None:
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
    }


def status(phone: str, state: str, error_code: int | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": wamid_for(phone),
        "status": state,
        "timestamp": str(int(time.time())),
        "recipient_id": phone,
    }
    if error_code is not None:
        item["errors"] = [{"code": error_code, "title": "simulated", "message": "simulated"}]
    return item


def signed_headers(raw: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Hub-Signature-256": sign(raw, secret)}


def encode(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# --- controllable bot ------------------------------------------------------------------------


def as_rasa(message: dict[str, Any]) -> dict[str, Any]:
    """A dispatcher message as Rasa hands it to an output channel (BotUttered.message())."""
    keys = ("text", "buttons", "image", "elements", "quick_replies", "attachment", "custom")
    return {**dict.fromkeys(keys), **message, "timestamp": time.time()}


@dataclass
class FakeBot:
    """Stands in for Rasa's agent: records each UserMessage and answers with `replies(text)`."""

    replies: Callable[[str], list[Reply]]
    delay: float = 0.0
    fail: bool = False
    fail_times: int = 0  # the first calls that raise, before it answers
    received: list[UserMessage] = field(default_factory=list)

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail or len(self.received) <= self.fail_times:
            raise RuntimeError("simulated bot failure")
        for reply in self.replies(message.text or ""):
            # as Rasa does: one response per dispatcher message, i.e. per Reply
            await message.output_channel.send_response(
                message.sender_id, as_rasa(reply.rasa_message())
            )


# --- Sanic app -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serve_channel(channel: InputChannel, bot: FakeBot) -> AsyncIterator[str]:
    """The channel mounted by Rasa's own `register` in a Sanic app served on 127.0.0.1."""
    Sanic.test_mode = True  # several apps in one process (Sanic's TouchUp needs to know)
    app = Sanic(f"wa_test_{uuid.uuid4().hex}")
    app.ctx.agent = SimpleNamespace(handle_message=bot.on_new_message)
    register([channel], app, route="/webhooks/")
    async with sanic_served(app) as url:
        yield f"{url}/webhooks/{channel.url_prefix()}"


# --- harness -------------------------------------------------------------------------------


@dataclass
class Harness:
    """A running WhatsApp channel with its fake Graph API, database and bot."""

    graph: FakeGraph
    database: Database
    bot: FakeBot
    http: aiohttp.ClientSession
    stack: AsyncExitStack
    channel: WhatsAppInput = field(init=False)
    base_url: str = field(init=False)

    @property
    def settings(self) -> WhatsAppSettings:
        return WhatsAppSettings(
            verify_token=VERIFY_TOKEN,
            app_secret=APP_SECRET,
            access_token=ACCESS_TOKEN,
            phone_number_id=PHONE_NUMBER_ID,
            graph_url=self.graph.url,
        )

    async def start_channel(self) -> None:
        """Start (or, called again, restart) the channel: a new instance on the same DB."""
        retry = RetryPolicy(attempts=4, base_delay=0.01, timeout=5.0)
        self.channel = WhatsAppInput(self.settings, database=self.database, retry=retry)
        self.base_url = await self.stack.enter_async_context(serve_channel(self.channel, self.bot))

    async def post(
        self, payload: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> tuple[int, str, float]:
        body = raw if raw is not None else encode(payload)
        started = time.perf_counter()
        async with self.http.post(
            f"{self.base_url}/webhook",
            data=body,
            headers=signed_headers(body) if headers is None else headers,
        ) as response:
            text = await response.text()
        return response.status, text, time.perf_counter() - started

    async def settle(self) -> None:
        await self.channel.drain(timeout=20)
