"""bot/container.py: a container runs its part with the command the stack gives supervisord."""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.container import (
    ContainerConfigError,
    container_command,
    container_stack,
    health_urls,
    main,
    nginx_values,
    prepare,
    redis_lock_store,
)
from bot.paths import PROJECT_ROOT
from bot.serve import FromEnv, Stack, StackSettings

CLUSTER_NGINX = importlib.util.find_spec("bot.cluster.nginx") is not None


def _can_unshare() -> bool:
    if not (shutil.which("unshare") and shutil.which("ip")):
        return False
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    return probe.returncode == 0


UNSHARE = _can_unshare()


def stack_command(name: str, env: dict[str, str]) -> list[str]:
    """Program `name`'s command in the embedded default with `env`, FromEnv filled in."""
    stack = Stack(StackSettings(extra_env=env))
    program = next(p for p in stack.programs() if p.name == name)
    return [env[a.name] if isinstance(a, FromEnv) else a for a in program.command]


@pytest.mark.parametrize("name", ["actions", "rasa", "worker"])
def test_a_part_runs_its_stack_command(name: str) -> None:
    env = {"MESO_ACTION_URL": "http://nginx:5055/webhook"}
    assert container_command(container_stack(env), name, env) == stack_command(name, env)


def test_the_api_token_reaches_rasa_as_in_the_stack() -> None:
    env = {"MESO_RASA_API_TOKEN": "s3cret"}
    command = container_command(container_stack(env), "rasa", env)
    assert command == stack_command("rasa", env)
    assert command[command.index("--auth-token") + 1] == "s3cret"
    assert "--enable-api" not in container_command(container_stack({}), "rasa", {})


def test_the_containers_environment_wins_over_the_stacks_env_defaults() -> None:
    env = {"MESO_RASA_URL": "https://chat.clinic.example"}
    command = container_command(container_stack(env), "web", env)
    stack = stack_command("web", env)
    assert "MESO_RASA_URL=http://localhost:{port:rasa}" in stack
    assert [a for a in command if a.startswith("MESO_RASA_URL")] == []
    assert "MESO_WEB_PORT={port:web}" in command  # not overridden: kept
    i = stack.index("MESO_RASA_URL=http://localhost:{port:rasa}")
    assert command == stack[: i - 1] + stack[i + 1 :]  # that pair of the launcher's options


def test_an_unknown_part_is_named_with_the_choices() -> None:
    with pytest.raises(ContainerConfigError, match="no program 'nginx'; one of: actions, rasa"):
        container_command(container_stack({}), "nginx", {})


def test_rasa_gets_the_stacks_runtime_files_with_the_cluster_endpoints(tmp_path: Path) -> None:
    env = {
        "MESO_VAR_DIR": str(tmp_path),
        "MESO_ACTION_URL": "http://nginx:5055/webhook",
        "MESO_TRACKER_URL": "postgresql://meso:pw@postgres:5432/meso_tracker",
        "MESO_REDIS_URL": "redis://:redis-pw@redis:6379/1",
        "MESO_DATABASE_URL": "postgresql://meso:pw@postgres:5432/meso",
    }
    command, program_env = prepare("rasa", env)
    endpoints = yaml.safe_load((tmp_path / "endpoints.run.yml").read_text())
    assert endpoints["action_endpoint"] == {"url": "http://nginx:5055/webhook"}
    store = endpoints["tracker_store"]
    # `Stack` passes the URL as `host` (or, after the cluster work, `url`, which Rasa hands over)
    assert store.get("url", store.get("host")) == env["MESO_TRACKER_URL"] and "db" not in store
    assert store["type"] == "bot.rasa.tracker_store.SpoolingSQLTrackerStore"
    assert store["spool_dir"] == str(tmp_path / "spool")
    assert endpoints["lock_store"] == {
        "type": "redis",
        "url": "redis",
        "port": 6379,
        "db": 1,
        "password": "redis-pw",
    }
    credentials = yaml.safe_load((tmp_path / "credentials.run.yml").read_text())
    assert "bot.rasa.channels.whatsapp.WhatsAppInput" not in credentials  # no WHATSAPP_* set
    assert command[command.index("--endpoints") + 1] == str(tmp_path / "endpoints.run.yml")
    ports = {p.stem: int(p.read_text()) for p in (tmp_path / "ports").glob("*.port")}
    assert ports.items() >= {"actions": 5055, "rasa": 5005, "web": 8080}.items()
    assert program_env["MESO_DATABASE_URL"] == env["MESO_DATABASE_URL"]
    assert program_env["MESO_VAR_DIR"] == str(tmp_path)


def test_rasa_without_the_action_servers_url_stops_with_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MESO_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("MESO_ACTION_URL", raising=False)
    assert main(["rasa"]) == 2
    assert "MESO_ACTION_URL is not set" in capsys.readouterr().err
    assert not (tmp_path / "endpoints.run.yml").exists()


def test_half_a_whatsapp_configuration_stops_the_part(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MESO_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MESO_ACTION_URL", "http://nginx:5055/webhook")
    monkeypatch.setenv("WHATSAPP_VERIFY_TOKEN", "only-this-one")
    assert main(["rasa"]) == 2
    assert "WHATSAPP_" in capsys.readouterr().err


@pytest.mark.parametrize(
    "url", ["http://redis:6379/1", "redis:///1", "redis://redis:port/1", "redis://redis/x"]
)
def test_a_bad_redis_url_is_refused_with_the_setting(url: str) -> None:
    with pytest.raises(ContainerConfigError, match="MESO_REDIS_URL"):
        redis_lock_store(url)


def test_health_checks_the_ready_path_of_each_serving_part() -> None:
    stack = container_stack({})
    programs = {p.name: p for p in stack.programs()}
    ports = {"actions": 5055, "rasa": 5005, "web": 8080}
    urls = health_urls(stack, list(ports))
    assert urls == [f"http://127.0.0.1:{ports[n]}{programs[n].ready_path}" for n in ports]
    if programs["worker"].ready_path is None:  # serves nothing (before the metrics work)
        assert health_urls(stack, ["worker"]) == []


def test_a_start_records_the_health_url_the_check_then_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"MESO_VAR_DIR": str(tmp_path)}
    for name in ("actions", "web", "worker"):
        prepare(name, env)
        recorded = (tmp_path / "health" / f"{name}.url").read_text()
        assert recorded == "".join(health_urls(container_stack(env), [name]))
    # The check uses what was recorded: a port where nothing listens (bound, not listening).
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}/recorded"
        (tmp_path / "health" / "web.url").write_text(url)
        monkeypatch.setenv("MESO_VAR_DIR", str(tmp_path))
        assert main(["--health", "web"]) == 1
    assert f"not answering: {url}" in capsys.readouterr().err


def test_the_health_check_does_not_load_the_stack(tmp_path: Path) -> None:
    prepare("web", {"MESO_VAR_DIR": str(tmp_path)})
    probe = (
        "import sys, bot.container as c; c.main(['--health', 'web']); print(sorted(sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env={"PYTHONPATH": str(PROJECT_ROOT), "MESO_VAR_DIR": str(tmp_path), "PATH": ""},
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert "'bot.serve'" not in result.stdout and "'bot.container'" in result.stdout


@pytest.mark.skipif(not UNSHARE, reason="needs unshare and ip (a network namespace of our own)")
def test_the_health_check_fails_until_the_part_answers_on_its_port(tmp_path: Path) -> None:
    """In a network namespace of its own (only loopback), so the fixed port 5055 is ours."""
    script = f"""
    set -u
    ip link set lo up
    {sys.executable} -m bot.container --health actions; echo "before=$?"
    {sys.executable} -m http.server 5055 --bind 127.0.0.1 --directory {tmp_path} \
        >/dev/null 2>&1 &
    server=$!
    for i in $(seq 50); do
        {sys.executable} -m bot.container --health actions 2>/dev/null && break
        sleep 0.2
    done
    {sys.executable} -m bot.container --health actions; echo "after=$?"
    kill $server
    """
    result = subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=PROJECT_ROOT,
    )
    assert "before=1" in result.stdout, result.stdout + result.stderr
    assert "not answering: http://127.0.0.1:5055/" in result.stderr
    assert "after=0" in result.stdout, result.stdout + result.stderr


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["rasa", "web"], ["--health"], ["--nginx-config", "/tmp/x", "--replica", "r"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2


def test_nginx_values_put_every_replica_and_action_server_on_its_standard_port() -> None:
    values = nginx_values(["rasa-1", "rasa-2"], ["actions-1", "actions-2"])
    assert values["replicas"] == [
        {"name": "rasa-1", "address": "rasa-1:5005"},
        {"name": "rasa-2", "address": "rasa-2:5005"},
    ]
    assert values["action_servers"] == ["actions-1:5055", "actions-2:5055"]
    assert (values["listen"], values["actions_listen"]) == ("5005", "5055")


@pytest.mark.skipif(not CLUSTER_NGINX, reason="bot/cluster/nginx.py comes with the cluster branch")
def test_the_cluster_template_renders_for_containers_and_nginx_accepts_it(tmp_path: Path) -> None:
    from bot.container import write_nginx_config

    path = write_nginx_config(tmp_path / "nginx.conf", ["rasa-1", "rasa-2"], ["actions-1"])
    text = path.read_text()
    assert "server rasa-1:5005" in text and "server actions-1:5055" in text
    assert "listen 5005;" in text and "listen 5055;" in text
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx not installed (make services)")
    # The service names resolve only inside compose's network: check the rest with localhost.
    local = write_nginx_config(tmp_path / "local.conf", ["localhost"], ["localhost"])
    conf = local.read_text().replace("/tmp", str(tmp_path))
    local.write_text(conf)
    result = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(local), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
