"""The cluster profile (`make run-cluster`, `python -m bot serve --cluster`): the embedded stack's
supervisord machinery (bot/serve.py `Stack`) with a different list of programs:

    postgres            PostgreSQL: Rasa's tracker store and the project's tables (ours, data in
                        the work dir; not started when MESO_DATABASE_URL and MESO_TRACKER_URL
                        both name an external postgresql:// server)
    redis               Redis: Rasa's lock store (ours; not started with MESO_REDIS_URL set)
    actions-1, -2       action servers
    nginx               the public entry (REST, socket.io, WhatsApp) in front of the replicas,
                        and the replicas' action endpoint in front of the action servers
    rasa-1, rasa-2      Rasa replicas, each with SANIC_WORKERS Sanic workers
    web                 the web server (widget, kiosk, clinician inbox), pointing at nginx
    worker              the notification worker

Start order: the services (postgres, redis), which must accept sessions before the storage is
prepared (`Stack.prepare_storage`, the same step as the embedded profile's); then the action
servers, the replicas (their endpoints name nginx's action entry, whose port is chosen up front),
nginx (its configuration needs the action servers' ports), the web server and the worker.

Both replicas call their actions through nginx rather than each its own action server: when an
action server dies, nginx sends the next call to the other one, so no replica loses its actions
while supervisor restarts it (the extra hop costs well under a millisecond on loopback).

Ports: nginx, the replicas, PostgreSQL and Redis cannot report a port they chose, and nginx's
configuration names the replicas before they start, so with port 0 `ClusterStack` picks free ports
for them up front (bot.readiness.free_port); the action servers and the web server bind port 0
and are found as in the embedded profile.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bot.cluster import REPLICA_ENV
from bot.cluster.nginx import HEALTH_PATH, NginxServer, nginx_binary
from bot.cluster.servers import (
    PostgresServer,
    RedisServer,
    ServerNotInstalled,
    postgres_bin_dir,
    redis_binary,
)
from bot.paths import VAR_DIR
from bot.readiness import free_port
from bot.serve import Program, Stack, StackSettings, first_line, mask_url

POSTGRES_SCHEMES = ("postgresql", "postgres")  # with or without a +driver suffix
REDIS_SCHEMES = ("redis", "rediss")
LOCK_KEY_PREFIX = "meso"  # Rasa accepts letters and digits only
REACH_TIMEOUT_SECONDS = 5


@dataclass
class ClusterSettings(StackSettings):
    """The cluster's ports (0: any free port). `rasa_port` and `action_port` are nginx's public
    and action entries; the web server talks to nginx. `database_url` (else MESO_DATABASE_URL):
    an external PostgreSQL for the project's tables; None: ours."""

    work_dir: Path = VAR_DIR / "cluster"
    rasa_port: int = 5005
    action_port: int = 5055
    replica_ports: tuple[int, ...] = (5006, 5007)
    action_server_ports: tuple[int, ...] = (5056, 5057)
    postgres_port: int = 5433
    redis_port: int = 6380
    sanic_workers: int | None = None  # default: SANIC_WORKERS, else 1

    @classmethod
    def on_free_ports(cls, work_dir: Path, **overrides: Any) -> ClusterSettings:
        """Every port 0 (any free port): for tests, benchmarks and the load harness. `work_dir`
        must be reachable by the `postgres` OS user when we are root (not pytest's tmp_path)."""
        ports: dict[str, Any] = {
            "rasa_port": 0,
            "action_port": 0,
            "web_port": 0,
            "replica_ports": (0, 0),
            "action_server_ports": (0, 0),
            "postgres_port": 0,
            "redis_port": 0,
        }
        return cls(work_dir=work_dir, **{**ports, **overrides})


def replica_name(index: int) -> str:
    return f"rasa-{index}"


def action_server_name(index: int) -> str:
    return f"actions-{index}"


class ClusterStack(Stack):
    """PostgreSQL, Redis, nginx, replicas, action servers, web server and worker under one
    supervisord (see the module docstring); `Stack`'s methods (pid, stop_process, start_process,
    wait_ready, processes) work for every program by its name."""

    settings: ClusterSettings

    def __init__(self, settings: ClusterSettings) -> None:
        super().__init__(settings)
        self.external_database_url = settings.database_url or self.env_setting("MESO_DATABASE_URL")
        self.external_tracker_url = self.env_setting("MESO_TRACKER_URL")
        self.external_redis_url = self.env_setting("MESO_REDIS_URL")
        self.own_postgres = not (self.external_database_url and self.external_tracker_url)
        self.own_redis = not self.external_redis_url
        self._fixed_ports = self._choose_ports()
        work = settings.work_dir
        self.postgres = PostgresServer(work / "postgres", self._fixed_ports.get("postgres", 0))
        self.redis = RedisServer(work / "redis", self._fixed_ports.get("redis", 0))
        self.nginx = NginxServer(
            work / "nginx", self._fixed_ports["nginx"], self._fixed_ports["nginx-actions"]
        )

    @property
    def replicas(self) -> list[str]:
        return [replica_name(i) for i in range(1, len(self.settings.replica_ports) + 1)]

    @property
    def action_servers(self) -> list[str]:
        return [action_server_name(i) for i in range(1, len(self.settings.action_server_ports) + 1)]

    @property
    def sanic_workers(self) -> int:
        return self.settings.sanic_workers or int(self.env_setting("SANIC_WORKERS") or 1)

    def _choose_ports(self) -> dict[str, int]:
        """Every port by name; a free one for each server that cannot bind port 0 itself."""
        s = self.settings
        pick = {
            "nginx": s.rasa_port,
            "nginx-actions": s.action_port,
            **dict(zip(self.replicas, s.replica_ports, strict=True)),
        }
        if self.own_postgres:
            pick["postgres"] = s.postgres_port
        if self.own_redis:
            pick["redis"] = s.redis_port
        ports = {name: port or free_port() for name, port in pick.items()}
        ports.update(zip(self.action_servers, s.action_server_ports, strict=True))
        if s.with_web:
            ports["web"] = s.web_port
        return ports

    def _setting_ports(self) -> dict[str, int]:
        return dict(self._fixed_ports)

    def _ports_to_check(self) -> list[int]:
        return list(self._fixed_ports.values())

    @property
    def rasa_url(self) -> str:
        """nginx's public entry: REST, socket.io and WhatsApp reach any replica through it."""
        return f"http://127.0.0.1:{self.port('nginx')}"

    @property
    def action_url(self) -> str:
        """nginx's action entry, which the replicas call."""
        return f"http://127.0.0.1:{self.port('nginx-actions')}"

    def replica_url(self, name: str) -> str:
        """A replica's own address (tests and the load harness; clients use `public_url`)."""
        return f"http://127.0.0.1:{self.port(name)}"

    @property
    def database_url(self) -> str:
        return self.external_database_url or self.postgres.url()

    @property
    def tracker_url(self) -> str:
        return self.external_tracker_url or self.external_database_url or self.postgres.url()

    @property
    def redis_url(self) -> str:
        return self.external_redis_url or self.redis.url()

    def stack_env(self) -> dict[str, str]:
        return {
            **super().stack_env(),
            "MESO_DATABASE_URL": self.database_url,
            "MESO_TRACKER_URL": self.tracker_url,
            "MESO_REDIS_URL": self.redis_url,
        }

    def endpoints(self) -> dict[str, Any]:
        return {**super().endpoints(), "lock_store": lock_store_endpoint(self.redis_url)}

    def programs(self) -> list[Program]:
        programs: list[Program] = []
        if self.own_postgres:
            programs.append(
                Program(
                    "postgres",
                    "PostgreSQL",
                    list(self.postgres.command()),
                    ready_check=lambda _port: self.postgres.accepts_connections(),
                    service=True,
                    user=self.postgres.os_user,
                    stop_signal="INT",  # fast shutdown: does not wait for clients to leave
                )
            )
        if self.own_redis:
            programs.append(
                Program(
                    "redis",
                    "Redis",
                    self.redis.command(),
                    ready_check=lambda _port: self.redis.answers(),
                    service=True,
                )
            )
        programs += [
            self.actions_program(name, f"action server {name}") for name in self.action_servers
        ]
        # The replicas' ports and nginx's are chosen up front, so the replicas (the slowest to
        # load) start at once, while nginx waits for the action servers' ports.
        env = {"SANIC_WORKERS": str(self.sanic_workers)}
        programs += [
            self.rasa_program(name, f"Rasa replica {name}", (), {REPLICA_ENV: name, **env})
            for name in self.replicas
        ]
        programs.append(
            Program(
                "nginx",
                "nginx",
                list(self.nginx.command()),
                HEALTH_PATH,
                needs=tuple(self.action_servers),
            )
        )
        if self.settings.with_web:
            programs.append(self.web_program("nginx"))
        if self.settings.with_worker:
            programs.append(self.worker_program())
        return programs

    def before_start(self, program: Program) -> None:
        if program.name == "nginx":
            self.nginx.write_config(
                {name: f"127.0.0.1:{self.port(name)}" for name in self.replicas},
                [f"127.0.0.1:{self.port(name)}" for name in self.action_servers],
            )
        elif program.name == self.replicas[0]:
            self.write_endpoints()

    def _check_can_start(self) -> None:
        """The embedded checks, then: the servers we run are installed, and every external one
        answers, before anything starts (so a failure leaves nothing running)."""
        super()._check_can_start()
        try:
            nginx_binary()
            if self.own_postgres:
                postgres_bin_dir()
            if self.own_redis:
                redis_binary()
        except ServerNotInstalled as error:
            raise RuntimeError(str(error)) from None
        for setting, url in (
            ("MESO_DATABASE_URL", self.external_database_url),
            ("MESO_TRACKER_URL", self.external_tracker_url),
        ):
            if url:
                check_postgres(setting, url)
        if self.external_redis_url:
            check_redis("MESO_REDIS_URL", self.external_redis_url)

    def write_runtime_files(self) -> Path:
        path = super().write_runtime_files()
        if self.own_postgres:
            # initdb needs the postgres OS user (when we are root) to reach the work dir.
            self.settings.work_dir.chmod(self.settings.work_dir.stat().st_mode | 0o011)
            try:
                self.postgres.initialise()
            except Exception as error:  # noqa: BLE001 - initdb's own message says why
                stderr = getattr(error, "stderr", b"") or b""
                detail = stderr.decode(errors="replace").strip() or first_line(error)
                raise RuntimeError(
                    f"PostgreSQL could not initialise {self.postgres.data_dir}: {detail}"
                ) from error
        return path

    def prepare_storage(self) -> None:
        if self.own_postgres:
            self.postgres.create_database()
        super().prepare_storage()

    def ready_message(self) -> str:
        s = self.settings
        lines = [
            f"\nCluster ready in {self.ready_seconds:.1f}s.",
            f"  Public entry (nginx)            {self.public_url}  (REST /webhooks/rest/webhook, "
            "socket.io /socket.io, WhatsApp /webhooks/whatsapp/webhook)",
        ]
        if s.with_web:
            lines.append(f"  Web (widget, kiosk, clinician)  {self.web_url}/")
        lines += [
            "  Replicas                        "
            + ", ".join(f"{n} {self.replica_url(n)}" for n in self.replicas)
            + f" ({self.sanic_workers} Sanic worker(s) each)",
            "  Action servers                  "
            + ", ".join(f"{n} :{self.port(n)}" for n in self.action_servers)
            + f" (through nginx at {self.action_url})",
            f"  PostgreSQL                      {mask_url(self.database_url)}"
            + ("" if self.own_postgres else " (external)"),
            f"  Redis lock store                {mask_url(self.redis_url)}"
            + ("" if self.own_redis else " (external)"),
            f"Logs in {self.log_dir}. Status: .venv/bin/supervisorctl -c {self.config_path} status",
            "Press Ctrl-C to stop.",
        ]
        return "\n".join(lines)


def lock_store_endpoint(url: str) -> dict[str, Any]:
    """Rasa's `lock_store` endpoint for a redis:// (or rediss://) URL."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise RuntimeError(f"MESO_REDIS_URL={mask_url(url)} is not a redis://host:port/db URL")
    endpoint: dict[str, Any] = {
        "type": "redis",
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(parts.path.strip("/") or 1),
        "key_prefix": LOCK_KEY_PREFIX,
        "use_ssl": parts.scheme == "rediss",
    }
    if parts.username:
        endpoint["username"] = unquote(parts.username)
    if parts.password:
        endpoint["password"] = unquote(parts.password)
    return endpoint


def check_postgres(setting: str, url: str) -> None:
    """Raise RuntimeError naming `setting` unless `url` is a PostgreSQL that accepts a session."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import ArgumentError, SQLAlchemyError

    shown = f"{setting}={mask_url(url)}"
    if urlsplit(url).scheme.split("+")[0] not in POSTGRES_SCHEMES:
        raise RuntimeError(f"{shown}: the cluster profile needs a postgresql:// URL")
    try:
        engine = create_engine(url, connect_args={"connect_timeout": REACH_TIMEOUT_SECONDS})
    except (ArgumentError, ImportError) as error:
        raise RuntimeError(f"{shown} is not a usable SQLAlchemy URL: {error}") from None
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        raise RuntimeError(
            f"PostgreSQL at {shown} is unreachable: {first_line(error.orig or error)}"
        ) from None
    finally:
        engine.dispose()


def check_redis(setting: str, url: str) -> None:
    """Raise RuntimeError naming `setting` unless `url` is a Redis that answers PING."""
    import redis

    lock_store_endpoint(url)  # the URL's form
    client = redis.Redis.from_url(url, socket_connect_timeout=REACH_TIMEOUT_SECONDS)
    try:
        client.ping()
    except redis.RedisError as error:
        raise RuntimeError(
            f"Redis at {setting}={mask_url(url)} is unreachable: {first_line(error)}"
        ) from None
    finally:
        client.close()
