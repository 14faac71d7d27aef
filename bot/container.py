"""Run one program of the stack as a container's main process: `python -m bot.container NAME`.

The deployment files (deploy/) run each part in its own container with the very command that
`Stack.programs()` gives supervisord, so how a part is started is written once; the container's
restart policy takes supervisor's place. NAME is a program of the stack: actions, rasa, web or
worker. Ports are the fixed ones of `StackSettings` (action server 5055, Rasa 5005, web 8080).

Before Rasa starts, its runtime credentials and endpoints are written as `Stack` writes them
(tracker store from MESO_TRACKER_URL, WhatsApp only when its variables are set), except that the
action server is another container (its webhook URL is MESO_ACTION_URL) and, with MESO_REDIS_URL
set, Rasa's Redis lock store is added.

`python -m bot.container --nginx-config PATH --replica HOST... --action-server HOST...` renders
the cluster profile's nginx template (deploy/nginx/meso.conf.j2) for containers.

`python -m bot.container --health NAME...` is the containers' health check: exit status 0 when
every named program answers at its ready path on its port (what `Stack.wait_ready` waits for).
A container's start records that URL under MESO_VAR_DIR/health/, so the check, run every few
seconds, reads it instead of importing the stack.

The container's environment wins over a program's `--env` defaults in the stack: behind nginx the
web server's MESO_RASA_URL is the public URL the browser connects to, not localhost.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bot.datafiles import safe_load
from bot.paths import VAR_DIR
from bot.readiness import url_answers

if TYPE_CHECKING:  # bot.serve is imported where needed: the health check stays light
    from bot.serve import Program, Stack

ACTION_URL_ENV = "MESO_ACTION_URL"  # e.g. http://nginx:5055/webhook
REDIS_URL_ENV = "MESO_REDIS_URL"  # redis://[:password@]host:port/db: Rasa's lock store


class ContainerConfigError(ValueError):
    """The program name or a required variable is wrong; the message names it."""


def container_stack(env: Mapping[str, str]) -> Stack:
    """The stack as one container sees it: fixed ports, the work directory and the databases
    from `env` (MESO_VAR_DIR, MESO_DATABASE_URL)."""
    from bot.serve import Stack, StackSettings

    settings = StackSettings(
        work_dir=Path(env["MESO_VAR_DIR"]) if env.get("MESO_VAR_DIR") else VAR_DIR,
        database_url=env.get("MESO_DATABASE_URL") or None,
        extra_env=dict(env),
    )
    return Stack(settings)


def program(stack: Stack, name: str) -> Program:
    programs = {p.name: p for p in stack.programs()}
    if name not in programs:
        raise ContainerConfigError(f"no program {name!r}; one of: {', '.join(programs)}")
    return programs[name]


def _without_overridden_env(args: list[str], env: Mapping[str, str]) -> list[str]:
    """`args` without the launcher's `--env KEY=VALUE` options (before its `--`) whose KEY `env`
    already sets."""
    end = args.index("--") if "--" in args else 0
    kept: list[str] = []
    i = 0
    while i < len(args):
        if i + 1 < end and args[i] == "--env" and args[i + 1].partition("=")[0] in env:
            i += 2
            continue
        kept.append(args[i])
        i += 1
    return kept


def container_command(stack: Stack, name: str, env: Mapping[str, str]) -> list[str]:
    """The argv program `name` runs with in a container: its stack command, with the values of
    FromEnv arguments filled in and `--env` defaults that `env` overrides left out."""
    from bot.serve import FromEnv

    args: list[str] = []
    for arg in program(stack, name).command:
        if isinstance(arg, FromEnv):
            if arg.name not in env:
                raise ContainerConfigError(f"{arg.name} is not set")
            args.append(env[arg.name])
        else:
            args.append(arg)
    return _without_overridden_env(args, env)


def redis_lock_store(url: str) -> dict[str, object]:
    """endpoints.yml's `lock_store` for Rasa's RedisLockStore (host, port, db, password) from a
    redis:// URL. Raises ContainerConfigError for another scheme or a missing host."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or not parts.hostname:
        raise ContainerConfigError(f"{REDIS_URL_ENV} must be redis://[:password@]host:port/db")
    try:
        port, db = parts.port or 6379, int(parts.path.strip("/") or 0)
    except ValueError as exc:
        raise ContainerConfigError(f"{REDIS_URL_ENV}: {exc}") from exc
    store: dict[str, object] = {"type": "redis", "url": parts.hostname, "port": port, "db": db}
    if parts.password:
        store["password"] = parts.password
    return store


def write_rasa_files(stack: Stack, env: Mapping[str, str]) -> None:
    """credentials.run.yml and endpoints.run.yml as `Stack.start` writes them, with the action
    server at MESO_ACTION_URL. Raises ContainerConfigError when it is not set."""
    import yaml

    action_url = env.get(ACTION_URL_ENV)
    if not action_url:
        raise ContainerConfigError(
            f"{ACTION_URL_ENV} is not set (the action server's webhook, e.g. "
            "http://actions-1:5055/webhook)"
        )
    if not stack.settings.model.exists():
        raise ContainerConfigError(f"no Rasa model at {stack.settings.model} (make train)")
    path = stack.write_endpoints()
    endpoints = safe_load(path.read_text(encoding="utf-8"))
    endpoints["action_endpoint"] = {"url": action_url}
    redis_url = env.get(REDIS_URL_ENV)
    if redis_url and "lock_store" not in endpoints:
        endpoints["lock_store"] = redis_lock_store(redis_url)
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), encoding="utf-8")


def prepare(name: str, env: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """Write what program `name` reads at start; return its argv and environment."""
    stack = container_stack(env)
    command = container_command(stack, name, env)
    stack.write_runtime_files()  # port files of the fixed ports, credentials.run.yml
    if name == "rasa":
        write_rasa_files(stack, env)
    record_health_url(stack, name)
    return command, stack.env()


def health_urls(stack: Stack, names: list[str]) -> list[str]:
    """The ready URLs of the named programs (those that serve) on this container's loopback."""
    ports = stack._setting_ports()
    return [
        f"http://127.0.0.1:{ports[p.name]}{p.ready_path}"
        for p in (program(stack, name) for name in names)
        if p.ready_path is not None
    ]


def health_file(var_dir: Path, name: str) -> Path:
    return var_dir / "health" / f"{name}.url"


def record_health_url(stack: Stack, name: str) -> None:
    """Record program `name`'s ready URL (empty: it serves none) for `--health`."""
    path = health_file(stack.settings.work_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(health_urls(stack, [name])), encoding="utf-8")


def check_health(names: list[str], env: Mapping[str, str]) -> list[str]:
    """The ready URLs of the named programs that do not answer (empty: all healthy). A URL
    recorded at the container's start is used as is; without one it comes from the stack."""
    var_dir = Path(env["MESO_VAR_DIR"]) if env.get("MESO_VAR_DIR") else VAR_DIR
    urls: list[str] = []
    for name in names:
        recorded = health_file(var_dir, name)
        if recorded.exists():
            urls += [url for url in [recorded.read_text(encoding="utf-8").strip()] if url]
        else:
            urls += health_urls(container_stack(env), [name])
    return [url for url in urls if not url_answers(url)]


def nginx_values(replicas: list[str], action_servers: list[str]) -> dict[str, object]:
    """The values of deploy/nginx/meso.conf.j2 for containers: nginx takes Rasa's port for the
    public entry and the action server's for the replicas' internal one (MESO_ACTION_URL), and
    each replica and action server is a host of that name listening on its standard port."""
    from bot.serve import StackSettings

    settings = StackSettings()
    return {
        "listen": str(settings.rasa_port),
        "actions_listen": str(settings.action_port),
        "replicas": [
            {"name": name, "address": f"{name}:{settings.rasa_port}"} for name in replicas
        ],
        "action_servers": [f"{host}:{settings.action_port}" for host in action_servers],
        "runtime_dir": "/tmp",
        "error_log": "stderr",
        "access_log": "/dev/stdout",
    }


def write_nginx_config(path: Path, replicas: list[str], action_servers: list[str]) -> Path:
    """Render the cluster profile's nginx template (bot/cluster/nginx.py) into `path`."""
    from bot.cluster.nginx import render

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(**nginx_values(replicas, action_servers)), encoding="utf-8")
    path.chmod(0o644)
    return path


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot.container", description=__doc__)
    parser.add_argument("name", nargs="*", help="actions, rasa, web or worker")
    parser.add_argument("--health", action="store_true", help="check the named programs")
    parser.add_argument("--nginx-config", type=Path, metavar="PATH", help="render nginx's config")
    parser.add_argument("--replica", action="append", default=[], help="a Rasa replica's host")
    parser.add_argument("--action-server", action="append", default=[], help="an action server")
    return parser


def main(argv: list[str] | None = None) -> int:
    from bot.channels.whatsapp.settings import WhatsAppConfigError

    parser = _parser()
    args = parser.parse_args(argv)
    if args.nginx_config is not None:
        if not args.replica or not args.action_server:
            parser.error("--nginx-config needs at least one --replica and one --action-server")
        path = write_nginx_config(args.nginx_config, args.replica, args.action_server)
        print(f"nginx configuration for {', '.join(args.replica)} written to {path}")
        return 0
    try:
        if args.health:
            if not args.name:
                parser.error("--health needs the programs to check")
            down = check_health(args.name, os.environ)
            for url in down:
                print(f"not answering: {url}", file=sys.stderr)
            return 1 if down else 0
        if len(args.name) != 1:
            parser.error("name exactly one program to run")
        command, env = prepare(args.name[0], os.environ)
    except (ContainerConfigError, WhatsAppConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    os.execvpe(command[0], command, env)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
