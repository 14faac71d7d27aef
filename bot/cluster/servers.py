"""PostgreSQL and Redis from Debian's packages, run from a work directory of ours.

The cluster profile runs them as supervised programs (`command()`); the tests run throwaway ones
(tests/support/servers.py) from the same definitions, so how each server is initialised and
started is written once. `make services` installs the packages (the only place that does).

PostgreSQL refuses to run as root: when we are root, its data directory belongs to, and the server
runs as, the OS user `postgres` that Debian's package creates. Connections use the loopback
address with `trust` authentication for the one role we create: these servers listen on
127.0.0.1 only and are not a production database's security model (a clinic group's own
PostgreSQL is configured by its URL instead).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

POSTGRES_OS_USER = "postgres"  # created by Debian's postgresql package


class ServerNotInstalled(RuntimeError):
    """A server binary is missing; the message says how to install it."""


def postgres_bin_dir() -> Path:
    """The newest PostgreSQL server's bin directory. Raises ServerNotInstalled."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=_version_key)
    if not found:
        raise ServerNotInstalled("PostgreSQL server not installed: run `make services`")
    return Path(found[-1]).parent


def redis_binary() -> str:
    """The redis-server binary. Raises ServerNotInstalled."""
    path = shutil.which("redis-server")
    if path is None:
        raise ServerNotInstalled("redis-server not installed: run `make services`")
    return path


def _version_key(path: str) -> tuple[int, ...]:
    version = Path(path).parent.parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _run_as() -> str | None:
    """The OS user a PostgreSQL server must run as: `postgres` when we are root, else us."""
    return POSTGRES_OS_USER if os.geteuid() == 0 else None


@dataclass(frozen=True)
class PostgresServer:
    """A PostgreSQL server with its data in `data_dir`, on 127.0.0.1:`port`."""

    data_dir: Path
    port: int
    role: str = "meso"
    database: str = "meso"

    @property
    def os_user(self) -> str | None:
        """The user supervisor must run `command()` as (None: the current user)."""
        return _run_as()

    def url(self, database: str | None = None) -> str:
        return f"postgresql://{self.role}@127.0.0.1:{self.port}/{database or self.database}"

    def initialise(self) -> None:
        """Create the data directory with initdb unless it already holds a cluster."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        user = self.os_user
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        self.data_dir.chmod(0o700)
        subprocess.run(
            [
                str(postgres_bin_dir() / "initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.role,
                "--auth",
                "trust",
                "--encoding",
                "UTF8",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            user=user,
        )

    def command(self) -> list[str]:
        """The server in the foreground; its unix socket lives in the data directory."""
        return [
            str(postgres_bin_dir() / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-k",
            str(self.data_dir),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "max_connections=200",
        ]

    def accepts_connections(self) -> bool:
        """True once the server accepts a session (not merely the TCP connection: a starting
        PostgreSQL accepts those and answers "the database system is starting up")."""
        import psycopg2

        try:
            connection = psycopg2.connect(
                host="127.0.0.1",
                port=self.port,
                user=self.role,
                dbname="postgres",
                connect_timeout=2,
            )
        except psycopg2.OperationalError:
            return False
        connection.close()
        return True

    def create_database(self, name: str | None = None) -> None:
        """Create database `name` (default: ours) on the running server unless it exists."""
        name = name or self.database
        psql = [str(postgres_bin_dir() / "psql"), "-h", "127.0.0.1", "-p", str(self.port)]
        psql += ["-U", self.role, "-d", "postgres", "-tAc"]
        exists = subprocess.run(
            [*psql, f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        if not exists:
            subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)


@dataclass(frozen=True)
class RedisServer:
    """A Redis server on 127.0.0.1:`port` keeping its files in `data_dir`. Rasa's lock store
    needs no persistence: a restarted Redis starts with no locks, which is what a lock store wants.
    """

    data_dir: Path
    port: int

    def url(self, db: int = 1) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def answers(self) -> bool:
        """True once the server answers PING."""
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=2)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def command(self) -> list[str]:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return [
            redis_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
