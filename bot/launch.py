"""Run one program of the stack with its port taken from a port file (what `Stack` writes into
supervisord.conf for every program that serves).

    python -m bot.launch PORTS_DIR NAME [--sanic] [--env KEY=VALUE]... -- MODULE ARG...

`{port:X}` in an ARG or an --env value becomes the number in PORTS_DIR/X.port. A program's own
port (X == NAME) is 0 while its file is missing: the first start binds any free port, `Stack`
finds which (bot/readiness.py `listening_ports`) and writes the file, so a restart by supervisor
comes back on the same port and what points at it stays valid. A missing file for another
program is an error (start order is `Stack`'s job). Then MODULE runs as `python -m MODULE ARG...`
in this process (same pid, as supervisor needs).

`--sanic`: Sanic 21.12 (Rasa and the Rasa SDK action server) turns port 0 into 8000
(`port or 8000` in Sanic.run), so with port 0 this binds the socket itself, before importing
MODULE (a listening socket is what `Stack` waits for), and hands it to Sanic.
Such a program may also run several Sanic worker processes (SANIC_WORKERS,
ACTION_SERVER_SANIC_WORKERS), so its metrics use prometheus-client's multiprocess mode:
PROMETHEUS_MULTIPROC_DIR is set to `<MESO_VAR_DIR>/metrics/NAME` (unless already set) and emptied
here, at each start, before any worker exists (see `prepare_metrics_dir`).

Every program also gets the log redaction of bot/observability/logs.py, before it logs anything.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import socket
import sys
from pathlib import Path
from typing import Any

SANIC_BACKLOG = 100  # Sanic's own default
PLACEHOLDER = re.compile(r"\{port:([a-z0-9-]+)\}")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own name (metrics.MULTIPROC_ENV)


def port_file(ports_dir: Path, name: str) -> Path:
    return ports_dir / f"{name}.port"


def read_port(ports_dir: Path, name: str, own: str) -> int:
    """The port recorded for `name`; 0 for the program's own port when none is recorded yet.

    Raises FileNotFoundError for another program's port that is not recorded.
    """
    path = port_file(ports_dir, name)
    if not path.exists() and name == own:
        return 0
    return int(path.read_text().strip())


def write_port(ports_dir: Path, name: str, port: int) -> None:
    """Record `port` for `name` (atomically: a starting program never reads half a file)."""
    ports_dir.mkdir(parents=True, exist_ok=True)
    tmp = port_file(ports_dir, name).with_suffix(".tmp")
    tmp.write_text(f"{port}\n")
    tmp.replace(port_file(ports_dir, name))


def expand(text: str, ports_dir: Path, own: str) -> str:
    return PLACEHOLDER.sub(lambda m: str(read_port(ports_dir, m.group(1), own)), text)


def _listen_on_free_port() -> socket.socket:
    """A socket listening on a free port of every interface (where Rasa and the action server
    listen by default), made before the program's slow imports: `Stack` learns the port at once
    and starts what needs it (Rasa needs the action server's) in parallel instead of after."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", 0))
    sock.listen(SANIC_BACKLOG)
    return sock


def _sanic_binds_port_zero(listening: socket.socket) -> None:
    """Make Sanic.run(host, 0) serve on `listening` (or, for another host, on the same port of
    that host) instead of port 8000."""
    from sanic import Sanic

    original = Sanic.run

    def run(self: Any, host: str | None = None, port: int | None = None, **kwargs: Any) -> None:
        if port == 0 and kwargs.get("sock") is None and not kwargs.get("unix"):
            sock = listening
            if host not in (None, "", "0.0.0.0"):
                # The same port on that host: it is the one already recorded and waited for.
                port = listening.getsockname()[1]
                listening.close()
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((host, port))
                sock.listen(SANIC_BACKLOG)
            return original(self, None, None, sock=sock, **kwargs)
        return original(self, host, port, **kwargs)

    Sanic.run = run  # type: ignore[method-assign]


def prepare_metrics_dir(name: str) -> Path:
    """Set PROMETHEUS_MULTIPROC_DIR for program `name` (unless set) and empty it of the value
    files of a previous run. One directory per program: two programs (or replicas) sharing one
    would sum each other's figures. Runs before prometheus_client is imported: it picks its
    mode from the environment at import."""
    from bot.paths import VAR_DIR

    directory = Path(os.environ.get(MULTIPROC_ENV) or VAR_DIR / "metrics" / name)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    return directory


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.launch", description=__doc__)
    parser.add_argument("ports_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--sanic", action="store_true")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    from bot.observability import logs

    logs.install()
    for item in args.env:
        key, _, value = item.partition("=")
        os.environ[key] = expand(value, args.ports_dir, args.name)
    program_args = [expand(a, args.ports_dir, args.name) for a in args.args]
    if args.sanic:
        prepare_metrics_dir(args.name)
        if read_port(args.ports_dir, args.name, args.name) == 0:
            _sanic_binds_port_zero(_listen_on_free_port())
    sys.argv = [args.module, *program_args]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
