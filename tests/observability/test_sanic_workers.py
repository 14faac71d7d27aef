"""Several Sanic workers, one set of figures: a real Sanic server with two worker processes,
started through bot/launch.py like Rasa and the action server, sums both workers' counts in
every scrape, whichever worker answers it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.observability.endpoints import METRICS_PATH, READY_PATH
from bot.paths import PROJECT_ROOT
from bot.readiness import endpoint_ready, listening_ports, wait_until

pytestmark = pytest.mark.e2e

HITS = 20


def _escalations(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "meso_escalations_total" and sample.labels == {"severity": "routine"}:
                return sample.value
    return 0.0


def test_two_sanic_workers_are_summed_in_every_scrape(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "MESO_VAR_DIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "bot.launch", str(tmp_path / "ports"), "two", "--sanic"]
    command += ["--", "tests.observability.two_workers_app", "--port", "{port:two}"]
    server = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, start_new_session=True)
    try:
        port = wait_until(
            lambda: next(iter(listening_ports(server.pid)), 0), 60, "the server listening"
        )
        url = f"http://127.0.0.1:{port}"
        # The socket listens before the workers start (bot/launch.py); ready is what counts.
        wait_until(lambda: endpoint_ready(url + READY_PATH), 60, "the server ready")
        pids: list[int] = []  # one connection per request: either worker may take it
        while (len(pids) < HITS or len(set(pids)) < 2) and len(pids) < 50 * HITS:
            with urllib.request.urlopen(f"{url}/hit", timeout=10) as response:
                pids.append(json.load(response)["pid"])
        assert len(set(pids)) == 2, "both workers should have answered"
        scrapes = []
        for _ in range(6):
            with urllib.request.urlopen(url + METRICS_PATH, timeout=10) as response:
                scrapes.append(_escalations(response.read().decode()))
        assert scrapes == [len(pids)] * 6
        assert list((tmp_path / "metrics" / "two").glob("counter_*.db"))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(30)
