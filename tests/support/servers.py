"""Throwaway PostgreSQL and Redis servers for tests, started from the cluster profile's own
definitions (bot/cluster/servers.py) on free loopback ports and removed afterwards."""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from bot.cluster.servers import PostgresServer, RedisServer
from bot.readiness import free_port, wait_until


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextlib.contextmanager
def _running(command: list[str], port: int, what: str, user: str | None, log: Path) -> Iterator:
    with open(log, "ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, user=user)

    def alive() -> None:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited: {log.read_text(errors='replace')[-2000:]}")

    try:
        wait_until(lambda: _accepts(port), 60, f"{what} on port {port}", check=alive)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # PostgreSQL: fast shutdown; Redis: quit
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """A fresh PostgreSQL with database `meso` (PostgresServer.url())."""
    root = Path(tempfile.mkdtemp(prefix="meso-pg-"))
    root.chmod(0o755)  # the postgres OS user must reach its data directory
    server = PostgresServer(root / "data", free_port())
    try:
        server.initialise()
        log = root / "postgres.log"
        # Throwaway data: no need to wait for the disk (each test's CREATE DATABASE copies one).
        durability_off = ["-c", "fsync=off", "-c", "synchronous_commit=off"]
        durability_off += ["-c", "full_page_writes=off"]
        command = server.command() + durability_off
        with _running(command, server.port, "PostgreSQL", server.os_user, log):
            # A starting PostgreSQL accepts TCP before it accepts sessions.
            wait_until(server.accepts_connections, 60, "PostgreSQL accepting sessions")
            server.create_database()
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    root = Path(tempfile.mkdtemp(prefix="meso-redis-"))
    server = RedisServer(root / "data", free_port())
    try:
        with _running(server.command(), server.port, "Redis", None, root / "redis.log"):
            yield server
    finally:
        shutil.rmtree(root, ignore_errors=True)
