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
(`port or 8000` in Sanic.run), so with port 0 this binds the socket itself and hands it to Sanic.
"""

from __future__ import annotations

import argparse
import os
import re
import runpy
import sys
from pathlib import Path
from typing import Any

PLACEHOLDER = re.compile(r"\{port:([a-z0-9-]+)\}")


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


def _sanic_binds_port_zero() -> None:
    """Make Sanic.run(host, 0) listen on a free port instead of 8000."""
    import socket

    from sanic import Sanic

    original = Sanic.run

    def run(self: Any, host: str | None = None, port: int | None = None, **kwargs: Any) -> None:
        if port == 0 and kwargs.get("sock") is None and not kwargs.get("unix"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host or "127.0.0.1", 0))
            return original(self, None, None, sock=sock, **kwargs)
        return original(self, host, port, **kwargs)

    Sanic.run = run  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.launch", description=__doc__)
    parser.add_argument("ports_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--sanic", action="store_true")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    for item in args.env:
        key, _, value = item.partition("=")
        os.environ[key] = expand(value, args.ports_dir, args.name)
    program_args = [expand(a, args.ports_dir, args.name) for a in args.args]
    if args.sanic and read_port(args.ports_dir, args.name, args.name) == 0:
        _sanic_binds_port_zero()
    sys.argv = [args.module, *program_args]
    runpy.run_module(args.module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
