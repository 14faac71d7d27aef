"""The durable spool: a report survives a database outage and becomes exactly one ticket."""

from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.storage.db import Database
from bot.storage.models import Notification, Ticket
from bot.tickets.records import record_report
from bot.tickets.spool import (
    REJECTED_FILE,
    SPOOL_FILE,
    Spool,
    drain_spool,
    record_report_or_spool,
)

from .helpers import make_clinic, make_report, unreachable_db

SECRET_TEXT = "my lip is swollen and I feel dizzy"


def ticket_count(db: Database) -> int:
    with db.session() as session:
        return session.execute(select(func.count()).select_from(Ticket)).scalar_one()


@pytest.fixture
def down_db(tmp_path: Path) -> Database:
    return unreachable_db(tmp_path)


def test_database_down_spools_then_drain_makes_one_ticket(
    down_db: Database, db: Database, spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    clinic = make_clinic(webhook_url="http://127.0.0.1:9/hook")
    report = make_report(text=SECRET_TEXT)
    with caplog.at_level(logging.INFO):
        outcome = record_report_or_spool(down_db, report, clinic, spool)
    assert outcome.spooled and outcome.ticket_id is None
    assert spool.pending() == 1
    assert SECRET_TEXT not in caplog.text
    assert "OperationalError" in caplog.text

    assert drain_spool(db, clinic, spool) == 1
    assert drain_spool(db, clinic, spool) == 0
    assert ticket_count(db) == 1
    assert spool.pending() == 0
    assert not list(spool.directory.glob("*.jsonl")) and not list(
        spool.directory.glob("*.draining")
    )
    with db.session() as session:
        ticket = session.execute(select(Ticket)).scalar_one()
        assert ticket.trigger_text == SECRET_TEXT
        assert session.execute(select(func.count()).select_from(Notification)).scalar_one() == 1


def test_report_both_spooled_and_recorded_is_one_ticket(
    down_db: Database, db: Database, spool: Spool
) -> None:
    clinic = make_clinic()
    record_report_or_spool(down_db, make_report(), clinic, spool)
    direct = record_report_or_spool(db, make_report(), clinic, spool)
    assert not direct.spooled and direct.ticket_id
    assert drain_spool(db, clinic, spool) == 1
    assert ticket_count(db) == 1


def test_default_database_unreachable_at_start_spools(
    tmp_path: Path, spool: Spool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MESO_DATABASE_URL", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    outcome = record_report_or_spool(None, make_report(), make_clinic(), spool)
    assert outcome.spooled and spool.pending() == 1


def test_drain_while_database_still_down_keeps_everything(
    down_db: Database, db: Database, spool: Spool
) -> None:
    clinic = make_clinic()
    for i in range(3):
        record_report_or_spool(down_db, make_report(message_id=f"m{i}"), clinic, spool)
    assert drain_spool(down_db, clinic, spool) == 0
    assert spool.pending() == 3
    assert drain_spool(db, clinic, spool) == 3
    assert ticket_count(db) == 3 and spool.pending() == 0


def test_leftover_draining_file_from_a_crash_is_drained(db: Database, spool: Spool) -> None:
    spool.append(make_report(message_id="a"))
    spool.append(make_report(message_id="b"))
    # A drainer claimed the file, recorded one entry, then crashed before deleting it.
    crashed = spool.directory / "reports.1.dead.draining"
    os.rename(spool.path, crashed)
    record_report(db, make_report(message_id="a"), make_clinic())
    spool.append(make_report(message_id="c"))
    assert drain_spool(db, make_clinic(), spool) == 3
    assert ticket_count(db) == 3
    assert not crashed.exists()


def test_unreadable_entries_are_kept_aside_and_the_rest_drained(
    db: Database, spool: Spool, caplog: pytest.LogCaptureFixture
) -> None:
    spool.append(make_report(message_id="a"))
    with open(spool.path, "ab") as fh:
        fh.write(b'{"v": 1, "report": {"channel": "rest"}}\n{"half a line')  # torn, no newline
    spool.append(make_report(message_id="b"))  # must start on its own line
    with caplog.at_level(logging.ERROR):
        assert drain_spool(db, make_clinic(), spool) == 2
    assert ticket_count(db) == 2
    rejected = (spool.directory / REJECTED_FILE).read_bytes().splitlines()
    assert rejected == [b'{"v": 1, "report": {"channel": "rest"}}', b'{"half a line']
    assert "unreadable spool entries" in caplog.text


def test_spool_file_is_private(spool: Spool) -> None:
    spool.append(make_report())
    assert (spool.path.stat().st_mode & 0o777) == 0o600


def _append_many(directory: str, writer: int, count: int) -> None:
    spool = Spool(directory)
    for i in range(count):
        spool.append(make_report(conversation_id=f"w{writer}", message_id=f"m{i}"))


def test_concurrent_writers_and_drainer_lose_nothing(db: Database, spool: Spool) -> None:
    writers, per_writer = 4, 40
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_append_many, args=(str(spool.directory), w, per_writer))
        for w in range(writers)
    ]
    for p in processes:
        p.start()
    clinic = make_clinic()
    while any(p.is_alive() for p in processes):
        drain_spool(db, clinic, spool)
    for p in processes:
        p.join()
        assert p.exitcode == 0
    drain_spool(db, clinic, spool)
    assert ticket_count(db) == writers * per_writer
    assert spool.pending() == 0
    assert not (spool.directory / REJECTED_FILE).exists()
    assert not (spool.directory / SPOOL_FILE).exists()
