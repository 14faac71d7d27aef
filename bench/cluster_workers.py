"""Does a second Sanic worker per Rasa replica help on this machine? The cluster profile started
twice in one run, with SANIC_WORKERS=1 and then 2, each loaded over REST with bench/run.py's load
(10 concurrent conversations by default): through nginx (both replicas), then straight at one
replica. Prints messages/s, p50/p95 and the resident memory of every program.

usage: python bench/cluster_workers.py [--messages 300] [--concurrency 10] [--workers 1 2]

Compare ratios within one run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import LoadFigures, Running, load, rss_mb  # noqa: E402
from bot.cluster.stack import ClusterSettings, ClusterStack  # noqa: E402

START_TIMEOUT = 900  # two replicas loading on a shared machine


def measure(workers: int, concurrency: int, total: int) -> list[tuple[str, LoadFigures, float]]:
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    work.chmod(0o755)  # PostgreSQL's OS user reaches its data directory
    settings = ClusterSettings.on_free_ports(work, sanic_workers=workers, with_web=False)
    rows = []
    stack = ClusterStack(settings)
    try:
        stack.start(timeout=START_TIMEOUT)
        print(f"SANIC_WORKERS={workers}: ready in {stack.ready_seconds:.1f}s", flush=True)
        pids = [p.pid for p in stack.processes.values() if p.pid]
        for target, url in (
            ("2 replicas via nginx", stack.public_url),
            ("1 replica direct", stack.replica_url("rasa-1")),
        ):
            figures = asyncio.run(load(Running(url, pids, 0.0), concurrency, total))
            memory, _ = rss_mb(pids)
            rows.append((f"workers={workers}, {target}", figures, memory))
            print(f"  {target}: {figures}", flush=True)
    finally:
        stack.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rows = [r for w in args.workers for r in measure(w, args.concurrency, args.messages)]
    print(f"\n{'run':40} {'msg/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'errors':>7} {'RSS MB':>8}")
    for name, f, memory in rows:
        print(
            f"{name:40} {f.messages_per_second:7.1f} {f.p50_ms:8.1f} {f.p95_ms:8.1f} "
            f"{f.errors:7d} {memory:8.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
