"""The running system's observability: every part answers /health/live, /health/ready and
/metrics, and after a few messages (over REST, the kiosk's socket.io and WhatsApp, one of them a
symptom report that escalates, acknowledged by a clinician in the inbox) each part's counters
have moved by what happened."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import urllib.request
import uuid
from collections import Counter
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.endpoints import LIVE_PATH, METRICS_PATH, READY_PATH
from bot.readiness import wait_until
from bot.serve import LivenessWatch, Stack
from bot.storage import Database
from bot.storage.models import Ticket
from bot.web.clinician.accounts import create_staff_user
from tests.channels.whatsapp_fakes import (
    PHONE,
    FakeGraph,
    encode,
    notification,
    signed_headers,
    text_message,
)
from tests.conftest import envelopes, rest_messages
from tests.stack import WebhookReceiver
from tests.support.socketio_patient import socketio_patient

pytestmark = pytest.mark.e2e

URGENT = "I've got a fever and the injection spots are oozing pus"
PARTS = ("rasa", "actions", "web", "worker")
ANSWERS = ("answer", "answer_with_note")


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def scrape(stack: Stack, part: str) -> Counter[str]:
    """Every sample of `part`'s /metrics, keyed `name{label=value,…}` (labels sorted)."""
    status, content_type, text = get(f"http://127.0.0.1:{stack.port(part)}{METRICS_PATH}")
    assert status == 200 and content_type.startswith("text/plain"), part
    samples: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


def moved(before: Counter[str], after: Counter[str], key: str) -> float:
    return after[key] - before[key]


def test_every_part_is_live_and_ready_on_its_own_port(rasa_stack: Stack) -> None:
    assert set(PARTS) <= set(rasa_stack.ports)
    for part in PARTS:
        base = f"http://127.0.0.1:{rasa_stack.port(part)}"
        status, _, body = get(base + LIVE_PATH)
        assert (status, json.loads(body)["status"]) == (200, "ok"), part
        status, _, body = get(base + READY_PATH)
        assert (status, json.loads(body)["status"]) == (200, "ready"), part
    _, _, body = get(f"{rasa_stack.rasa_url}{READY_PATH}")
    assert json.loads(body)["model_loaded"] is True


async def _kiosk_message(stack: Stack, text: str) -> dict[str, Any]:
    """Send `text` from the kiosk in a new socket.io session; the first reply's data."""
    metadata = {"surface": "kiosk", "lang": None, "page_lang": "en"}
    async with socketio_patient(stack.rasa_url) as patient:
        return await patient.ask(text, metadata)


def _whatsapp_message(stack: Stack, graph: FakeGraph, text: str) -> None:
    sent = len(graph.sent)
    body = encode(notification([text_message(PHONE, text)], phone_for_contacts=PHONE))
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=body, headers=signed_headers(body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    wait_until(lambda: len(graph.sent) > sent, 60, "the WhatsApp answer", interval=0.2)


async def _acknowledge_in_the_inbox(stack: Stack, ticket_id: str) -> None:
    """Sign in to the real web server as a clinician and acknowledge `ticket_id`."""
    user, password = f"nurse{uuid.uuid4().hex[:6]}", "a long enough password 42"
    create_staff_user(Database(stack.database_url), user, password)
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(stack.web_url, cookie_jar=jar) as http:

        async def csrf(path: str) -> str:
            async with http.get(path) as page:
                match = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
                assert match, path
                return match.group(1)

        form = {"csrf_token": await csrf("/clinician/login"), "username": user}
        async with http.post(
            "/clinician/login", data={**form, "password": password}, allow_redirects=False
        ) as response:
            assert response.status == 303
        token = await csrf(f"/clinician/tickets/{ticket_id}")
        async with http.post(
            f"/clinician/tickets/{ticket_id}/acknowledge",
            data={"csrf_token": token},
            allow_redirects=False,
        ) as response:
            assert response.status in (200, 303)
    with Database(stack.database_url).session() as session:
        assert session.get(Ticket, ticket_id).status == "acknowledged"


async def test_each_parts_counters_move_with_the_messages(
    rasa_stack: Stack, whatsapp_graph: FakeGraph, webhook_receiver: WebhookReceiver
) -> None:
    stack = rasa_stack
    before = {part: scrape(stack, part) for part in PARTS}
    sender = f"patient-{uuid.uuid4().hex[:10]}"

    question = envelopes(rest_messages(stack, sender, "how much does mesotherapy cost"))
    assert question[0]["kind"] == "answer"
    report = envelopes(rest_messages(stack, f"{sender}-r", URGENT))
    assert report[0]["escalation"]["severity"] == "urgent"
    ticket_id = report[0]["escalation"]["ticket"]
    kiosk = await _kiosk_message(stack, "/ask_cost")
    assert kiosk["meso"]["kind"] == "answer"
    await asyncio.to_thread(_whatsapp_message, stack, whatsapp_graph, "how many sessions do I need")
    wait_until(lambda: ticket_id in webhook_receiver.idempotency_keys(), 60, "the ticket notified")
    await _acknowledge_in_the_inbox(stack, ticket_id)

    def worker_counted() -> Counter[str] | None:
        after = scrape(stack, "worker")
        key = "meso_notification_attempts_total{outcome=delivered,target=webhook}"
        return after if moved(before["worker"], after, key) >= 1 else None

    after = {part: scrape(stack, part) for part in ("rasa", "actions", "web")}
    after["worker"] = wait_until(worker_counted, 30, "the worker counting the delivery")

    def rasa(key: str) -> float:
        return moved(before["rasa"], after["rasa"], key)

    assert rasa("meso_escalations_total{severity=urgent}") == 1
    assert rasa("meso_messages_total{channel=rest,reply=escalation_urgent}") == 1
    assert rasa("meso_replies_total{channel=rest,kind=escalation_urgent}") == 1
    answers = [f"meso_messages_total{{channel=rest,reply={k}}}" for k in ANSWERS]
    assert sum(rasa(key) for key in answers) == 1
    assert rasa("meso_message_seconds_count{channel=rest}") == 2
    assert rasa("meso_message_seconds_count{channel=kiosk}") == 1
    assert rasa("meso_message_seconds_count{channel=whatsapp}") == 1
    stored = "meso_ticket_records_total{outcome=stored,severity=urgent}"
    assert moved(before["actions"], after["actions"], stored) == 1
    acknowledged = "meso_ticket_ack_seconds_count{severity=urgent}"
    assert moved(before["web"], after["web"], acknowledged) == 1
    assert after["worker"]["meso_scrape_errors{source=outbox}"] == 0
    assert "meso_spool_depth{}" in after["worker"]
    assert "meso_outbox_oldest_pending_seconds{}" in after["worker"]


def test_a_hung_part_is_killed_and_restarted_once_it_stops_answering(rasa_stack: Stack) -> None:
    """What `make run` does every LIVENESS_EVERY s: a part that runs but no longer answers
    /health/live (here: the web server, stopped with SIGSTOP) is killed, and supervisor starts
    it again on its port."""
    stack = rasa_stack
    watch = LivenessWatch(stack, misses=2, timeout=1.0)
    assert watch.check() == []  # every part answers: each is watched from now on
    hung = stack.pid("web")
    os.kill(hung, signal.SIGSTOP)
    try:
        assert watch.check() == []  # one miss is not enough
        assert watch.check() == ["web"]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(hung, signal.SIGCONT)
    wait_until(lambda: stack.pid("web") not in (0, hung), 60, "the web server restarted")
    stack.wait_ready()
    assert get(f"{stack.web_url}{LIVE_PATH}")[0] == 200
    assert watch.check() == []
