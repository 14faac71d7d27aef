"""Every Prometheus metric of the assistant, defined once (names start with `meso_`).

Labels are few and bounded: a channel (`CHANNELS`), a reply kind (`REPLY_KINDS`), a severity, a
notification target, an outcome. Never a sender id, a phone number or any text.

Who records what:

- Rasa: meso_messages_total{channel, reply} and meso_message_seconds{channel} (the input channels,
  `observe_turn`), meso_replies_total{channel, kind} (every bot message, `note_reply`) and
  meso_escalations_total{severity} (each message triage escalates, `note_triage`); both hooks are
  in bot/rasa/observe.py;
- action server: meso_ticket_records_total{severity, outcome} (`record_report_promptly`);
- worker: meso_notification_attempts_total{target, outcome} (the outbox), and the gauges read at
  scrape time, meso_outbox_* and meso_spool_depth (bot/observability/collectors.py);
- web server: meso_ticket_ack_seconds{severity} (when a clinician acknowledges; lifecycle.py).

Processes with several Sanic workers (Rasa, the action server) use prometheus-client's
multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` is set per program by bot/launch.py before anything
imports prometheus_client, and `scrape_registry()` then sums every worker's values.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.registry import Collector

from bot.triage.result import MOST_SEVERE_FIRST, SEVERITIES

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# --- label values ---------------------------------------------------------------------------

CHANNELS = ("rest", "socketio", "kiosk", "whatsapp", "other")
KIOSK_SURFACE = "kiosk"  # metadata["surface"] the kiosk sends over socket.io

EMERGENCY_INSTRUCTION = "emergency_instruction"
# Most telling first: a turn's `reply` label is the first of these among its replies.
REPLY_KINDS = (
    "error",  # handling the message raised
    EMERGENCY_INSTRUCTION,  # utter_emergency, Rasa's own response
    *(f"escalation_{severity}" for severity in MOST_SEVERE_FIRST),
    "answer_with_note",  # a knowledge answer carrying its evidence note
    "answer",
    "clarify",
    "out_of_scope",
    "chitchat",
    "other",  # a response without the `meso` envelope (greetings)
    "none",  # nothing was sent
)

# --- metrics --------------------------------------------------------------------------------

MESSAGES = Counter(
    "meso_messages",
    "Patient messages handled, by channel and the most telling kind of reply they got.",
    ["channel", "reply"],
)
MESSAGE_SECONDS = Histogram(
    "meso_message_seconds",
    "Time from a channel receiving a patient message until its replies were sent.",
    ["channel"],
    buckets=(0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
REPLIES = Counter(
    "meso_replies", "Bot messages sent, by channel and reply kind.", ["channel", "kind"]
)
ESCALATIONS = Counter(
    "meso_escalations",
    "Patient messages that symptom triage escalated, by severity.",
    ["severity"],
)
TICKET_RECORDS = Counter(
    "meso_ticket_records",
    "Escalated reports the action server recorded: stored as a ticket, spooled for the worker, "
    "or lost (neither).",
    ["severity", "outcome"],
)
NOTIFICATION_ATTEMPTS = Counter(
    "meso_notification_attempts",
    "Clinician notification sends: delivered, failed and retried later, or failed for good.",
    ["target", "outcome"],
)
TICKET_ACK_SECONDS = Histogram(
    "meso_ticket_ack_seconds",
    "Time from a ticket's creation until a clinician acknowledged it.",
    ["severity"],
    buckets=(60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200),
)

# Gauges read at scrape time by bot/observability/collectors.py (defined there, named here).
OUTBOX_BACKLOG = "meso_outbox_backlog"
OUTBOX_FAILED = "meso_outbox_failed"
OUTBOX_OLDEST_SECONDS = "meso_outbox_oldest_pending_seconds"
SPOOL_DEPTH = "meso_spool_depth"
SCRAPE_ERRORS = "meso_scrape_errors"

COLLECTED_NAMES = (OUTBOX_BACKLOG, OUTBOX_FAILED, OUTBOX_OLDEST_SECONDS, SPOOL_DEPTH, SCRAPE_ERRORS)
INSTRUMENTS = (
    MESSAGES,
    MESSAGE_SECONDS,
    REPLIES,
    ESCALATIONS,
    TICKET_RECORDS,
    NOTIFICATION_ATTEMPTS,
    TICKET_ACK_SECONDS,
)


def exported_series() -> set[str]:
    """Every time-series name the code can export (counters with `_total`, histograms with
    `_bucket`, `_sum` and `_count`, the scrape-time gauges), for checking the dashboard."""
    names: set[str] = set(COLLECTED_NAMES)
    for metric in INSTRUMENTS:
        for family in metric.describe():
            base = family.name
            if family.type == "counter":
                names |= {f"{base}_total", f"{base}_created"}
            elif family.type == "histogram":
                names |= {f"{base}_bucket", f"{base}_sum", f"{base}_count", f"{base}_created"}
            else:
                names.add(base)
    return names


# --- recording ------------------------------------------------------------------------------


def channel_label(input_channel: str | None, metadata: Mapping[str, Any] | None = None) -> str:
    """The `channel` label: the Rasa input channel, the kiosk told apart from the widget."""
    if input_channel == "socketio" and (metadata or {}).get("surface") == KIOSK_SURFACE:
        return "kiosk"
    return input_channel if input_channel in CHANNELS else "other"


def reply_kind(message: Mapping[str, Any]) -> str:
    """The kind of one bot message (a Rasa bot response: `text`, `custom`, `utter_action` …)."""
    envelope = (message.get("custom") or {}).get("meso")
    if not isinstance(envelope, Mapping):
        return "other"
    kind = envelope.get("kind")
    if kind == "escalation":
        from bot.triage.escalation import EMERGENCY_INSTRUCTION_RESPONSE

        if message.get("utter_action") == EMERGENCY_INSTRUCTION_RESPONSE:
            return EMERGENCY_INSTRUCTION
        severity = (envelope.get("escalation") or {}).get("severity")
        return f"escalation_{severity}" if severity in SEVERITIES else "other"
    if kind == "answer":
        return "answer_with_note" if envelope.get("disclaimer") else "answer"
    return kind if kind in ("clarify", "out_of_scope", "chitchat") else "other"


@dataclass
class Turn:
    """One patient message being handled: where it came from and what was sent back."""

    channel: str
    kinds: list[str] = field(default_factory=list)
    failed: bool = False

    @property
    def reply(self) -> str:
        if self.failed:
            return "error"
        sent = set(self.kinds)
        return next((k for k in REPLY_KINDS if k in sent), "none")


_turn: ContextVar[Turn | None] = ContextVar("meso_turn", default=None)


@contextmanager
def observe_turn(channel: str) -> Iterator[Turn]:
    """Count and time one patient message, from its channel receiving it until the body of the
    `with` returns (the replies sent). Replies noted meanwhile (`note_reply`, same task) are
    attributed to it; an exception counts as reply kind `error` and propagates."""
    turn = Turn(channel if channel in CHANNELS else "other")
    token = _turn.set(turn)
    started = time.perf_counter()
    try:
        yield turn
    except BaseException:
        turn.failed = True
        raise
    finally:
        _turn.reset(token)
        MESSAGE_SECONDS.labels(turn.channel).observe(time.perf_counter() - started)
        MESSAGES.labels(turn.channel, turn.reply).inc()


def note_reply(message: Mapping[str, Any], channel: str | None = None) -> str:
    """Count one bot message sent; returns its kind. Outside a turn (a reminder, the HTTP API)
    it counts under `channel` (default "other")."""
    kind = reply_kind(message)
    turn = _turn.get()
    if turn is not None:
        turn.kinds.append(kind)
        channel = turn.channel
    REPLIES.labels(channel if channel in CHANNELS else "other", kind).inc()
    return kind


def note_triage(parse_data: Mapping[str, Any] | None) -> str | None:
    """Count the message as escalated when triage gave it a severity; returns the severity."""
    severity = ((parse_data or {}).get("triage") or {}).get("severity")
    if severity in SEVERITIES:
        ESCALATIONS.labels(severity).inc()
        return str(severity)
    return None


def note_ticket_record(severity: str | None, outcome: str) -> None:
    """An escalated report recorded by the action server: `stored`, `spooled` or `lost`."""
    TICKET_RECORDS.labels(severity if severity in SEVERITIES else "unknown", outcome).inc()


def note_notification_attempt(target: str, outcome: str) -> None:
    """One notification send: `delivered`, `retrying` or `failed` (given up)."""
    NOTIFICATION_ATTEMPTS.labels(target, outcome).inc()


def note_acknowledged(severity: str, waited_seconds: float) -> None:
    TICKET_ACK_SECONDS.labels(severity if severity in SEVERITIES else "unknown").observe(
        max(waited_seconds, 0.0)
    )


# --- exposition -----------------------------------------------------------------------------

_scrape_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Add a collector read at scrape time (a gauge from the database or the disk)."""
    _scrape_collectors.append(collector)
    if not os.environ.get(MULTIPROC_ENV):
        REGISTRY.register(collector)


def scrape_registry() -> CollectorRegistry:
    """What /metrics exposes: the process's registry, or in multiprocess mode a fresh one that
    sums the values every worker process wrote, plus the scrape-time collectors."""
    directory = os.environ.get(MULTIPROC_ENV)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, directory)
    for collector in _scrape_collectors:
        registry.register(collector)
    return registry
