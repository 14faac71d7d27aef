"""bot/launch.py with --sanic and no port yet: the port is listening before the program's slow
imports are done (so `Stack` can start what needs it in parallel), and the program then serves
on that very port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bot.launch import read_port
from bot.paths import PROJECT_ROOT
from bot.readiness import listening_ports, url_answers, wait_until

SLOW_SERVER = """
import sys, time
time.sleep(8)  # what Rasa's imports take, in short
from sanic import Sanic
from sanic.response import text
app = Sanic("slow")
@app.get("/")
async def index(request):
    return text("up")
app.run(host="0.0.0.0", port=int(sys.argv[1]), access_log=False)
"""


def test_the_port_listens_before_the_program_has_imported(tmp_path: Path) -> None:
    (tmp_path / "slow_server.py").write_text(SLOW_SERVER)
    ports = tmp_path / "ports"
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.launch", str(ports), "slow", "--sanic", "--",
         "slow_server", "{port:slow}"],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": f"{tmp_path}:{PROJECT_ROOT}"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        port = wait_until(lambda: min(listening_ports(proc.pid), default=0), 30, "listening")
        assert time.monotonic() - started < 6, "the port came only after the imports"
        assert read_port(ports, "slow", "slow") == 0  # Stack records it, not the program
        wait_until(lambda: url_answers(f"http://127.0.0.1:{port}/"), 60, "serving")
        assert listening_ports(proc.pid) == {port}
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
