"""The escalation worker: each pass drains the spool into tickets, then delivers due notifications,
then finishes any erasure left pending (bot/privacy/erasure.py) and, once every
RETENTION_EVERY, removes what is past its retention limit (bot/privacy/retention.py).

    python -m bot.tickets.notify.worker [--once] [--interval SECONDS]

(`python -m bot worker` runs the same `main`.) Without --once it polls every second and stops
cleanly on SIGTERM or SIGINT, finishing the pass in progress. A database outage is logged and
retried on the next pass; it never stops the loop.

With MESO_WORKER_PORT set (bot/serve.py sets it; 0: any free port) the worker also serves
/health/live, /health/ready (a pass finished within READY_WITHIN_SECONDS) and /metrics, with the
outbox and spool gauges read at scrape time, on MESO_WORKER_HOST (default 127.0.0.1).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from aiohttp import web

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import DataFileError
from bot.observability.collectors import QueueCollector
from bot.observability.endpoints import add_aiohttp_routes
from bot.observability.metrics import register_collector
from bot.privacy.erasure import resume_pending
from bot.privacy.registry import PrivacyContext
from bot.privacy.retention import RetentionRun, RetentionSchedule, apply_retention
from bot.storage.db import Database, get_database
from bot.storage.models import utcnow
from bot.storage.rasa_events import tracker_url
from bot.tickets.notify.outbox import Outbox, OutboxPass
from bot.tickets.spool import Spool

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 1.0
READY_WITHIN_SECONDS = 30.0  # a worker whose last pass ended longer ago is stuck
PORT_ENV = "MESO_WORKER_PORT"
HOST_ENV = "MESO_WORKER_HOST"


@dataclass
class PassResult:
    """One worker pass: spooled reports recorded, outbox results, and whether all steps ran."""

    drained: int = 0
    outbox: OutboxPass = field(default_factory=OutboxPass)
    erasures_finished: int = 0
    retention: RetentionRun | None = None  # None: not due this pass
    ok: bool = True


class Worker:
    """`database` is a Database or a function returning one (called each pass, so a database
    that is down at start-up is picked up once it is back)."""

    def __init__(
        self,
        database: Database | Callable[[], Database],
        clinic: ClinicConfig,
        outbox: Outbox | None = None,
        spool: Spool | None = None,
        interval: float = DEFAULT_INTERVAL_SECONDS,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        retention: RetentionSchedule | None = None,
        clock: Callable[[], datetime] = utcnow,
        tracker_url: str | None = None,
    ) -> None:
        self._database = database
        self.clinic = clinic
        self.outbox = outbox or Outbox(clinic)
        self.spool = spool or Spool()
        self.interval = interval
        self._sleep = sleep
        self.retention = retention or RetentionSchedule()
        self.clock = clock
        self.tracker_url = tracker_url  # Rasa's tracker store; None: see privacy_context
        self.last_pass: tuple[float, bool] | None = None  # (time.monotonic() at its end, ok)

    def database(self) -> Database:
        return self._database if isinstance(self._database, Database) else self._database()

    def ready(self) -> tuple[bool, dict[str, object]]:
        """Ready: a pass ended within READY_WITHIN_SECONDS (whatever it found)."""
        if self.last_pass is None:
            return False, {"last_pass": None}
        ended, ok = self.last_pass
        age = time.monotonic() - ended
        return age <= READY_WITHIN_SECONDS, {"last_pass_seconds_ago": round(age, 1), "ok": ok}

    async def run_once(self) -> PassResult:
        result = await self._pass()
        self.last_pass = (time.monotonic(), result.ok)
        return result

    async def _pass(self) -> PassResult:
        result = PassResult()
        try:
            db = self.database()
        except Exception as exc:
            logger.error("worker pass skipped, database unavailable (%s)", type(exc).__name__)
            return PassResult(ok=False)
        try:
            result.drained = self.spool.drain(db, self.clinic)
        except Exception as exc:
            result.ok = False
            logger.error("spool drain failed (%s)", type(exc).__name__)
        try:
            result.outbox = await self.outbox.deliver_due(db)
        except Exception as exc:
            result.ok = False
            logger.error("notification delivery pass failed (%s)", type(exc).__name__)
        await asyncio.to_thread(self._privacy, db, result)
        return result

    def privacy_context(self, db: Database) -> PrivacyContext:
        """The places to erase and expire: the tracker store is MESO_TRACKER_URL, else the
        SQLite file beside the spool's directory (both in the var directory, bot/serve.py)."""
        tracker = self.tracker_url or tracker_url(self.spool.directory.parent)
        return PrivacyContext(db, tracker, self.spool)

    def _privacy(self, db: Database, result: PassResult) -> None:
        """Finish pending erasures; apply retention when due. Failures wait for a later pass."""
        ctx = self.privacy_context(db)
        try:
            result.erasures_finished = resume_pending(ctx)
        except Exception as exc:
            result.ok = False
            logger.error("erasure pass failed (%s)", type(exc).__name__)
        if not self.retention.due():
            return
        try:
            result.retention = apply_retention(ctx, self.clinic.privacy, self.clock())
            self.retention.ran()
        except Exception as exc:
            result.ok = False
            logger.error("retention pass failed (%s)", type(exc).__name__)

    async def run(self, stop: asyncio.Event) -> None:
        """Pass after pass until `stop` is set."""
        while not stop.is_set():
            await self.run_once()
            await self._pause(stop)

    async def _pause(self, stop: asyncio.Event) -> None:
        if self._sleep is not None:
            await self._sleep(self.interval)
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=self.interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bot worker", description="Drain the report spool and deliver clinician notifications."
    )
    parser.add_argument("--once", action="store_true", help="run one pass and exit")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_SECONDS)
    parser.add_argument("--database-url", default=None, help="default: MESO_DATABASE_URL")
    args = parser.parse_args(argv)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    try:
        clinic = clinic_config()
    except DataFileError as exc:
        logger.error("cannot start the worker: %s", exc)
        return 2
    worker = Worker(lambda: get_database(args.database_url), clinic, interval=args.interval)
    if args.once:
        return 0 if asyncio.run(worker.run_once()).ok else 1
    port = os.environ.get(PORT_ENV)
    asyncio.run(_run_until_signalled(worker, None if port is None else int(port)))
    return 0


async def serve_endpoints(worker: Worker, host: str, port: int) -> web.AppRunner:
    """Start the worker's health and metrics endpoints; the caller cleans the runner up."""
    app = web.Application()
    attempts = worker.clinic.notifications.max_attempts
    register_collector(QueueCollector(worker.database, attempts, worker.spool))
    add_aiohttp_routes(app, worker.ready)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def _run_until_signalled(worker: Worker, port: int | None = None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = None
    if port is not None:
        runner = await serve_endpoints(worker, os.environ.get(HOST_ENV, "127.0.0.1"), port)
    logger.info("worker started (every %.1f s)", worker.interval)
    try:
        await worker.run(stop)
    finally:
        if runner is not None:
            await runner.cleanup()
    logger.info("worker stopped")


if __name__ == "__main__":
    raise SystemExit(main())
