"""Load and faults: concurrent conversations over REST, socket.io and WhatsApp while parts of the
system are killed, counting what a patient or the clinic would miss.

usage: python bench/load.py [--conversations 10] [--duration 120] [--faults kill_rasa,kill_actions]
                            [--target embedded|cluster] [--think 1.0] [--seed 11] [--json PATH]
                            [--work-dir PATH]

Each of `--conversations` patients holds conversations back to back until `--duration` seconds
have passed and every fault has been injected and recovered from (plus a short tail). A
conversation has one channel and one language (English, Hinglish, Hindi, Arabic), and four
messages: a question, a follow-up question, a symptom report (routine, urgent or emergency, in
turn) and another question, from bench/load_messages.yml (texts from the project's regression
sets, with known outcomes). Each message has its own id. Faults (bench/load_targets.py) are
injected one after another while the conversations run: the first after a warm-up, each next
one once the target serves again after the previous one.

What a client retry is (each resends the *same* message, so it is the same message to the bot):
- REST (a website or app backend): a request that fails (connection refused or reset, a timeout
  of REQUEST_SECONDS, a 5xx) or answers with no message is sent again after 1, 2, 4, 8, 8, … s,
  carrying `metadata.message_id` (bot/channels/message_id.py).
- socket.io (the widget's connection): the client reconnects by itself (socket.io) and asks for
  its session again; a message still waiting for its reply when the connection dropped, or with
  no reply after REPLY_SECONDS, is sent again with the same `metadata.message_id`.
- WhatsApp (Meta's webhook delivery): a webhook POST that fails (no connection, a timeout, any
  status but 200) is delivered again, the same signed body with the same message id, after
  1, 2, 4, 8, 8, … s. After a 200 Meta does not deliver again.
A message is *lost* when no reply arrived within DEADLINE_SECONDS of its first send, retries
included; the WhatsApp channel's apology for a technical problem (what it sends when the bot
failed on a message, which Meta will not deliver again) is not a reply. A reply is *duplicated*
when the same reply arrives twice for one message. The bot's replies to a message are those that
arrive before the conversation's next message (the harness, like a patient, waits for the first
reply and then QUIET_SECONDS of quiet).

Tickets: every report must have exactly one ticket (by conversation and report text) once the
worker has drained the spool; no other message may have one. Notifications: each such ticket
must reach the clinic's webhook exactly once (counted by Idempotency-Key at the receiver).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiohttp
import socketio
import yaml
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.load_targets import (  # noqa: E402
    FAULTS,
    TARGETS,
    Target,
    whatsapp_conversation,
)
from bot.clinic import clinic_config  # noqa: E402
from bot.replies.fill import fill  # noqa: E402
from bot.storage import Database  # noqa: E402
from bot.storage.models import Ticket  # noqa: E402
from bot.triage.escalation import (  # noqa: E402
    reply_languages,
    texts_for,
    turn_failed_reply,
)
from tests.channels import whatsapp_fakes as wa  # noqa: E402
from tests.support.socketio_patient import disconnect_at_once  # noqa: E402

MESSAGES_FILE = ROOT / "bench" / "load_messages.yml"
CHANNELS = ("rest", "socketio", "whatsapp")
LANGUAGES = ("en", "hinglish", "hi", "ar")
SEVERITIES = ("routine", "urgent", "emergency")
REPLY_LANGUAGE = {"hinglish": "en"}  # Hinglish writers are answered in English

REQUEST_SECONDS = 60.0  # one REST request or webhook POST
IN_FLIGHT_SECONDS = 30.0  # how long an unanswered message is taken to be in the bot's hands
REPLY_SECONDS = 30.0  # socket.io: no reply this long: send again (the widget gives up at 30 s)
DEADLINE_SECONDS = 180.0  # from the first send: no reply by then is a lost reply
QUIET_SECONDS = 2.0  # after a reply, how long nothing more must arrive before the next message
BACKOFF = (1.0, 2.0, 4.0, 8.0)  # then 8 s between retries
WARMUP_SECONDS = 10.0  # load before the first fault
GAP_SECONDS = 10.0  # load after a recovery before the next fault
TAIL_SECONDS = 15.0  # load after the last recovery
DRAIN_SECONDS = 120.0  # for the worker to record spooled reports and deliver notifications


# --- what is sent ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """A message with its known outcome: a topic for a question, a severity for a report."""

    text: str
    topic: str | None = None
    severity: str | None = None


@dataclass(frozen=True)
class Catalogue:
    questions: dict[str, list[Sample]]
    follow_ups: dict[str, list[Sample]]
    reports: dict[str, dict[str, Sample]]

    @classmethod
    def load(cls, path: Path = MESSAGES_FILE) -> Catalogue:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))

        def questions(lang: str, key: str) -> list[Sample]:
            return [Sample(q["text"], topic=q["topic"]) for q in data[lang][key]]

        return cls(
            {lang: questions(lang, "questions") for lang in data},
            {lang: questions(lang, "follow_ups") for lang in data},
            {
                lang: {s: Sample(r["text"], severity=s) for s, r in data[lang]["reports"].items()}
                for lang in data
            },
        )

    def script(self, lang: str, severity: str, rng: random.Random) -> list[Sample]:
        """A conversation: a question, a follow-up, a report of `severity`, another question."""
        first, last = rng.sample(self.questions[lang], 2)
        return [first, rng.choice(self.follow_ups[lang]), self.reports[lang][severity], last]


@lru_cache(maxsize=1)
def apologies() -> frozenset[str]:
    """The apology for a turn the assistant could not run, in every reply language."""
    clinic = clinic_config()
    return frozenset(turn_failed_reply(clinic, lang).body for lang in reply_languages())


@dataclass
class Reply:
    text: str
    envelope: dict[str, Any] | None = None

    @property
    def apology(self) -> bool:
        return " ".join(self.text.split()) in apologies()


@dataclass
class Sent:
    """One message of one conversation and what became of it."""

    id: str
    channel: str
    lang: str
    conversation: str  # the conversation id the bot (and a ticket) knows it by
    text: str
    topic: str | None
    severity: str | None
    started: float = 0.0
    attempts: int = 0
    last_attempt: float = 0.0
    accepted: bool = False  # the channel took the message (a 200); WhatsApp then stays silent
    first_reply_seconds: float | None = None
    replies: list[Reply] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        """A reply came that is not an apology for a technical problem."""
        return any(not r.apology for r in self.replies)

    @property
    def apologised(self) -> bool:
        return any(r.apology for r in self.replies)

    @property
    def duplicates(self) -> int:
        counts = Counter(r.text for r in self.replies)
        return sum(n - 1 for n in counts.values())


def emergency_instruction(lang: str) -> str:
    """The first sentence of the emergency instruction in the reply language of `lang`."""
    text = texts_for(REPLY_LANGUAGE.get(lang, lang)).escalation("emergency")["text"]
    return " ".join(fill(text, clinic_config()).split()).split(". ")[0].split("।")[0]


def has_instruction(message: Sent) -> bool:
    wanted = emergency_instruction(message.lang)
    return any(wanted in " ".join(r.text.split()) for r in message.replies)


# --- clients --------------------------------------------------------------------------------


def _backoff(attempt: int) -> float:
    return BACKOFF[min(attempt - 1, len(BACKOFF) - 1)]


class Inbox:
    """Replies arriving for one conversation (socket.io events, WhatsApp Graph API calls)."""

    def __init__(self) -> None:
        self.items: list[Reply] = []
        self.arrived = asyncio.Event()

    def put(self, reply: Reply) -> None:
        self.items.append(reply)
        self.arrived.set()

    async def wait(self, timeout: float) -> bool:
        """True once anything is in the inbox (now or within `timeout` s)."""
        if self.items:
            return True
        self.arrived.clear()
        try:
            await asyncio.wait_for(self.arrived.wait(), timeout)
        except asyncio.TimeoutError:
            return bool(self.items)
        return True

    async def collect(self, into: Sent) -> None:
        """Move the replies into `into` until QUIET_SECONDS pass without another."""
        while True:
            into.replies.extend(self.items)
            self.items.clear()
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), QUIET_SECONDS)
            except asyncio.TimeoutError:
                return


async def send_rest(http: aiohttp.ClientSession, target: Target, message: Sent) -> None:
    payload = {
        "sender": message.conversation,
        "message": message.text,
        "metadata": {"message_id": message.id},
    }
    deadline = message.started + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        message.attempts += 1
        message.last_attempt = time.monotonic()
        try:
            async with http.post(
                target.rest_url,
                json=payload,
                timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS),
            ) as response:
                body = await response.json() if response.status == 200 else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            body = None
        if body:
            message.first_reply_seconds = time.monotonic() - message.started
            message.replies = [
                Reply(m.get("text") or "", (m.get("custom") or {}).get("meso")) for m in body
            ]
            return
        await asyncio.sleep(_backoff(message.attempts))


class SocketConversation:
    """One widget session: a socket.io client that reconnects and asks for its session again."""

    def __init__(self, target: Target, session_id: str) -> None:
        self.target = target
        self.session_id = session_id
        self.inbox = Inbox()
        self.online = asyncio.Event()
        self.dropped = asyncio.Event()
        self.opened = False  # connected once: socket.io reconnects by itself from then on
        self.client = socketio.AsyncClient(reconnection_delay=1, reconnection_delay_max=5)
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("session_confirm", self._on_confirm)
        self.client.on("bot_uttered", self._on_bot)

    async def _on_connect(self) -> None:
        await self.client.emit("session_request", {"session_id": self.session_id})

    async def _on_disconnect(self, *_: Any) -> None:
        self.online.clear()
        self.dropped.set()

    async def _on_confirm(self, *_: Any) -> None:
        self.online.set()

    async def _on_bot(self, data: dict[str, Any]) -> None:
        self.inbox.put(Reply(data.get("text") or "", data.get("meso")))

    async def open(self, deadline: float) -> None:
        """Connect once. From then on, and also when a first attempt's connection dropped
        half-way, socket.io reconnects by itself (`send` waits for it): calling `connect`
        meanwhile would race that reconnection (engine.io's ValueError "Client is not in a
        disconnected state")."""
        attempt = 0
        while not (self.opened or self.client.connected):
            attempt += 1
            try:
                # long-polling, as tests/e2e do: engine.io's websocket client needs a newer
                # aiohttp than Rasa 3.6 allows
                await self.client.connect(self.target.socketio_url, transports=["polling"])
                self.opened = True
            except ValueError:  # socket.io's own reconnection is under way
                self.opened = True
            except socketio.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(_backoff(attempt))

    async def close(self) -> None:
        await disconnect_at_once(self.client)

    async def send(self, message: Sent) -> None:
        deadline = message.started + DEADLINE_SECONDS
        try:
            await self.open(deadline)
        except socketio.exceptions.ConnectionError:
            return
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(self.online.wait(), deadline - time.monotonic())
            except asyncio.TimeoutError:
                return
            self.dropped.clear()
            message.attempts += 1
            message.last_attempt = time.monotonic()
            try:
                await self.client.emit(
                    "user_uttered",
                    {
                        "message": message.text,
                        "session_id": self.session_id,
                        "metadata": {"message_id": message.id},
                    },
                )
            except socketio.exceptions.BadNamespaceError:
                continue  # dropped just now: wait for the reconnection
            if await self._first_reply(deadline):
                message.first_reply_seconds = time.monotonic() - message.started
                await self.inbox.collect(message)
                return

    async def _first_reply(self, deadline: float) -> bool:
        """True when a reply arrives; False when the connection dropped or REPLY_SECONDS passed
        (the message is then sent again)."""
        reply = asyncio.ensure_future(
            self.inbox.wait(min(REPLY_SECONDS, deadline - time.monotonic()))
        )
        dropped = asyncio.ensure_future(self.dropped.wait())
        await asyncio.wait({reply, dropped}, return_when=asyncio.FIRST_COMPLETED)
        dropped.cancel()
        if not reply.done():
            reply.cancel()
            return bool(self.inbox.items)
        return reply.result()


class WhatsAppRouter:
    """Hands each message the fake Graph API receives to the inbox of its phone number."""

    def __init__(self, target: Target) -> None:
        self.graph = target.graph
        self.inboxes: dict[str, Inbox] = {}
        self.seen = len(self.graph.calls)

    def inbox(self, phone: str) -> Inbox:
        return self.inboxes.setdefault(phone, Inbox())

    async def run(self) -> None:
        while True:
            calls = self.graph.calls[self.seen :]
            self.seen += len(calls)
            for call in calls:
                if 200 <= call.status < 300 and call.body.get("to") in self.inboxes:
                    self.inboxes[call.body["to"]].put(Reply(call.text))
            await asyncio.sleep(0.1)


async def send_whatsapp(
    http: aiohttp.ClientSession, target: Target, phone: str, inbox: Inbox, message: Sent
) -> None:
    body = wa.encode(
        wa.notification(
            [wa.text_message(phone, message.text, message.id)], phone_for_contacts=phone
        )
    )
    headers = wa.signed_headers(body, target.whatsapp.app_secret)
    deadline = message.started + DEADLINE_SECONDS
    accepted = False
    while not accepted and time.monotonic() < deadline:
        message.attempts += 1
        message.last_attempt = time.monotonic()
        try:
            async with http.post(
                target.whatsapp_url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=REQUEST_SECONDS),
            ) as response:
                accepted = message.accepted = response.status == 200
        except (aiohttp.ClientError, asyncio.TimeoutError):
            accepted = False
        if not accepted:
            await asyncio.sleep(_backoff(message.attempts))
    if accepted and await inbox.wait(deadline - time.monotonic()):
        message.first_reply_seconds = time.monotonic() - message.started
        await inbox.collect(message)


# --- the run --------------------------------------------------------------------------------


@dataclass
class FaultRecord:
    name: str
    at_seconds: float
    recovered_seconds: float | None = None
    error: str | None = None
    in_flight: int = 0  # messages sent or waiting for their reply while the fault lasted

    def overlaps(self, start: float, end: float) -> bool:
        """True when [start, end] (seconds into the run) meets the fault's outage."""
        until = self.at_seconds + (self.recovered_seconds or 0.0)
        return start <= until and end >= self.at_seconds


@dataclass
class LostMessage:
    """A message that got no reply: where, when, and whether the channel had accepted it."""

    channel: str
    id: str
    text: str
    attempts: int
    sent_at_seconds: float
    accepted: bool
    during: list[str]  # the faults whose outage it met
    apologised: bool = False  # the channel apologised for a technical problem instead

    def __str__(self) -> str:
        accepted = ", accepted by the channel" if self.accepted else ""
        accepted += ", answered only with the technical-problem apology" if self.apologised else ""
        during = f", during {' and '.join(self.during)}" if self.during else ""
        return (
            f"{self.channel} {self.id}: {self.attempts} attempts from "
            f"{self.sent_at_seconds:.0f}s{accepted}{during}: {self.text!r}"
        )


@dataclass
class Run:
    target: Target
    conversations: int
    duration: float
    faults: list[str]
    think: float
    seed: int
    catalogue: Catalogue = field(default_factory=Catalogue.load)
    sent: list[Sent] = field(default_factory=list)
    fault_log: list[FaultRecord] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    started: float = 0.0
    seconds: float = 0.0
    _count: int = 0

    def span(self, message: Sent) -> tuple[float, float]:
        """When `message` was sent and answered, in seconds into the run; for one never
        answered, until IN_FLIGHT_SECONDS after its last attempt."""
        start = message.started - self.started
        if message.first_reply_seconds is not None:
            return start, start + message.first_reply_seconds
        return start, message.last_attempt - self.started + IN_FLIGHT_SECONDS

    def _next_conversation(self) -> tuple[int, str, str, str]:
        """(number, channel, language, severity of its report), cycling so that every
        combination comes up."""
        n = self._count
        self._count += 1
        channel = CHANNELS[n % 3]
        lang = LANGUAGES[(n // 3) % 4]
        severity = SEVERITIES[(n + n // 3) % 3]
        return n, channel, lang, severity

    async def run(self) -> None:
        self.started = time.monotonic()
        faults_done = asyncio.Event()
        router = WhatsAppRouter(self.target)
        async with aiohttp.ClientSession() as http:
            routing = asyncio.ensure_future(router.run())
            injecting = asyncio.ensure_future(self._inject(faults_done))
            patients = [
                asyncio.ensure_future(self._patient(i, http, router, faults_done))
                for i in range(self.conversations)
            ]
            try:
                await asyncio.gather(*patients)
                await injecting
            finally:
                routing.cancel()
                injecting.cancel()
        self.seconds = time.monotonic() - self.started

    def _stop(self, faults_done: asyncio.Event) -> bool:
        elapsed = time.monotonic() - self.started
        return elapsed >= self.duration and faults_done.is_set()

    async def _inject(self, faults_done: asyncio.Event) -> None:
        try:
            await asyncio.sleep(WARMUP_SECONDS)
            for name in self.faults:
                record = FaultRecord(name, time.monotonic() - self.started)
                self.fault_log.append(record)
                print(f"[{record.at_seconds:6.1f}s] fault: {name}", flush=True)
                try:
                    await asyncio.to_thread(FAULTS[name], self.target)
                except Exception as exc:  # a fault that cannot be undone is a finding too
                    record.error = f"{type(exc).__name__}: {exc}"
                    print(f"  {name} failed: {record.error}", flush=True)
                    break
                record.recovered_seconds = time.monotonic() - self.started - record.at_seconds
                print(f"  recovered after {record.recovered_seconds:.1f}s", flush=True)
                await asyncio.sleep(GAP_SECONDS)
            await asyncio.sleep(TAIL_SECONDS)
        finally:
            faults_done.set()

    async def _patient(
        self, slot: int, http: aiohttp.ClientSession, router: WhatsAppRouter, done: asyncio.Event
    ) -> None:
        rng = random.Random(self.seed * 1000 + slot)
        await asyncio.sleep(rng.uniform(0, 2))  # patients do not all start at one instant
        while not self._stop(done):
            number, channel, lang, severity = self._next_conversation()
            await self._conversation(number, channel, lang, severity, rng, http, router)

    async def _conversation(
        self,
        number: int,
        channel: str,
        lang: str,
        severity: str,
        rng: random.Random,
        http: aiohttp.ClientSession,
        router: WhatsAppRouter,
    ) -> None:
        key = f"load-{self.run_id}-{number}"
        phone = f"9199{int(self.run_id, 16) % 10**4:04d}{number:04d}"
        conversation = whatsapp_conversation(self.target, phone) if channel == "whatsapp" else key
        socket = SocketConversation(self.target, key) if channel == "socketio" else None
        inbox = router.inbox(phone) if channel == "whatsapp" else None
        message: Sent | None = None
        try:
            for turn, sample in enumerate(self.catalogue.script(lang, severity, rng)):
                message = Sent(
                    f"{key}-{turn}",
                    channel,
                    lang,
                    conversation,
                    sample.text,
                    sample.topic,
                    sample.severity,
                    started=time.monotonic(),
                )
                if channel == "whatsapp":
                    message.id = wa.wamid_for(phone)
                self.sent.append(message)
                if socket is not None:
                    await socket.send(message)
                elif inbox is not None:
                    await send_whatsapp(http, self.target, phone, inbox, message)
                else:
                    await send_rest(http, self.target, message)
                await asyncio.sleep(rng.uniform(0.5, 1.5) * self.think)
        finally:
            if inbox is not None and message is not None:
                await inbox.collect(message)  # replies arriving late count too
            if socket is not None:
                await socket.close()


# --- counting -------------------------------------------------------------------------------


@dataclass
class TicketCheck:
    expected: int = 0
    lost: int = 0
    duplicated: int = 0
    unexpected: int = 0  # tickets for messages that report nothing
    notified_not_once: int = 0  # tickets delivered to the clinic 0 or 2+ times
    problems: list[str] = field(default_factory=list)


def check_tickets(target: Target, sent: list[Sent], timeout: float = DRAIN_SECONDS) -> TicketCheck:
    """Wait (up to `timeout`) until every report has its ticket and every ticket its one
    notification, then count what is still wrong."""
    db = Database(target.database_url)
    conversations = {m.conversation for m in sent}
    reports = {(m.conversation, m.text): m for m in sent if m.severity}

    def look() -> tuple[TicketCheck, bool]:
        with db.session() as session:
            rows = session.execute(
                select(Ticket.id, Ticket.conversation_id, Ticket.trigger_text).where(
                    Ticket.conversation_id.in_(conversations)
                )
            ).all()
        by_message: dict[tuple[str, str], list[str]] = defaultdict(list)
        for ticket_id, conversation, text in rows:
            by_message[(conversation, text)].append(ticket_id)
        deliveries = Counter(target.receiver.idempotency_keys())
        check = TicketCheck(expected=len(reports))
        for key, message in reports.items():
            tickets = by_message.get(key, [])
            if not tickets:
                check.lost += 1
                check.problems.append(f"no ticket: {message.channel} {message.id} {message.text!r}")
            elif len(tickets) > 1:
                check.duplicated += len(tickets) - 1
                check.problems.append(f"{len(tickets)} tickets: {message.channel} {message.id}")
            for ticket_id in tickets:
                if deliveries[ticket_id] != 1:
                    check.notified_not_once += 1
                    check.problems.append(f"ticket {ticket_id} notified {deliveries[ticket_id]}x")
        for key, tickets in by_message.items():
            if key not in reports:
                check.unexpected += len(tickets)
                check.problems.append(f"unexpected ticket in {key[0]}: {key[1]!r}")
        settled = not check.lost and not check.notified_not_once
        return check, settled

    deadline = time.monotonic() + timeout
    while True:
        check, settled = look()
        if settled or time.monotonic() > deadline:
            return check
        time.sleep(1.0)


@dataclass
class Figures:
    channel: str
    conversations: int
    messages: int
    lost: int
    duplicated: int
    retried: int  # messages sent more than once
    emergencies: int
    emergencies_instructed: int
    p50_ms: float | None
    p95_ms: float | None


def figures(channel: str, sent: list[Sent]) -> Figures:
    waits = sorted(m.first_reply_seconds * 1000 for m in sent if m.first_reply_seconds is not None)
    emergencies = [m for m in sent if m.severity == "emergency"]
    return Figures(
        channel,
        len({m.conversation for m in sent}),
        len(sent),
        sum(not m.answered for m in sent),
        sum(m.duplicates for m in sent),
        sum(m.attempts > 1 for m in sent),
        len(emergencies),
        sum(has_instruction(m) for m in emergencies),
        round(statistics.median(waits)) if waits else None,
        round(waits[int(0.95 * (len(waits) - 1))]) if waits else None,
    )


@dataclass
class Result:
    target: str
    seconds: float
    faults: list[FaultRecord]
    by_channel: list[Figures]
    total: Figures
    tickets: TicketCheck
    lost_messages: list[LostMessage]

    @property
    def clean(self) -> bool:
        t = self.total
        return (
            t.lost == 0
            and t.duplicated == 0
            and t.emergencies_instructed == t.emergencies
            and self.tickets.lost == 0
            and self.tickets.duplicated == 0
            and self.tickets.unexpected == 0
            and self.tickets.notified_not_once == 0
        )

    def table(self) -> str:
        head = ["channel", "convs", "msgs", "lost", "dup", "retried", "emergency instr.", "p50 ms"]
        head += ["p95 ms"]
        rows = [
            [
                f.channel,
                f.conversations,
                f.messages,
                f.lost,
                f.duplicated,
                f.retried,
                f"{f.emergencies_instructed}/{f.emergencies}",
                f.p50_ms,
                f.p95_ms,
            ]
            for f in [*self.by_channel, self.total]
        ]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
        t = self.tickets
        lines.append("")
        lines.append(
            f"tickets: {t.expected} reports, {t.lost} lost, {t.duplicated} duplicated, "
            f"{t.unexpected} unexpected; notifications other than exactly once: "
            f"{t.notified_not_once}"
        )
        for f in self.faults:
            outcome = (
                f"recovered after {f.recovered_seconds:.0f}s"
                if f.recovered_seconds is not None
                else f"FAILED: {f.error}"
            )
            lines.append(
                f"fault {f.name} at {f.at_seconds:.0f}s: {outcome}; "
                f"{f.in_flight} messages sent or answered meanwhile"
            )
        lines.append(f"{self.seconds:.0f}s of load on the {self.target} target")
        lines += [f"lost: {m}" for m in self.lost_messages]
        lines += [f"ticket problem: {p}" for p in t.problems]
        return "\n".join(lines)


async def run_load(
    target: Target,
    conversations: int = 10,
    duration: float = 60.0,
    faults: list[str] | None = None,
    think: float = 1.0,
    seed: int = 11,
) -> Result:
    """Drive the conversations, inject `faults` (default: all the target supports), count."""
    faults = list(target.faults) if faults is None else faults
    unsupported = [f for f in faults if f not in target.faults or f not in FAULTS]
    if unsupported:
        raise ValueError(f"the {target.name} target does not support {unsupported}")
    run = Run(target, conversations, duration, faults, think, seed)
    await run.run()
    tickets = await asyncio.to_thread(check_tickets, target, run.sent)
    by_channel = [figures(c, [m for m in run.sent if m.channel == c]) for c in CHANNELS]
    for record in run.fault_log:
        record.in_flight = sum(record.overlaps(*run.span(m)) for m in run.sent)
    lost = [
        LostMessage(
            m.channel,
            m.id,
            m.text,
            m.attempts,
            m.started - run.started,
            m.accepted,
            [f.name for f in run.fault_log if f.overlaps(*run.span(m))],
            m.apologised,
        )
        for m in run.sent
        if not m.answered
    ]
    return Result(
        target.name,
        run.seconds,
        run.fault_log,
        by_channel,
        figures("all", run.sent),
        tickets,
        lost,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=10, help="concurrent patients")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load at least")
    parser.add_argument(
        "--faults",
        default=None,
        help="comma-separated fault names (default: all the target supports; '' for none)",
    )
    parser.add_argument(
        "--target",
        choices=list(TARGETS),
        default="embedded",
        help="embedded: make run's stack; cluster: make run-cluster's, through nginx",
    )
    parser.add_argument("--think", type=float, default=1.0, help="mean seconds between messages")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--work-dir", type=Path, help="the stack's files and logs, kept (default: a temporary one)"
    )
    args = parser.parse_args(argv)
    faults = None if args.faults is None else [f for f in args.faults.split(",") if f]
    if args.work_dir:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        args.work_dir.chmod(0o755)  # the cluster's PostgreSQL runs as the postgres OS user
    with TARGETS[args.target].running(args.work_dir) as target:
        result = asyncio.run(
            run_load(target, args.conversations, args.duration, faults, args.think, args.seed)
        )
    print(result.table())
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False))
    return 0 if result.clean else 1


if __name__ == "__main__":
    sys.exit(main())
