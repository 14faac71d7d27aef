"""Starting the cluster profile with bad settings: an unreachable external PostgreSQL or Redis is
named with its setting, the start exits non-zero, and nothing is left running. Also the nginx
configuration the profile renders, checked by nginx itself, and the lock store endpoint."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.cluster.nginx import NginxServer
from bot.cluster.stack import ClusterStack, lock_store_endpoint
from bot.paths import PROJECT_ROOT
from bot.readiness import ReservedPort
from tests.cluster.conftest import cluster_settings
from tests.support.servers import postgres_server


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, not listening) for the test's length."""
    reserved = ReservedPort()
    yield reserved.port
    reserved.close()


def _assert_nothing_started(stack: ClusterStack) -> None:
    assert not stack.running and stack.processes == {}
    assert not stack.config_path.exists()  # supervisord was never configured, let alone started
    assert not (stack.settings.work_dir / "postgres").exists()


def test_an_unreachable_external_postgresql_is_named_with_its_setting(
    tmp_path: Path, closed_port: int
) -> None:
    url = f"postgresql://meso:s3cret@127.0.0.1:{closed_port}/meso"
    settings = cluster_settings(tmp_path, extra_env={"MESO_DATABASE_URL": url})
    stack = ClusterStack(settings)
    with pytest.raises(RuntimeError) as raised:
        stack.start()
    message = str(raised.value)
    assert message.startswith(
        f"PostgreSQL at MESO_DATABASE_URL=postgresql://meso:***@127.0.0.1:{closed_port}/meso "
        "is unreachable: "
    )
    assert "Connection refused" in message and "s3cret" not in message
    _assert_nothing_started(stack)


def test_an_unreachable_tracker_store_is_named_with_its_setting(
    tmp_path: Path, closed_port: int
) -> None:
    with postgres_server() as server:  # the project's tables are reachable, the tracker is not
        env = {
            "MESO_DATABASE_URL": server.url(),
            "MESO_TRACKER_URL": f"postgresql://meso@127.0.0.1:{closed_port}/rasa",
        }
        stack = ClusterStack(cluster_settings(tmp_path, extra_env=env))
        assert not stack.own_postgres
        with pytest.raises(
            RuntimeError, match=r"PostgreSQL at MESO_TRACKER_URL=\S+ is unreachable"
        ):
            stack.start()
    _assert_nothing_started(stack)


def test_an_unreachable_redis_is_named_with_its_setting(tmp_path: Path, closed_port: int) -> None:
    url = f"redis://127.0.0.1:{closed_port}/1"
    stack = ClusterStack(cluster_settings(tmp_path, extra_env={"MESO_REDIS_URL": url}))
    with pytest.raises(RuntimeError, match=f"^Redis at MESO_REDIS_URL={url} is unreachable: "):
        stack.start()
    _assert_nothing_started(stack)


def test_a_sqlite_url_is_refused_for_the_cluster(tmp_path: Path) -> None:
    env = {"MESO_DATABASE_URL": f"sqlite:///{tmp_path}/meso.db"}
    stack = ClusterStack(cluster_settings(tmp_path, extra_env=env))
    with pytest.raises(RuntimeError, match="the cluster profile needs a postgresql:// URL"):
        stack.start()
    _assert_nothing_started(stack)


def test_make_run_cluster_exits_non_zero_and_names_the_setting(
    tmp_path: Path, closed_port: int
) -> None:
    """What `make run-cluster` runs, with an external PostgreSQL that is down."""
    url = f"postgresql://meso@127.0.0.1:{closed_port}/meso"
    env = {**os.environ, "MESO_VAR_DIR": str(tmp_path), "MESO_DATABASE_URL": url}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--cluster"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"error: PostgreSQL at MESO_DATABASE_URL={url} is unreachable" in result.stderr
    assert not (tmp_path / "cluster" / "supervisord.conf").exists()


def test_the_rendered_nginx_configuration_passes_nginx_own_check(tmp_path: Path) -> None:
    nginx = NginxServer(tmp_path / "nginx", 18080, 18081)
    config = nginx.write_config(
        {"rasa-1": "127.0.0.1:5006", "rasa-2": "127.0.0.1:5007"},
        ["127.0.0.1:5056", "127.0.0.1:5057"],
    )
    result = subprocess.run(nginx.test_command(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    text = config.read_text()
    assert '"~^rasa-1\\." rasa-1;' in text and '"~^rasa-2\\." rasa-2;' in text
    assert "$request_uri" not in text and "$args" not in text  # no query strings in the log


def test_the_lock_store_endpoint_reads_a_redis_url() -> None:
    assert lock_store_endpoint("redis://:p%40ss@10.0.0.5:6390/3") == {
        "type": "redis",
        "url": "10.0.0.5",
        "port": 6390,
        "db": 3,
        "key_prefix": "meso",
        "use_ssl": False,
        "password": "p@ss",
    }
    with pytest.raises(RuntimeError, match="MESO_REDIS_URL=http://x is not a redis://"):
        lock_store_endpoint("http://x")


def test_the_replicas_endpoints_name_the_tracker_the_lock_store_and_nginx(tmp_path: Path) -> None:
    env = {
        "MESO_DATABASE_URL": "postgresql://meso@db.example:5432/meso",
        "MESO_TRACKER_URL": "postgresql://rasa@db.example:5432/rasa",
    }
    stack = ClusterStack(cluster_settings(tmp_path, extra_env=env))
    assert not stack.own_postgres and stack.own_redis
    stack.write_runtime_files()
    endpoints = yaml.safe_load(stack.write_endpoints().read_text())
    assert endpoints["lock_store"]["type"] == "redis"
    assert endpoints["lock_store"]["port"] == stack.redis.port
    assert endpoints["tracker_store"]["url"] == env["MESO_TRACKER_URL"]
    assert endpoints["action_endpoint"]["url"] == f"{stack.action_url}/webhook"
    assert stack.stack_env()["MESO_DATABASE_URL"] == env["MESO_DATABASE_URL"]
    assert {p.name for p in stack.programs()} == {
        "redis",
        "actions-1",
        "actions-2",
        "rasa-1",
        "rasa-2",
        "nginx",
        "web",
        "worker",
    }
