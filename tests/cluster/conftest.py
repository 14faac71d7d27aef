"""The cluster profile, started once per test session for the tests that need it: PostgreSQL,
Redis, nginx, two Rasa replicas, two action servers, the web server and the worker on free
loopback ports, notifying the session's clinic webhook receiver, with the WhatsApp channel
talking to the session's fake Graph API (tests/conftest.py), as the load harness needs."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.load_targets import doubles_env
from bot.cluster.stack import ClusterSettings, ClusterStack
from tests.channels.whatsapp_fakes import FakeGraph
from tests.stack import WebhookReceiver


def cluster_settings(work: Path, **overrides: object) -> ClusterSettings:
    """Every port 0 (any free port); one Sanic worker per replica (startup on two cores)."""
    return ClusterSettings.on_free_ports(work, **{"sanic_workers": 1, **overrides})


def work_dir() -> Path:
    """A work directory the `postgres` OS user can reach (pytest's tmp_path is private to us)."""
    path = Path(tempfile.mkdtemp(prefix="meso-cluster-"))
    path.chmod(0o755)
    return path


START_TIMEOUT = 600  # two replicas loading their models on a shared two-core machine


@pytest.fixture(scope="session")
def cluster(webhook_receiver: WebhookReceiver, whatsapp_graph: FakeGraph) -> Iterator[ClusterStack]:
    """The running cluster; its work directory (logs) is kept when it could not start. A test
    that kills or stops a part leaves it to supervisor, and the next test that needs every part
    waits for it (`ClusterStack.wait_ready`)."""
    work = work_dir()
    env = doubles_env(work, webhook_receiver, whatsapp_graph)
    stack = ClusterStack(cluster_settings(work, extra_env=env))
    try:
        stack.start(timeout=START_TIMEOUT)
    except BaseException:
        print(f"cluster logs in {stack.log_dir}")
        raise
    try:
        yield stack
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
