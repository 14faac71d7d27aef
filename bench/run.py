"""Benchmark: this assistant against a stock `rasa init` assistant, measured in the same run.

Prints, for each: time from start to ready, resident memory (Rasa server and, for ours, the
whole stack), and messages/s with p50/p95 latency at 1 and 10 concurrent conversations over the
REST channel. Then the NLU model alone (ours has the sentence-embedding featurizer): mean and p95
time of one Agent.parse_message and the resident memory of a fresh process that loaded the model.
Compare ratios, not absolute figures: the machine is shared and noisy.

usage: python bench/run.py [--messages 300] [--skip-stock] [--skip-stack] [--json PATH]
                          [--nlu-model NAME=PATH ...]

--nlu-model (repeatable) puts other trained models in the NLU-alone table instead of
models/current.tar.gz, e.g. two configurations side by side; the stack always runs the current one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import aiohttp
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.readiness import listening_ports, url_answers, wait_until  # noqa: E402
from bot.serve import Stack, StackSettings  # noqa: E402

STOCK_DIR = ROOT / "bench" / "stock"
QUESTIONS = [
    q["text"]
    for q in yaml.safe_load((ROOT / "tests" / "nlu_eval" / "questions.yml").read_text())[
        "questions"
    ]
]


@dataclass
class LoadFigures:
    concurrency: int
    messages: int
    seconds: float
    messages_per_second: float
    p50_ms: float
    p95_ms: float
    errors: int  # non-200 answers or replies with no message at all


@dataclass
class Figures:
    name: str
    ready_seconds: float
    rasa_rss_mb: float
    total_rss_mb: float
    loads: list[LoadFigures]


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            total += proc.memory_info().rss + sum(
                c.memory_info().rss for c in proc.children(recursive=True)
            )
        except psutil.NoSuchProcess:
            pass
    return total / 1e6


TURNS_PER_CONVERSATION = 10  # a patient asks a handful of questions, then leaves


async def _conversation(
    session: aiohttp.ClientSession, url: str, sender: str, count: int, latencies: list[float]
) -> int:
    """One simulated visitor slot: `count` messages, a new conversation every 10 turns."""
    errors = 0
    for i in range(count):
        text = QUESTIONS[(hash(sender) + i) % len(QUESTIONS)]
        visitor = f"{sender}-{i // TURNS_PER_CONVERSATION}"
        started = time.perf_counter()
        async with session.post(url, json={"sender": visitor, "message": text}) as response:
            body = await response.json()
            if response.status != 200 or not body:
                errors += 1
        latencies.append((time.perf_counter() - started) * 1000)
    return errors


async def load(rasa_url: str, concurrency: int, total: int) -> LoadFigures:
    url = f"{rasa_url}/webhooks/rest/webhook"
    latencies: list[float] = []
    per_conversation = max(1, total // concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await _conversation(session, url, "warmup", 10, [])
        started = time.perf_counter()
        errors = await asyncio.gather(
            *(
                _conversation(session, url, f"bench-{concurrency}-{c}", per_conversation, latencies)
                for c in range(concurrency)
            )
        )
        seconds = time.perf_counter() - started
    latencies.sort()
    return LoadFigures(
        concurrency=concurrency,
        messages=len(latencies),
        seconds=round(seconds, 2),
        messages_per_second=round(len(latencies) / seconds, 1),
        p50_ms=round(statistics.median(latencies), 1),
        p95_ms=round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        errors=sum(errors),
    )


def measure_ours(total: int) -> Figures:
    work = Path(tempfile.mkdtemp(prefix="bench-ours-"))
    settings = StackSettings(
        work_dir=work,
        rasa_port=0,  # any free port, read back by Stack
        action_port=0,
        web_port=0,
        worker_port=0,
        with_web=True,
        with_worker=True,
    )
    with Stack(settings) as stack:
        loads = [asyncio.run(load(stack.rasa_url, c, total)) for c in (1, 10)]
        pids = [p.pid for p in stack.processes.values()]
        return Figures(
            name="this assistant",
            ready_seconds=round(stack.ready_seconds or 0, 1),
            rasa_rss_mb=round(rss_mb([stack.processes["rasa"].pid]), 0),
            total_rss_mb=round(rss_mb(pids), 0),
            loads=loads,
        )


def ensure_stock_model() -> Path:
    models = sorted((STOCK_DIR / "models").glob("*.tar.gz"))
    if not models:
        print("training the stock `rasa init` assistant (once; takes a few minutes)…", flush=True)
        STOCK_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "init", "--no-prompt", "--init-dir",
             str(STOCK_DIR)],
            check=True, stdout=subprocess.DEVNULL, cwd=STOCK_DIR,
        )  # fmt: skip
        models = sorted((STOCK_DIR / "models").glob("*.tar.gz"))
    return models[-1]


def measure_stock(total: int) -> Figures:
    model = ensure_stock_model()
    ports = Path(tempfile.mkdtemp(prefix="bench-stock-"))
    started = time.monotonic()
    # Port 0 through bot/launch.py (Sanic alone would turn 0 into 8000); the port is read back.
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.launch", str(ports), "stock", "--sanic", "--", "rasa", "run",
         "--model", str(model), "--port", "{port:stock}"],
        cwd=STOCK_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)},
        start_new_session=True,
    )  # fmt: skip
    try:
        port = wait_until(lambda: min(listening_ports(proc.pid), default=0), 300, "stock Rasa")
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: url_answers(f"{url}/webhooks/rest/"), 300, "stock Rasa ready")
        ready = time.monotonic() - started
        loads = [asyncio.run(load(url, c, total)) for c in (1, 10)]
        memory = rss_mb([proc.pid])
        return Figures(
            "stock rasa init", round(ready, 1), round(memory, 0), round(memory, 0), loads
        )
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


@dataclass
class NluFigures:
    name: str
    load_seconds: float
    ms_per_message: float
    p95_ms: float
    rss_mb: float


_NLU_PROBE = """
import asyncio, json, logging, resource, sys, time, warnings
logging.disable(logging.WARNING); warnings.filterwarnings("ignore")
started = time.perf_counter()
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
load = time.perf_counter() - started
texts = json.loads(sys.stdin.read())
async def run():
    await agent.parse_message("hello")
    times = []
    for text in texts:
        t = time.perf_counter(); await agent.parse_message(text)
        times.append((time.perf_counter() - t) * 1000)
    return times
times = sorted(asyncio.run(run()))
print(json.dumps([load, sum(times) / len(times), times[int(0.95 * (len(times) - 1))],
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))
"""


def measure_nlu(name: str, model: Path, cwd: Path) -> NluFigures:
    """The NLU model alone, in a fresh process: load time, parse latency, peak resident memory."""
    out = subprocess.run(
        [sys.executable, "-c", _NLU_PROBE, str(model)],
        input=json.dumps(QUESTIONS), capture_output=True, text=True, check=True, cwd=cwd,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    load_s, mean_ms, p95_ms, rss = json.loads(out.stdout.strip().splitlines()[-1])
    return NluFigures(name, round(load_s, 1), round(mean_ms, 1), round(p95_ms, 1), round(rss))


def report_nlu(results: list[NluFigures]) -> None:
    print(f"\nNLU alone{'':11}{'load s':>8}{'ms/msg':>8}{'p95 ms':>8}{'RSS MB':>8}")
    for f in results:
        print(
            f"{f.name:20}{f.load_seconds:8.1f}{f.ms_per_message:8.1f}{f.p95_ms:8.1f}{f.rss_mb:8.0f}"
        )


def report(results: list[Figures]) -> None:
    print(
        f"\n{'':20}{'ready s':>9}{'Rasa MB':>9}{'all MB':>8}  per load: msg/s  p50 ms  p95 ms  err"
    )
    for f in results:
        for i, lf in enumerate(f.loads):
            head = (
                f"{f.name:20}{f.ready_seconds:9.1f}{f.rasa_rss_mb:9.0f}{f.total_rss_mb:8.0f}"
                if i == 0
                else " " * 46
            )
            print(
                f"{head}  x{lf.concurrency:<2} {lf.messages_per_second:9.1f} {lf.p50_ms:7.1f} "
                f"{lf.p95_ms:7.1f} {lf.errors:4d}"
            )
    if len(results) == 2:
        ours, stock = results
        ratio = ours.loads[1].messages_per_second / stock.loads[1].messages_per_second
        print(f"\nthroughput at 10 conversations: {ratio:.1f}x the stock assistant")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="messages per load level")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument("--skip-stack", action="store_true", help="only the NLU-alone figures")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--nlu-model",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="a model for the NLU-alone table (repeatable; default: this assistant's current)",
    )
    args = parser.parse_args()
    models = [spec.partition("=")[::2] for spec in args.nlu_model] or [
        ("this assistant", str(ROOT / "models" / "current.tar.gz"))
    ]
    results = [] if args.skip_stack else [measure_ours(args.messages)]
    nlu = [measure_nlu(name, Path(path).resolve(), ROOT) for name, path in models]
    if not args.skip_stock:
        if not args.skip_stack:
            results.append(measure_stock(args.messages))
        nlu.append(measure_nlu("stock rasa init", ensure_stock_model(), STOCK_DIR))
    if results:
        report(results)
    report_nlu(nlu)
    if args.json:
        figures = {"stack": [asdict(r) for r in results], "nlu": [asdict(n) for n in nlu]}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
