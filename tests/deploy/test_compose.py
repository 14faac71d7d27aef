"""deploy/compose.yml (the cluster profile in containers), checked against the code and the
Dockerfile: it cannot run here (no Docker daemon, no compose plugin)."""

from __future__ import annotations

import ast
import re
from urllib.parse import urlsplit

import pytest

from bot.channels.whatsapp.settings import GRAPH_URL_ENV, PSEUDONYM_KEY_ENV, REQUIRED
from bot.container import ACTION_URL_ENV, REDIS_URL_ENV, container_stack, nginx_values
from bot.paths import PROJECT_ROOT
from bot.serve import API_TOKEN_ENV
from tests.deploy.files import (
    COMPOSE,
    compose,
    dockerfile,
    env_of,
    inherited,
    interpolate,
    target_of,
)

SERVICES = compose()["services"]
PROGRAMS = {p.name: p for p in container_stack({}).programs()}
SECRETS = {"POSTGRES_PASSWORD": "pg-secret", "REDIS_PASSWORD": "redis-secret"}  # a deploy/.env
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
CONTRACT = {"MESO_DATABASE_URL", "MESO_TRACKER_URL", "MESO_VAR_DIR"}
# What each program reads beyond the contract (where in the code it is read).
PROGRAM_ENV = {
    "rasa": {
        REDIS_URL_ENV,  # bot/container.py: Rasa's Redis lock store
        ACTION_URL_ENV,  # bot/container.py: the action servers behind nginx
        "MESO_REPLICA",  # bot/rasa/channels/socketio.py (cluster branch): nginx stickiness
        API_TOKEN_ENV,  # bot/serve.py: the HTTP API stays off while it is empty
        *REQUIRED.values(),  # bot/channels/whatsapp/settings.py
        GRAPH_URL_ENV,
        PSEUDONYM_KEY_ENV,
    },
    "web": {"MESO_WEB_HOST", "MESO_RASA_URL"},  # bot/web/settings.py (the port: Stack's --env)
    "actions": set(),
    "worker": {"MESO_WEBHOOK_SECRET"},  # bot/tickets/notify/webhook.py
}


def resolved_env(name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """Service `name`'s environment as compose fills it from deploy/.env (SECRETS)."""
    env = {**SECRETS, **(extra or {})}
    return {key: interpolate(value, env) for key, value in env_of(SERVICES[name]).items()}


def command(name: str) -> list[str]:
    return [str(arg) for arg in SERVICES[name]["command"]]


def program_services() -> dict[str, str]:
    """Service name -> the stack program it runs (`python -m bot.container NAME`)."""
    found = {}
    for name, service in SERVICES.items():
        cmd = [str(a) for a in service.get("command") or []]
        if cmd[:3] == ["python", "-m", "bot.container"] and not cmd[3].startswith("-"):
            found[name] = cmd[3]
    return found


def bot_commands() -> set[str]:
    """The commands of `python -m bot` (the choices of bot/__main__.py's parser)."""
    tree = ast.parse((PROJECT_ROOT / "bot" / "__main__.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "add_argument"
            and node.args
            and getattr(node.args[0], "value", None) == "command"
        ):
            choices = next(k.value for k in node.keywords if k.arg == "choices")
            return set(ast.literal_eval(choices))
    raise AssertionError("no `command` argument in bot/__main__.py")


def test_the_cluster_profile_has_its_parts() -> None:
    runs = sorted(program_services().values())
    assert runs == ["actions", "actions", "rasa", "rasa", "web", "worker"]
    assert {"postgres", "redis", "migrate", "nginx"} <= set(SERVICES)


def test_every_build_names_an_existing_dockerfile_and_target() -> None:
    _, stages = dockerfile()
    for name, service in SERVICES.items():
        build = service.get("build")
        if build is None:
            assert re.fullmatch(r"[\w./-]+:[\w.-]+", service["image"]), name  # pinned tag
            continue
        context = (COMPOSE.parent / build["context"]).resolve()
        assert context == PROJECT_ROOT, name
        assert (context / build["dockerfile"]).is_file(), name
        assert build["target"] in stages, name
        assert service["image"] == f"meso-assistant/{build['target']}", name


def test_mounted_files_and_named_volumes_exist() -> None:
    declared = set(compose().get("volumes") or {})
    for name, service in SERVICES.items():
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0]
            if source.startswith((".", "/")):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source}"
            else:
                assert source in declared, f"{name}: undeclared volume {source}"


def test_depends_on_names_services_with_conditions_they_can_meet() -> None:
    for name, service in SERVICES.items():
        for needed, spec in (service.get("depends_on") or {}).items():
            assert needed in SERVICES, f"{name} depends on unknown {needed}"
            condition = spec["condition"]
            assert condition in CONDITIONS, f"{name}: {condition}"
            other = SERVICES[needed]
            if condition == "service_healthy":
                target = target_of(other)
                has_check = "healthcheck" in other or (
                    target is not None and inherited(target, "HEALTHCHECK") is not None
                )
                assert has_check, f"{name} waits for {needed} to be healthy: it has no check"
            if condition == "service_completed_successfully":
                assert other.get("restart") == "no", f"{needed} is one-shot"


def test_migrations_run_once_before_every_part_that_uses_the_tables() -> None:
    assert command("migrate") == ["python", "-m", "bot", "migrate"]
    for name in program_services():
        assert SERVICES[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }, name
    if "migrate" not in bot_commands():
        pytest.skip("`python -m bot migrate` comes with the migrate branch (not merged here)")


def test_every_bot_command_exists() -> None:
    for name, service in SERVICES.items():
        cmd = [str(a) for a in service.get("command") or []]
        if cmd[:3] == ["python", "-m", "bot"] and cmd[3] != "migrate":
            assert cmd[3] in bot_commands(), name
        if cmd[:3] == ["python", "-m", "bot.container"] and not cmd[3].startswith("-"):
            assert cmd[3] in PROGRAMS, name
            assert target_of(service) == cmd[3], f"{name} runs {cmd[3]} from another target"


def test_every_variable_a_program_reads_is_set() -> None:
    for name, program in program_services().items():
        env = env_of(SERVICES[name])
        missing = (CONTRACT | PROGRAM_ENV[program]) - set(env)
        assert not missing, f"{name} ({program}) lacks {sorted(missing)}"
        assert env["MESO_VAR_DIR"] == "/app/var"
    assert set(env_of(SERVICES["migrate"])) >= CONTRACT


def test_secrets_come_from_the_environment_not_the_file() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    for name, service in SERVICES.items():
        for key, value in env_of(service).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|KEY", key):
                assert value.startswith("${") or value == "", f"{name}: {key} is written in"
    for url in re.findall(r"(?:postgresql|redis)://[^\s]+", text):
        assert re.match(r"\w+://[^:]*:\$\{\w+:\?", url), f"password written into {url}"


def test_the_databases_are_postgresql_and_redis_services() -> None:
    postgres_env = resolved_env("postgres")
    for name in [*program_services(), "migrate"]:
        env = resolved_env(name)
        for key, database in (("MESO_DATABASE_URL", "meso"), ("MESO_TRACKER_URL", "meso_tracker")):
            url = urlsplit(env[key])
            assert (url.scheme, url.hostname, url.port) == ("postgresql", "postgres", 5432), name
            assert (url.username, url.password) == ("meso", postgres_env["POSTGRES_PASSWORD"])
            assert url.path == f"/{database}", f"{name} {key}"
        assert postgres_env["POSTGRES_USER"] == "meso" and postgres_env["POSTGRES_DB"] == "meso"
    initdb = (COMPOSE.parent / "postgres" / "initdb.sql").read_text(encoding="utf-8")
    assert "CREATE DATABASE meso_tracker OWNER meso;" in initdb
    for name, program in program_services().items():
        if program == "rasa":
            redis = urlsplit(resolved_env(name)[REDIS_URL_ENV])
            assert (redis.hostname, redis.port, redis.password) == ("redis", 6379, "redis-secret")


def test_a_missing_password_stops_compose_with_its_name() -> None:
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(env_of(SERVICES["migrate"])["MESO_DATABASE_URL"], {})


def test_nginx_fronts_the_replicas_and_action_servers_of_this_file() -> None:
    parts = program_services()
    replicas = sorted(n for n, p in parts.items() if p == "rasa")
    action_servers = sorted(n for n, p in parts.items() if p == "actions")
    cmd = command("nginx-config")
    assert cmd[:4] == ["python", "-m", "bot.container", "--nginx-config"]
    named = {"--replica": [], "--action-server": []}
    for flag, value in zip(cmd[5::2], cmd[6::2], strict=True):
        named[flag].append(value)
    assert sorted(named["--replica"]) == replicas
    assert sorted(named["--action-server"]) == action_servers
    # the config path written is the one nginx reads, from the shared volume
    nginx_cmd = command("nginx")
    assert nginx_cmd[nginx_cmd.index("-c") + 1] == cmd[4]
    values = nginx_values(replicas, action_servers)
    for name in replicas:
        env = env_of(SERVICES[name])
        assert env["MESO_REPLICA"] == name  # session ids carry the name nginx routes on
        action = urlsplit(env[ACTION_URL_ENV])
        assert (action.hostname, str(action.port), action.path) == (
            "nginx",
            values["actions_listen"],
            "/webhook",
        )
    published = [p.split(":") for p in SERVICES["nginx"]["ports"]]
    assert published == [[values["listen"], values["listen"]]]
    health = SERVICES["nginx"]["healthcheck"]["test"]
    assert f"http://127.0.0.1:{values['listen']}/nginx-health" in health


def test_the_published_ports_are_those_of_make_run() -> None:
    settings = container_stack({}).settings
    assert SERVICES["web"]["ports"] == [f"{settings.web_port}:{settings.web_port}"]
    assert nginx_values(["r"], ["a"])["listen"] == str(settings.rasa_port)
    assert urlsplit(resolved_env("web")["MESO_RASA_URL"]).port == settings.rasa_port
    public = resolved_env("web", {"MESO_PUBLIC_URL": "https://chat.clinic.example"})
    assert public["MESO_RASA_URL"] == "https://chat.clinic.example"


def test_the_spool_is_shared_by_every_part_that_writes_or_drains_it() -> None:
    for name, program in program_services().items():
        if program in ("rasa", "actions", "worker"):
            assert "spool:/app/var/spool" in SERVICES[name]["volumes"], name


def test_every_variable_compose_reads_is_in_the_example_env_file() -> None:
    read = set(re.findall(r"\$\{(\w+)", COMPOSE.read_text(encoding="utf-8")))
    example = (COMPOSE.parent / "env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^(\w+)=", example, re.M))
    assert read == listed
    assert all(line.endswith("=") or line.endswith("=0") for line in example.splitlines()
               if not line.startswith("#"))  # fmt: skip
