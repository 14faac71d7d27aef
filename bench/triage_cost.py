"""What triage costs per message: the rules alone, and the rules with the statistical detector,
on the typical messages of tests/triage_eval/messages.yml and on one long message (the same
messages joined, cut at 10,000 characters). Prints the median and p95 of a typical message, the
long message, and the long message in typical messages: it should stay near its length in
typical messages (about 100), since long text is graded in passages of bounded size.

usage: python bench/triage_cost.py [--runs 3]

Compare ratios within one run: the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.triage.detect import triage, triage_rules  # noqa: E402

MESSAGES = ROOT / "tests" / "triage_eval" / "messages.yml"
LONG_CHARS = 10_000


def best_of(runs: int, func: Callable[[], object]) -> float:
    """The fastest of `runs` calls, in seconds: the least disturbed by other work."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best


def measure(name: str, grade: Callable[[str], object], texts: list[str], runs: int) -> None:
    grade("warm up")
    typical = sorted(best_of(runs, lambda t=t: grade(t)) for t in texts)
    median = statistics.median(typical)
    p95 = typical[int(0.95 * (len(typical) - 1))]
    long_text = " ".join(texts)[:LONG_CHARS]
    long = best_of(runs, lambda: grade(long_text))
    print(
        f"{name:<22} {median * 1000:8.1f} {p95 * 1000:8.1f} {long * 1000:10.0f} "
        f"{long / median:12.0f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="best of this many calls per text")
    args = parser.parse_args()
    texts = [m["text"] for m in yaml.safe_load(MESSAGES.read_text())["messages"]]
    print(f"{len(texts)} typical messages; the long one has {LONG_CHARS:,} characters")
    print(f"{'':<22} {'p50 ms':>8} {'p95 ms':>8} {'long ms':>10} {'long/typical':>12}")
    measure("rules", triage_rules, texts, args.runs)
    measure("rules and detector", triage, texts, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
