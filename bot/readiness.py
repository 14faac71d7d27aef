"""Waiting for a condition, written once: used by `Stack` (bot/serve.py), the tests and their fake
servers. Nothing here sleeps for a fixed time to synchronise; every wait polls a condition.

No retry library (tenacity, backoff) is installed, so these are two small functions: one polls a
condition, the other (`retry_while`) retries a call while a server restarts: the action server
(Rasa's custom actions), Redis (the lock store) and the database (the tracker store).
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import psutil

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    what: str,
    *,
    interval: float = 0.1,
    check: Callable[[], None] | None = None,
) -> T:
    """The first truthy value of `condition()`, polled every `interval` s.

    `check`, called before each poll, may raise to give up early (a server that died). Raises
    TimeoutError naming `what` when nothing truthy came within `timeout` s; `condition` is always
    called at least once, and once more at the deadline.
    """
    deadline = time.monotonic() + timeout
    while True:
        if check is not None:
            check()
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"not within {timeout:g}s: {what}")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


def url_answers(url: str, timeout: float = 2.0) -> bool:
    """True when a GET of `url` gets any HTTP answer below 500 (4xx counts: the server is up)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def endpoint_ready(url: str, timeout: float = 2.0) -> bool:
    """True when a GET of a health endpoint (bot/observability/endpoints.py: READY_PATH,
    LIVE_PATH) answers 200; 503 (not ready yet), any other status or no answer is False."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    """True when a TCP connection to host:port is accepted."""
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, port)) == 0


def listening_ports(pid: int) -> set[int]:
    """TCP ports that process `pid` or its children listen on; empty when it is gone."""
    try:
        process = psutil.Process(pid)
        processes = [process, *process.children(recursive=True)]
    except psutil.Error:
        return set()
    ports: set[int] = set()
    for proc in processes:
        try:
            connections = proc.net_connections(kind="tcp")
        except psutil.Error:
            continue
        ports |= {c.laddr.port for c in connections if c.status == psutil.CONN_LISTEN}
    return ports


def free_port(host: str = "127.0.0.1") -> int:
    """A port free now on `host`, for a server that cannot bind port 0 and report it (PostgreSQL,
    Redis, nginx). Another program may take it before that server binds it: the server then fails
    to start and says so."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def bound_socket(port: int = 0, host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to host:port (0: any free port) but not listening, so connections to it
    are refused until a server calls listen() on it: a port reserved without a race."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def rebind(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    """bound_socket(port), retried while the port is still held (a server restarting on the port
    it had before). Raises TimeoutError when the port stays taken for `timeout` s."""

    def attempt() -> socket.socket | None:
        try:
            return bound_socket(port, host)
        except OSError:
            return None

    return wait_until(attempt, timeout, f"binding {host}:{port} again", interval=0.05)


class ReservedPort:
    """A loopback port held from construction by a bound socket that is not listening, so that
    connections are refused until `take()` hands the socket to a server, and no other program can
    take the port meanwhile. Once the server closed it, `take()` binds the same port again."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._sock: socket.socket | None = bound_socket(0, host)
        self.port: int = self._sock.getsockname()[1]

    def take(self) -> socket.socket:
        """The bound socket, now the caller's to listen on and close."""
        sock, self._sock = self._sock, None
        return sock if sock is not None else rebind(self.port, self.host)

    def close(self) -> None:
        """Give up the reservation (if the socket was not taken)."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None


async def retry_while(
    attempt: Callable[[], Awaitable[T]],
    transient: Callable[[Exception], bool],
    seconds: float,
    delays: Sequence[float],
    on_retry: Callable[[Exception], None] | None = None,
) -> T:
    """`await attempt()`, tried again while it raises an error `transient` accepts (a server
    restarting), for up to `seconds`, sleeping delays[0], delays[1], … (the last one repeated)
    in between without blocking the event loop; any other error, or the last one, is raised.
    `on_retry` is told of each error tried again."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    for count in itertools.count():
        try:
            return await attempt()
        except Exception as error:
            left = deadline - loop.time()
            if not transient(error) or left <= 0:
                raise
            if on_retry is not None:
                on_retry(error)
        await asyncio.sleep(min(delays[min(count, len(delays) - 1)], left))
    raise AssertionError("unreachable")  # itertools.count() never ends
