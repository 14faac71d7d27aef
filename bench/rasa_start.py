"""Rasa alone: seconds from start to /health/ready and the CPU seconds it used until then.

Starts `python -m bot.rasa.cli run` on the current model (REST only, a SQLite tracker store in a
temporary folder) as `Stack` does, `--runs` times one after the other, and prints for each run
the wall-clock and CPU seconds to ready and the load average then. CPU time is what to compare
on a shared machine: wall-clock time moves with the load, CPU time far less.

usage: PYTHONPATH=$PWD .venv/bin/python bench/rasa_start.py [--runs 3] [--model PATH]
                                                            [--py-spy OUT.raw]

--py-spy records the first run with py-spy (`-f raw`, 200 Hz; for the breakdown in README
"Rasa's start"); its times include py-spy's own overhead.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bot.observability.endpoints import READY_PATH
from bot.paths import PROJECT_ROOT
from bot.readiness import endpoint_ready, free_port, wait_until

START_TIMEOUT = 300.0


@dataclass(frozen=True)
class StartFigures:
    ready_s: float
    cpu_s: float  # user + system time of the Rasa process until ready (not with py-spy)
    load_average: float


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_once(model: Path, work: Path, py_spy: Path | None = None) -> StartFigures:
    """Start Rasa, wait for ready, stop it."""
    (work / "endpoints.yml").write_text(
        "tracker_store:\n  type: bot.rasa.tracker_store.SpoolingSQLTrackerStore\n"
        f"  dialect: sqlite\n  db: {work / 'tracker.db'}\n",
        encoding="utf-8",
    )
    (work / "credentials.yml").write_text("bot.rasa.channels.rest.MesoRestInput:\n")
    port = free_port()
    command = [sys.executable, "-m", "bot.rasa.cli", "run", "--model", str(model)]
    command += ["--port", str(port), "--endpoints", str(work / "endpoints.yml")]
    command += ["--credentials", str(work / "credentials.yml")]
    if py_spy is not None:
        spy = Path(sys.executable).parent / "py-spy"
        command = [str(spy), "record", "-r", "200", "-f", "raw", "-o", str(py_spy), "--", *command]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    with open(work / "rasa.log", "w", encoding="utf-8") as log:
        started = time.monotonic()
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Rasa under py-spy is stopped too
        )
        try:

            def still_running() -> None:
                if process.poll() is not None:
                    raise RuntimeError(f"Rasa exited: see {work / 'rasa.log'}")

            wait_until(
                lambda: endpoint_ready(f"http://127.0.0.1:{port}{READY_PATH}"),
                START_TIMEOUT,
                "Rasa ready",
                interval=0.05,
                check=still_running,
            )
            ready = time.monotonic() - started
            cpu = process_cpu_seconds(process.pid)
        finally:
            # py-spy writes its profile when its program ends on Ctrl-C, not on SIGTERM
            process.send_signal(signal.SIGINT if py_spy else signal.SIGTERM)
            process.wait(60)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
    return StartFigures(ready, cpu, os.getloadavg()[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / "models" / "current.tar.gz")
    parser.add_argument("--py-spy", type=Path, help="record the first run with py-spy here")
    args = parser.parse_args()
    results = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="rasa-start-") as work:
            spy = args.py_spy if run == 0 else None
            figures = start_once(args.model, Path(work), spy)
        results.append(figures)
        cpu = "under py-spy" if spy else f"CPU {figures.cpu_s:.1f} s"
        print(
            f"run {run + 1}: ready after {figures.ready_s:.1f} s, {cpu}, "
            f"load average {figures.load_average:.1f}",
            flush=True,
        )
    plain = [r for r in results if not (args.py_spy and r is results[0])]
    if plain:
        print(
            f"median of {len(plain)}: ready after "
            f"{statistics.median(r.ready_s for r in plain):.1f} s, "
            f"CPU {statistics.median(r.cpu_s for r in plain):.1f} s"
        )


if __name__ == "__main__":
    main()
