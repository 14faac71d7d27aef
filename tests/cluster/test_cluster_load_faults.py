"""The short form of `bench/load.py --target cluster`: eight concurrent conversations over REST,
socket.io and WhatsApp through nginx while a Rasa replica and an action server are SIGKILLed and
PostgreSQL and Redis are restarted, one after another (supervisor restarts what was killed).
Nothing a patient or the clinic needs may be lost or doubled.

Runs on the session's one cluster (tests/cluster/conftest.py), after test_cluster_e2e.py."""

from __future__ import annotations

import pytest

from bench.load import run_load
from bench.load_targets import RECOVERY_SECONDS, ClusterTarget
from bot.cluster.stack import ClusterStack
from tests.channels.whatsapp_fakes import FakeGraph
from tests.stack import WebhookReceiver
from tests.support.load import assert_nothing_lost_or_doubled

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


async def test_no_reply_ticket_or_notification_is_lost_or_doubled_under_the_cluster_faults(
    cluster: ClusterStack, webhook_receiver: WebhookReceiver, whatsapp_graph: FakeGraph
) -> None:
    cluster.wait_ready(RECOVERY_SECONDS)  # an earlier test may have killed a replica
    target = ClusterTarget(cluster, webhook_receiver, whatsapp_graph)
    result = await run_load(target, conversations=8, duration=20.0)
    print(result.table())
    assert [f.name for f in result.faults] == [
        "kill_rasa_replica",
        "kill_action_server",
        "restart_postgresql",
        "restart_redis",
    ]
    assert_nothing_lost_or_doubled(result, rasa_kill="kill_rasa_replica")
