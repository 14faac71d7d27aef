"""The worker: each pass drains the spool and delivers notifications; the CLI stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import yaml
from sqlalchemy import func, select

from bot.paths import CLINIC_CONFIG, PROJECT_ROOT
from bot.storage.db import Database
from bot.storage.models import Ticket
from bot.tickets.notify.outbox import Outbox
from bot.tickets.notify.worker import Worker
from bot.tickets.spool import Spool, record_report_or_spool

from .helpers import FakeClock, WebhookReceiver, make_clinic, make_report, unreachable_db


def ticket_ids(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.execute(select(Ticket.id)).scalars())


async def test_one_pass_drains_the_spool_then_notifies(
    tmp_path: Path, db: Database, spool: Spool, webhook: WebhookReceiver, clock: FakeClock
) -> None:
    clinic = make_clinic(webhook_url=webhook.url)
    assert record_report_or_spool(unreachable_db(tmp_path), make_report(), clinic, spool).spooled
    await webhook.start()
    worker = Worker(db, clinic, outbox=Outbox(clinic, clock=clock), spool=spool)

    result = await worker.run_once()
    assert result.ok and result.drained == 1 and result.outbox.delivered == 1
    assert webhook.idempotency_keys == ticket_ids(db)

    clock.advance(3600)
    again = await worker.run_once()
    assert (again.drained, again.outbox.delivered) == (0, 0)
    assert len(webhook.received) == 1


async def test_database_down_pass_is_reported_not_raised(tmp_path: Path, spool: Spool) -> None:
    def no_database() -> Database:
        return Database(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")

    result = await Worker(no_database, make_clinic(), spool=spool).run_once()
    assert not result.ok


async def test_loop_uses_the_injected_sleep_and_stops(
    db: Database, spool: Spool, clock: FakeClock
) -> None:
    stop = asyncio.Event()
    pauses: list[float] = []

    async def sleep(seconds: float) -> None:
        pauses.append(seconds)
        clock.advance(seconds)
        if len(pauses) == 3:
            stop.set()

    clinic = make_clinic()
    worker = Worker(db, clinic, outbox=Outbox(clinic, clock=clock), spool=spool, sleep=sleep)
    spool.append(make_report())
    await asyncio.wait_for(worker.run(stop), timeout=10)
    assert pauses == [1.0, 1.0, 1.0]
    assert len(ticket_ids(db)) == 1


# --- the command line, as a real process -----------------------------------------------------


def worker_env(tmp_path: Path, webhook_url: str, database_url: str) -> dict[str, str]:
    clinic = yaml.safe_load(CLINIC_CONFIG.read_text())
    clinic["notifications"]["webhook_url"] = webhook_url
    clinic_file = tmp_path / "clinic.yml"
    clinic_file.write_text(yaml.safe_dump(clinic))
    env = dict(os.environ)
    env.update(
        MESO_VAR_DIR=str(tmp_path / "var"),
        MESO_DATABASE_URL=database_url,
        MESO_CLINIC_CONFIG=str(clinic_file),
        PYTHONPATH=str(PROJECT_ROOT),
    )
    return env


async def start_worker(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.tickets.notify.worker",
        *args,
        env=env,
        cwd=PROJECT_ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )


async def test_cli_once_records_spooled_report_and_notifies(
    tmp_path: Path, webhook: WebhookReceiver, database_url: str
) -> None:
    env = worker_env(tmp_path, webhook.url, database_url)
    Spool(tmp_path / "var" / "spool").append(make_report())
    await webhook.start()
    process = await start_worker(env, "--once")
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, output.decode()
    database = Database(env["MESO_DATABASE_URL"])
    try:
        assert webhook.idempotency_keys == ticket_ids(database)
        assert len(webhook.received) == 1
        with database.session() as session:
            assert session.execute(select(func.count()).select_from(Ticket)).scalar_one() == 1
    finally:
        database.dispose()


async def test_cli_loop_delivers_and_stops_cleanly_on_sigterm(
    tmp_path: Path, webhook: WebhookReceiver, database_url: str
) -> None:
    env = worker_env(tmp_path, webhook.url, database_url)
    await webhook.start()
    process = await start_worker(env)
    try:
        # Spooled while the worker is already polling: picked up within a pass or two.
        await asyncio.sleep(0.5)
        Spool(tmp_path / "var" / "spool").append(make_report())
        for _ in range(300):
            if webhook.received:
                break
            await asyncio.sleep(0.1)
        assert len(webhook.received) == 1
        process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=15)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, output.decode()
    assert b"worker stopped" in output
