"""The cluster profile, started once for the tests that need it: PostgreSQL, Redis, nginx, two
Rasa replicas, two action servers, the web server and the worker on free loopback ports."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cluster.stack import ClusterSettings, ClusterStack


def cluster_settings(work: Path, **overrides: object) -> ClusterSettings:
    """Every port 0 (any free port); one Sanic worker per replica (startup on two cores)."""
    return ClusterSettings.on_free_ports(work, **{"sanic_workers": 1, **overrides})


def work_dir() -> Path:
    """A work directory the `postgres` OS user can reach (pytest's tmp_path is private to us)."""
    path = Path(tempfile.mkdtemp(prefix="meso-cluster-"))
    path.chmod(0o755)
    return path


START_TIMEOUT = 600  # two replicas loading their models on a shared two-core machine


@pytest.fixture(scope="module")
def cluster() -> Iterator[ClusterStack]:
    """The running cluster; its work directory (logs) is kept when it could not start."""
    work = work_dir()
    stack = ClusterStack(cluster_settings(work))
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
