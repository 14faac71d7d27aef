"""Durable spool: reports that could not reach the database wait here as JSON lines.

Layout under `VAR_DIR/spool/`: writers append to `reports.jsonl`; a drain first renames it to
`reports.<time>.<uuid>.draining`, records every entry idempotently, and deletes that file only
after all its entries are committed. A crash at any point leaves the file to be drained again
(idempotency keeps it at one ticket per message). Entries that cannot be read at all go to
`rejected.jsonl` with an error log; nothing is deleted unseen.

Concurrency: every append and every drain holds an exclusive `flock` on the file, and a writer
re-checks after locking that its descriptor is still the live `reports.jsonl`, so a line can never
land in a file that a drain has already read.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.clinic import ClinicConfig
from bot.observability.metrics import note_ticket_record
from bot.paths import VAR_DIR
from bot.storage.db import Database, get_database
from bot.storage.models import utcnow
from bot.tickets.records import record_report, ticket_id_for_message
from bot.tickets.report import Report, check_report

logger = logging.getLogger(__name__)

SPOOL_FILE = "reports.jsonl"
DRAINING_SUFFIX = ".draining"
REJECTED_FILE = "rejected.jsonl"
FORMAT_VERSION = 1


def default_spool_dir() -> Path:
    return VAR_DIR / "spool"


@dataclass(frozen=True)
class RecordOutcome:
    """`ticket_id` is None exactly when the report was not stored now (spooled for the worker
    to record later, or, if even the spool failed, lost); `expected_ticket_id` is the id its
    ticket has or will have once the spool is drained."""

    ticket_id: str | None
    spooled: bool
    expected_ticket_id: str


class Spool:
    """An append-only, fsync'd file of reports, safe for concurrent writers and drainers."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_spool_dir()

    @property
    def path(self) -> Path:
        return self.directory / SPOOL_FILE

    def append(self, report: Report) -> None:
        """Durably add one report (returns after fsync). Raises OSError if the disk refuses."""
        entry = {
            "v": FORMAT_VERSION,
            "spooled_at": utcnow().isoformat(),
            "report": report.as_dict(),
        }
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _append_line(self.path, line, self.directory)

    def pending(self) -> int:
        """How many entries wait to be drained (for health checks and tests)."""
        count = 0
        for path in [self.path, *self.directory.glob(f"*{DRAINING_SUFFIX}")]:
            try:
                count += sum(1 for line in path.read_bytes().split(b"\n") if line.strip())
            except FileNotFoundError:
                continue
        return count

    def drain(self, db: Database, clinic: ClinicConfig) -> int:
        """Record spooled reports as tickets; returns how many were recorded (new or already
        present). Stops at the first database error and keeps the rest for the next drain."""
        if not self.directory.is_dir():
            return 0
        self._claim_current_file()
        recorded = 0
        for path in sorted(self.directory.glob(f"*{DRAINING_SUFFIX}")):
            count, finished = self._drain_file(path, db, clinic)
            recorded += count
            if not finished:
                break
        return recorded

    def _claim_current_file(self) -> None:
        claimed = self.directory / f"reports.{time.time_ns()}.{uuid.uuid4().hex}{DRAINING_SUFFIX}"
        with suppress(FileNotFoundError):
            os.rename(self.path, claimed)

    def _drain_file(self, path: Path, db: Database, clinic: ClinicConfig) -> tuple[int, bool]:
        """(entries recorded, whether the file is done). A file locked by a writer still
        finishing its append, or by another drainer, is left for a later pass."""
        with _try_lock(path) as fd:
            if fd is None or os.fstat(fd).st_nlink == 0:
                return 0, True
            reports, unreadable = _parse(_read_all(fd))
            recorded = 0
            for report in reports:
                try:
                    record_report(db, report, clinic)
                except Exception as exc:  # the database is still unavailable: try again later
                    logger.warning(
                        "spool drain paused, database unavailable (%s); %d entries wait in %s",
                        type(exc).__name__,
                        len(reports) - recorded,
                        path.name,
                    )
                    return recorded, False
                recorded += 1
            if unreadable:
                self._reject(unreadable, path.name)
            os.unlink(path)
            return recorded, True

    def remove_where(self, matches: Callable[[dict[str, Any] | None, bytes], bool]) -> int:
        """Remove every entry (waiting, being drained or rejected) for which
        `matches(entry, raw_line)` is true (`entry` is None for a line that is not JSON); returns
        how many were removed. Each file is rewritten under its lock and renamed into place, so
        a writer or drainer holding the old file sees it is no longer live (bot/privacy)."""
        if not self.directory.is_dir():
            return 0
        removed = 0
        # A drain may rename reports.jsonl while it is rewritten (the lines then wait in a
        # draining file, which a drain leaves alone while it is locked): look again until clean.
        for _ in range(3):
            files = [self.path, self.directory / REJECTED_FILE]
            files += sorted(self.directory.glob(f"*{DRAINING_SUFFIX}"))
            found = sum(_rewrite_without(path, matches) for path in files)
            removed += found
            if not found:
                break
        return removed

    def _reject(self, lines: list[bytes], origin: str) -> None:
        logger.error(
            "%d unreadable spool entries from %s kept in %s for manual review",
            len(lines),
            origin,
            self.directory / REJECTED_FILE,
        )
        _append_line(self.directory / REJECTED_FILE, b"".join(ln + b"\n" for ln in lines), None)


def _expected(report: Report) -> str:
    return ticket_id_for_message(report.conversation_id, report.message_id)


def record_report_or_spool(
    db: Database | None, report: Report, clinic: ClinicConfig, spool: Spool | None = None
) -> RecordOutcome:
    """Store `report` as a ticket, or spool it when the database layer fails in any way.

    `db=None` uses the default database; failing to open it also spools. Raises NotAReport for
    a report without severity or ids, and OSError only if the database AND the spool both fail.
    """
    check_report(report)
    try:
        ticket_id = record_report(db if db is not None else get_database(), report, clinic)
        return RecordOutcome(ticket_id, False, _expected(report))
    except Exception as exc:
        # Only the type: database error texts can carry the statement parameters (patient text).
        logger.error(
            "ticket for conversation %s message %s not stored (%s); spooling the report",
            report.conversation_id,
            report.message_id,
            type(exc).__name__,
        )
    (spool or Spool()).append(report)
    return RecordOutcome(None, True, _expected(report))


RECORD_SECONDS = 3.0


async def record_report_promptly(
    report: Report,
    clinic: ClinicConfig,
    seconds: float | None = None,
    spool: Spool | None = None,
    db: Database | None = None,
) -> RecordOutcome:
    """Record `report` (see `record_report_or_spool`; `db` None: the default database) without
    ever holding up the reply.

    A database that has not answered within `seconds` (default RECORD_SECONDS) counts as down:
    the report is spooled and a late write, if it still lands, is the same ticket. Never raises
    for storage trouble: when the database and the spool both fail, it logs a critical error
    and returns an outcome with neither a ticket nor a spool entry (the tracker store's spool
    entry is the last net). Each outcome is counted (meso_ticket_records_total).
    """
    outcome = await _record_promptly(report, clinic, seconds, spool, db)
    stored = "stored" if outcome.ticket_id else "spooled" if outcome.spooled else "lost"
    note_ticket_record(report.triage.severity, stored)
    return outcome


async def _record_promptly(
    report: Report,
    clinic: ClinicConfig,
    seconds: float | None,
    spool: Spool | None,
    db: Database | None,
) -> RecordOutcome:
    seconds = RECORD_SECONDS if seconds is None else seconds
    try:
        return await asyncio.wait_for(
            asyncio.to_thread(record_report_or_spool, db, report, clinic, spool), seconds
        )
    except asyncio.TimeoutError:
        logger.error(
            "database did not answer within %.0fs; spooling the report of conversation %s",
            seconds,
            report.conversation_id,
        )
    except OSError:
        logger.critical(
            "report of conversation %s message %s neither stored nor spooled",
            report.conversation_id,
            report.message_id,
        )
        return RecordOutcome(None, False, _expected(report))
    try:
        await asyncio.to_thread((spool or Spool()).append, report)
    except OSError:
        logger.critical("report of conversation %s not spooled", report.conversation_id)
        return RecordOutcome(None, False, _expected(report))
    return RecordOutcome(None, True, _expected(report))


def drain_spool(db: Database, clinic: ClinicConfig, spool: Spool | None = None) -> int:
    """Record every spooled report idempotently; see `Spool.drain`."""
    return (spool or Spool()).drain(db, clinic)


# --- file helpers ---------------------------------------------------------------------------


def _append_line(path: Path, data: bytes, directory: Path | None) -> None:
    """Append `data` under an exclusive lock, to the file that is at `path` after locking."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if not _is_live(fd, path):
                continue  # a drain renamed it between our open and our lock: reopen
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                os.write(fd, b"\n")  # a writer died mid-line: keep our entry on its own line
            _write_all(fd, data)
            os.fsync(fd)
            if size == 0 and directory is not None:
                _fsync_dir(directory)
            return
        finally:
            os.close(fd)


def _rewrite_without(path: Path, matches: Callable[[dict[str, Any] | None, bytes], bool]) -> int:
    """Drop the matching lines of `path` (see Spool.remove_where); returns how many."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if os.fstat(fd).st_nlink == 0:
            return 0  # a drain finished it meanwhile
        kept: list[bytes] = []
        removed = 0
        for line in _read_all(fd).split(b"\n"):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if matches(entry if isinstance(entry, dict) else None, line):
                removed += 1
            else:
                kept.append(line)
        if removed == 0:
            return 0
        if kept:
            temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            tmp_fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                _write_all(tmp_fd, b"".join(line + b"\n" for line in kept))
                os.fsync(tmp_fd)
            finally:
                os.close(tmp_fd)
            os.rename(temporary, path)
        else:
            os.unlink(path)
        _fsync_dir(path.parent)
        return removed
    finally:
        os.close(fd)


def _is_live(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (mine.st_dev, mine.st_ino) == (on_disk.st_dev, on_disk.st_ino)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_all(fd: int) -> bytes:
    chunks = []
    offset = 0
    while chunk := os.pread(fd, 1 << 20, offset):
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


@contextmanager
def _try_lock(path: Path) -> Iterator[int | None]:
    """An fd holding an exclusive lock on `path`; None if it vanished or someone holds it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield None
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


def _parse(content: bytes) -> tuple[list[Report], list[bytes]]:
    reports: list[Report] = []
    unreadable: list[bytes] = []
    for line in content.split(b"\n"):
        if not line.strip():
            continue
        try:
            report = Report.from_dict(json.loads(line)["report"])
            check_report(report)
        except Exception:
            unreadable.append(line)
            continue
        reports.append(report)
    return reports, unreadable
