"""The cluster profile end to end, with real PostgreSQL, Redis and nginx: conversations over REST
and socket.io through nginx reach both replicas and keep their context, a symptom report's ticket
lands in PostgreSQL, and when a replica is SIGKILLed mid-conversation the other one answers the
patient's next message with the conversation intact.

One cluster for the test session (tests/cluster/conftest.py); the kill comes last here, and
test_cluster_load_faults.py, which waits for every part first, runs after this module."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import urllib.request
import uuid
from typing import Any

import pytest
import websockets
from sqlalchemy import create_engine, select, text

from bot.cluster.stack import ClusterStack
from bot.readiness import wait_until
from bot.replies.texts import reply_texts
from bot.storage import Database
from bot.storage.models import Ticket
from tests.conftest import envelopes, rest_messages
from tests.support.socketio_patient import SocketioPatient

# The cluster starts in the first test: two replicas loading on a shared two-core machine.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]

CHOOSE_HINDI = "hindi mein batao please"
FOLLOW_UP = "kitni sittings lagti hain"  # Hinglish: answered in English unless Hindi was chosen
EMERGENCY = "my lips are swelling and I can't breathe"


def _sender() -> str:
    return f"cluster-{uuid.uuid4().hex[:10]}"


def _post(url: str, sender: str, message: str) -> list[dict[str, Any]]:
    """One REST message straight to `url` (a replica's own address)."""
    request = urllib.request.Request(
        f"{url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def _rest_upstreams(stack: ClusterStack) -> list[str]:
    """The replica that answered each REST message, in order, from nginx's access log."""
    by_address = {f"127.0.0.1:{stack.port(name)}": name for name in stack.replicas}
    log = stack.log_path("nginx").read_text(errors="replace")
    found = re.findall(r'"POST /webhooks/rest/webhook" 200 .* upstream="([^"]*)"', log)
    return [by_address.get(address.split(",")[-1].strip(), address) for address in found]


def _answered_by(stack: ClusterStack, before: int, count: int) -> list[str]:
    """The replicas that answered the `count` REST messages after the first `before`; waits for
    supervisor to copy nginx's output into its log."""
    return wait_until(
        lambda: (found := _rest_upstreams(stack)[before:]) and len(found) >= count and found,
        10,
        f"{count} REST requests in {stack.log_path('nginx')}",
    )


def _choose_hindi_and_follow_up(send: Any, sender: str) -> dict[str, Any]:
    """Choose Hindi, then ask a Hinglish follow-up; the follow-up's envelope."""
    [chosen] = envelopes(send(sender, CHOOSE_HINDI))
    assert chosen["lang"] == "hi" and chosen["body"] == reply_texts("hi").language_chosen
    [after] = envelopes(send(sender, FOLLOW_UP))
    return after


def test_rest_through_nginx_reaches_both_replicas_and_keeps_the_conversation(
    cluster: ClusterStack,
) -> None:
    before = len(_rest_upstreams(cluster))
    sender = _sender()
    [first] = envelopes(rest_messages(cluster, sender, "meso ka kitna kharcha hota hai"))
    assert (first["topic"], first["lang"]) == ("cost", "en")
    after = _choose_hindi_and_follow_up(lambda s, m: rest_messages(cluster, s, m), sender)
    assert (after["topic"], after["lang"]) == ("sessions", "hi")
    answered_by = _answered_by(cluster, before, 3)
    assert len(answered_by) == 3
    # Turns of one conversation answered by both replicas: the context is in PostgreSQL.
    assert set(answered_by) == set(cluster.replicas), answered_by
    # and so is the privacy notice having been shown: with the first reply, never again
    assert first["notice"]["lang"] == "hinglish"
    assert "notice" not in after


def test_a_symptom_report_makes_its_ticket_in_postgresql(cluster: ClusterStack) -> None:
    assert cluster.database_url.startswith("postgresql://")
    sender = _sender()
    messages = rest_messages(cluster, sender, EMERGENCY)
    assert messages[0]["text"].startswith("Call emergency services now")
    assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
    with Database(cluster.database_url).session() as session:
        [ticket] = session.execute(select(Ticket).where(Ticket.conversation_id == sender)).scalars()
    assert (ticket.severity, ticket.trigger_text) == ("emergency", EMERGENCY)
    engine = create_engine(cluster.tracker_url)
    with engine.connect() as connection:  # Rasa's tracker store is in PostgreSQL too
        count = connection.execute(
            text("SELECT count(*) FROM events WHERE sender_id = :s"), {"s": sender}
        ).scalar_one()
    engine.dispose()
    assert count > 0


def _replica(patient: SocketioPatient) -> str:
    """The replica holding `patient`'s engine.io session (its session id's prefix)."""
    return patient.engineio_sid.split(".")[0]


async def test_socketio_clients_from_one_address_are_balanced_and_sticky(
    cluster: ClusterStack,
) -> None:
    patients = [SocketioPatient(cluster.public_url), SocketioPatient(cluster.public_url)]
    try:
        for patient in patients:
            await patient.connect()
        # Both from 127.0.0.1, yet on different replicas (a handshake goes to the replica with
        # fewer connections; the first client's long-poll holds one).
        assert {_replica(p) for p in patients} == set(cluster.replicas)
        for patient in patients:
            for _ in range(2):  # every polling request must reach the session's replica
                envelope = (await patient.ask("how much does it cost"))["meso"]
                assert (envelope["kind"], envelope["topic"]) == ("answer", "cost")
            assert patient.client.connected
    finally:
        for patient in patients:
            await patient.close()


async def test_a_websocket_upgrade_reaches_the_sessions_replica(cluster: ClusterStack) -> None:
    """The widget's first choice: engine.io over a websocket, upgraded through nginx."""
    with urllib.request.urlopen(f"{cluster.public_url}/socket.io/?EIO=4&transport=polling") as r:
        handshake = json.loads(r.read().decode()[1:])  # "0{...}": an engine.io open packet
    sid = handshake["sid"]
    assert sid.split(".")[0] in cluster.replicas
    url = cluster.public_url.replace("http://", "ws://")
    async with websockets.connect(f"{url}/socket.io/?EIO=4&transport=websocket&sid={sid}") as ws:
        await ws.send("2probe")
        assert await asyncio.wait_for(ws.recv(), 10) == "3probe"


async def test_a_killed_replica_leaves_its_conversations_to_the_other(
    cluster: ClusterStack,
) -> None:
    # A REST conversation held on rasa-1, and a socket.io patient whose session is on rasa-1.
    rest_sender = _sender()
    [chosen] = envelopes(_post(cluster.replica_url("rasa-1"), rest_sender, CHOOSE_HINDI))
    assert chosen["lang"] == "hi"
    patients = [SocketioPatient(cluster.public_url) for _ in range(2)]
    try:
        for patient in patients:
            await patient.connect()
        [patient] = [p for p in patients if _replica(p) == "rasa-1"]
        assert (await patient.ask(CHOOSE_HINDI))["meso"]["lang"] == "hi"

        patient.confirmed.clear()
        os.kill(cluster.pid("rasa-1"), signal.SIGKILL)

        # REST: nginx finds rasa-1 refusing and passes the message to rasa-2.
        before = len(_rest_upstreams(cluster))
        [after] = envelopes(rest_messages(cluster, rest_sender, FOLLOW_UP))
        assert (after["topic"], after["lang"]) == ("sessions", "hi")
        assert _answered_by(cluster, before, 1) == ["rasa-2"]

        # socket.io: the client reconnects through nginx to rasa-2 and asks for its session.
        await asyncio.wait_for(patient.confirmed.wait(), 60)
        assert _replica(patient) == "rasa-2"
        after = (await patient.ask(FOLLOW_UP))["meso"]
        assert (after["topic"], after["lang"]) == ("sessions", "hi")
    finally:
        for patient in patients:
            await patient.close()
