"""Benchmark: this assistant against a stock `rasa init` assistant, measured in the same run.

One run prints every figure of issue 11's table for each target, then checks them against the
goals: time from start to ready, resident memory of all its processes (ours: action server,
Rasa, web server, worker; stock: its Rasa server, which needs no action server), messages/s
with p50/p95 latency at 1 and 10 concurrent conversations over the REST channel, and the mean
latency by turn number of one long conversation (turns 1-10, around the middle and the last ten,
up to turn 300). Then the NLU model alone (ours has the sentence-embedding featurizer): mean and
p95 time of one Agent.parse_message and the resident memory of a fresh process that loaded it.
Compare ratios, not absolute figures: the machine is shared and noisy.

usage: python bench/run.py [--quick] [--messages 300] [--turns 300] [--skip-stock]
                          [--skip-cluster] [--skip-stack] [--json PATH] [--nlu-model NAME=PATH ...]

--quick: 100 messages per load level, a 120-turn conversation and no NLU-alone table.
--nlu-model (repeatable) puts other trained models in the NLU-alone table instead of
models/current.tar.gz, e.g. two configurations side by side; the stack always runs the current one.

A target is a context manager yielding a `Running` (URL, pids, seconds to ready); TARGETS lists
them in order: this assistant (the embedded default, one replica), the cluster profile (through
nginx to two replicas, PostgreSQL and Redis; its memory counts every program, PostgreSQL's
backends included; --skip-cluster leaves it out) and the stock assistant. The cluster is
reported against the one replica of the embedded default.
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
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load_targets import start_cluster  # noqa: E402
from bot.readiness import listening_ports, url_answers, wait_until  # noqa: E402
from bot.serve import Stack, StackSettings  # noqa: E402

STOCK_DIR = ROOT / "bench" / "stock"
QUESTIONS = [
    q["text"]
    for q in yaml.safe_load((ROOT / "tests" / "nlu_eval" / "questions.yml").read_text())[
        "questions"
    ]
]
TURNS_PER_CONVERSATION = 10  # a patient asks a handful of questions, then leaves
TURN_WINDOW = 10  # turns averaged per point of the latency-by-turn figure

# Issue 11's goals, checked at the end of a run.
GOAL_THROUGHPUT_RATIO = 3.0  # x stock at 10 conversations
GOAL_P95_MS = 150.0
GOAL_READY_S = 15.0
GOAL_MEMORY_MB = 900.0
GOAL_TURN_GROWTH = 1.2  # latency of the last turns / first turns


@dataclass
class Running:
    """A started target: its Rasa URL, the pids whose memory counts, seconds to ready."""

    url: str
    pids: list[int]
    ready_seconds: float


@dataclass
class LoadFigures:
    concurrency: int
    messages: int
    seconds: float
    messages_per_second: float
    p50_ms: float
    p95_ms: float
    errors: int  # non-200 answers or replies with no message at all
    cpu_ms_per_message: float  # CPU time of all the target's processes: robust to a busy machine


@dataclass
class TurnFigures:
    """Mean latency of turns first..last (1-based) of one long conversation."""

    first: int
    last: int
    mean_ms: float
    cpu_ms: float  # mean CPU time of all the target's processes per turn


@dataclass
class Figures:
    name: str
    ready_seconds: float
    total_rss_mb: float
    processes: int
    loads: list[LoadFigures]
    turns: list[TurnFigures] = field(default_factory=list)

    def load(self, concurrency: int) -> LoadFigures:
        return next(lf for lf in self.loads if lf.concurrency == concurrency)


def rss_mb(pids: list[int]) -> tuple[float, int]:
    """Resident memory of `pids` and their children, in MB, and how many processes that is."""
    total, count = 0, 0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                total += p.memory_info().rss
                count += 1
        except psutil.NoSuchProcess:
            pass
    return total / 1e6, count


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time used so far by `pids` and their children."""
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


async def _send(session: aiohttp.ClientSession, url: str, sender: str, text: str) -> bool:
    async with session.post(url, json={"sender": sender, "message": text}) as response:
        body = await response.json()
        return response.status == 200 and bool(body)


async def _conversation(
    session: aiohttp.ClientSession, url: str, sender: str, count: int, latencies: list[float]
) -> int:
    """One simulated visitor slot: `count` messages, a new conversation every 10 turns."""
    errors = 0
    for i in range(count):
        text = QUESTIONS[(hash(sender) + i) % len(QUESTIONS)]
        visitor = f"{sender}-{i // TURNS_PER_CONVERSATION}"
        started = time.perf_counter()
        errors += not await _send(session, url, visitor, text)
        latencies.append((time.perf_counter() - started) * 1000)
    return errors


async def load(running: Running, concurrency: int, total: int) -> LoadFigures:
    url = f"{running.url}/webhooks/rest/webhook"
    latencies: list[float] = []
    per_conversation = max(1, total // concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await _conversation(session, url, "warmup", 10, [])
        cpu = cpu_seconds(running.pids)
        started = time.perf_counter()
        errors = await asyncio.gather(
            *(
                _conversation(session, url, f"bench-{concurrency}-{c}", per_conversation, latencies)
                for c in range(concurrency)
            )
        )
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(running.pids) - cpu
    latencies.sort()
    return LoadFigures(
        concurrency=concurrency,
        messages=len(latencies),
        seconds=round(seconds, 2),
        messages_per_second=round(len(latencies) / seconds, 1),
        p50_ms=round(statistics.median(latencies), 1),
        p95_ms=round(latencies[int(0.95 * (len(latencies) - 1))], 1),
        errors=sum(errors),
        cpu_ms_per_message=round(cpu * 1000 / len(latencies), 1),
    )


def turn_windows(turns: int) -> list[tuple[int, int]]:
    """The first ten turns, ten around the middle (turn 100 of 300) and the last ten."""
    middle = max(TURN_WINDOW, turns // 3)
    windows = [(1, TURN_WINDOW), (middle + 1, middle + TURN_WINDOW)]
    windows.append((turns - TURN_WINDOW + 1, turns))
    return sorted({w for w in windows if w[1] <= turns})


async def long_conversation(running: Running, turns: int) -> list[TurnFigures]:
    """One conversation of `turns` messages in a row (one session), latency and CPU time by
    turn number."""
    url = f"{running.url}/webhooks/rest/webhook"
    sender = f"long-{time.monotonic_ns()}"
    latencies: list[float] = []
    cpu: list[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for i in range(turns):
            started, cpu_before = time.perf_counter(), cpu_seconds(running.pids)
            await _send(session, url, sender, QUESTIONS[i % len(QUESTIONS)])
            latencies.append((time.perf_counter() - started) * 1000)
            cpu.append((cpu_seconds(running.pids) - cpu_before) * 1000)
    return [
        TurnFigures(
            first,
            last,
            round(statistics.mean(latencies[first - 1 : last]), 1),
            round(statistics.mean(cpu[first - 1 : last]), 1),
        )
        for first, last in turn_windows(turns)
    ]


@contextmanager
def ours() -> Iterator[Running]:
    """The embedded default, as `python -m bot serve` starts it (every port chosen freely)."""
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
        pids = [p.pid for p in stack.processes.values() if p.pid]
        yield Running(stack.rasa_url, pids, stack.ready_seconds or 0.0)


@contextmanager
def cluster() -> Iterator[Running]:
    """The cluster profile as `make run-cluster` starts it (one Sanic worker per replica, the
    default), every port chosen freely (bench/load_targets.py `start_cluster`); clients reach it
    through nginx."""
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    work.chmod(0o755)  # PostgreSQL's OS user reaches its data directory
    with start_cluster(work, {}) as stack:
        pids = [p.pid for p in stack.processes.values() if p.pid]
        yield Running(stack.public_url, pids, stack.ready_seconds or 0.0)


def ensure_stock_model() -> Path:
    models = sorted((STOCK_DIR / "models").glob("*.tar.gz"))
    if not models:
        print("training the stock `rasa init` assistant (once; takes a few minutes)…", flush=True)
        STOCK_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(Path(sys.executable).parent / "rasa"), "init", "--no-prompt", "--init-dir",
             str(STOCK_DIR)],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=STOCK_DIR,
        )  # fmt: skip
        models = sorted((STOCK_DIR / "models").glob("*.tar.gz"))
    return models[-1]


@contextmanager
def stock() -> Iterator[Running]:
    """`rasa run` of a stock `rasa init` assistant (in-memory tracker store, no actions)."""
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
        yield Running(url, [proc.pid], time.monotonic() - started)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


# In the order they run and are reported; the first is "ours", the last the reference.
TARGETS: dict[str, Callable[[], AbstractContextManager[Running]]] = {
    "this assistant": ours,
    "cluster": cluster,
    "stock rasa init": stock,
}


def measure(name: str, target: Callable[[], AbstractContextManager[Running]], total: int,
            turns: int) -> Figures:  # fmt: skip
    """Start `target`, drive it, and measure memory after the load (then stop it)."""
    print(f"measuring {name}…", flush=True)
    with target() as running:
        loads = [asyncio.run(load(running, c, total)) for c in (1, 10)]
        by_turn = asyncio.run(long_conversation(running, turns)) if turns else []
        total_mb, processes = rss_mb(running.pids)
        return Figures(
            name=name,
            ready_seconds=round(running.ready_seconds, 1),
            total_rss_mb=round(total_mb, 0),
            processes=processes,
            loads=loads,
            turns=by_turn,
        )


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
        f"\n{'':20}{'ready s':>9}{'all MB':>8}{'procs':>6}  per load: msg/s  p50 ms  p95 ms  err"
        "  CPU ms/msg"
    )
    for f in results:
        for i, lf in enumerate(f.loads):
            head = (
                f"{f.name:20}{f.ready_seconds:9.1f}{f.total_rss_mb:8.0f}{f.processes:6d}"
                if i == 0
                else " " * 43
            )
            print(
                f"{head}  x{lf.concurrency:<2} {lf.messages_per_second:9.1f} {lf.p50_ms:7.1f} "
                f"{lf.p95_ms:7.1f} {lf.errors:4d} {lf.cpu_ms_per_message:11.1f}"
            )
    if any(f.turns for f in results):
        print("\nlatency by turn of one conversation, mean ms (CPU ms of all processes)")
        windows = [f"turns {t.first}-{t.last}" for t in results[0].turns]
        print(f"{'':20}" + "".join(f"{w:>17}" for w in windows) + f"{'last/first':>14}")
        for f in results:
            means = "".join(f"{t.mean_ms:9.1f} ({t.cpu_ms:5.1f})" for t in f.turns)
            print(f"{f.name:20}{means}{turn_growth(f):7.2f} ({cpu_growth(f):4.2f})")


def turn_growth(f: Figures) -> float:
    return f.turns[-1].mean_ms / f.turns[0].mean_ms if f.turns else float("nan")


def cpu_growth(f: Figures) -> float:
    return f.turns[-1].cpu_ms / f.turns[0].cpu_ms if f.turns else float("nan")


def report_goals(ours: Figures, stock: Figures | None) -> None:
    """Issue 11's table: this assistant against the stock one and the goals."""
    print(f"\n{'':32}{ours.name:>16}{stock.name if stock else '':>17}  goal")
    x10 = ours.load(10)
    rows = [
        ("throughput, 10 conversations", f"{x10.messages_per_second:.1f} msg/s",
         f"{stock.load(10).messages_per_second:.1f} msg/s" if stock else "",
         f">= {GOAL_THROUGHPUT_RATIO:g}x stock", stock is not None
         and x10.messages_per_second >= GOAL_THROUGHPUT_RATIO
         * stock.load(10).messages_per_second),
        ("p95, 10 conversations", f"{x10.p95_ms:.0f} ms",
         f"{stock.load(10).p95_ms:.0f} ms" if stock else "", f"<= {GOAL_P95_MS:g} ms",
         x10.p95_ms <= GOAL_P95_MS),
        ("ready after start", f"{ours.ready_seconds:.1f} s",
         f"{stock.ready_seconds:.1f} s" if stock else "", f"<= {GOAL_READY_S:g} s",
         ours.ready_seconds <= GOAL_READY_S),
        (f"memory, all {ours.processes} processes", f"{ours.total_rss_mb:.0f} MB",
         f"{stock.total_rss_mb:.0f} MB" if stock else "", f"<= {GOAL_MEMORY_MB:g} MB",
         ours.total_rss_mb <= GOAL_MEMORY_MB),
    ]  # fmt: skip
    if ours.turns:
        rows.append(
            (f"turn {ours.turns[-1].last} / turns 1-{TURN_WINDOW}", f"{turn_growth(ours):.2f}x",
             f"{turn_growth(stock):.2f}x" if stock and stock.turns else "",
             f"<= {GOAL_TURN_GROWTH:g}x", turn_growth(ours) <= GOAL_TURN_GROWTH)
        )  # fmt: skip
        rows.append(
            ("  the same in CPU time", f"{cpu_growth(ours):.2f}x",
             f"{cpu_growth(stock):.2f}x" if stock and stock.turns else "",
             f"<= {GOAL_TURN_GROWTH:g}x", cpu_growth(ours) <= GOAL_TURN_GROWTH)
        )  # fmt: skip
    for label, mine, theirs, goal, met in rows:
        print(f"{label:32}{mine:>16}{theirs:>17}  {goal:14}{'met' if met else 'NOT met'}")
    if stock:
        ratio = x10.messages_per_second / stock.load(10).messages_per_second
        cpu = stock.load(10).cpu_ms_per_message / x10.cpu_ms_per_message
        print(
            f"throughput at 10 conversations: {ratio:.1f}x the stock assistant "
            f"(by CPU time per message, which a busy machine disturbs less: {cpu:.1f}x)"
        )


def report_cluster(one: Figures, cluster: Figures) -> None:
    """The cluster (two replicas through nginx) against the embedded default's one replica."""
    ten, cluster_ten = one.load(10), cluster.load(10)
    print(f"\n{'':32}{cluster.name:>16}{'one replica':>17}  cluster / one")
    rows = [
        ("throughput, 10 conversations", f"{cluster_ten.messages_per_second:.1f} msg/s",
         f"{ten.messages_per_second:.1f} msg/s",
         cluster_ten.messages_per_second / ten.messages_per_second),
        ("p95, 10 conversations", f"{cluster_ten.p95_ms:.0f} ms", f"{ten.p95_ms:.0f} ms",
         cluster_ten.p95_ms / ten.p95_ms),
        ("CPU per message, 10 conv.", f"{cluster_ten.cpu_ms_per_message:.0f} ms",
         f"{ten.cpu_ms_per_message:.0f} ms",
         cluster_ten.cpu_ms_per_message / ten.cpu_ms_per_message),
        ("ready after start", f"{cluster.ready_seconds:.1f} s", f"{one.ready_seconds:.1f} s",
         cluster.ready_seconds / one.ready_seconds),
        ("memory, all processes", f"{cluster.total_rss_mb:.0f} MB ({cluster.processes})",
         f"{one.total_rss_mb:.0f} MB ({one.processes})", cluster.total_rss_mb / one.total_rss_mb),
    ]  # fmt: skip
    for label, theirs, ours_, ratio in rows:
        print(f"{label:32}{theirs:>16}{ours_:>17}  {ratio:.2f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="100 messages, 120 turns, no NLU-alone table"
    )
    parser.add_argument("--messages", type=int, help="messages per load level (300)")
    parser.add_argument("--turns", type=int, help="turns of the long conversation (300; 0: none)")
    parser.add_argument("--skip-stock", action="store_true")
    parser.add_argument(
        "--skip-cluster",
        action="store_true",
        help="leave out the cluster profile (needs PostgreSQL, Redis, nginx: make services)",
    )
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
    messages = args.messages or (100 if args.quick else 300)
    turns = args.turns if args.turns is not None else (120 if args.quick else 300)
    models = [spec.partition("=")[::2] for spec in args.nlu_model] or [
        ("this assistant", str(ROOT / "models" / "current.tar.gz"))
    ]
    targets = {} if args.skip_stack else dict(TARGETS)
    if args.skip_stock:
        targets.pop("stock rasa init", None)
    if args.skip_cluster:
        targets.pop("cluster", None)
    results = [measure(name, target, messages, turns) for name, target in targets.items()]
    nlu = [] if args.quick else [measure_nlu(n, Path(p).resolve(), ROOT) for n, p in models]
    if not (args.skip_stock or args.quick):
        nlu.append(measure_nlu("stock rasa init", ensure_stock_model(), STOCK_DIR))
    if results:
        report(results)
        stock_figures = next((f for f in results if f.name == "stock rasa init"), None)
        report_goals(results[0], stock_figures)
        cluster_figures = next((f for f in results if f.name == "cluster"), None)
        if cluster_figures and results[0] is not cluster_figures:
            report_cluster(results[0], cluster_figures)
    if nlu:
        report_nlu(nlu)
    if args.json:
        figures = {"stack": [asdict(r) for r in results], "nlu": [asdict(n) for n in nlu]}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
