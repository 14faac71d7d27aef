"""The inbox at volume: one page of tickets matching filters, counts by severity and status, and
the tickets that arrived after a moment (for live updates).

Every query filters, orders and pages in SQL and reads only the first characters of a patient's
message; the indexes that serve them are declared on `Ticket` (revision 0004_inbox_search).
Rows carry a snippet of the patient's message: only signed-in staff see them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from bot.storage.db import Database
from bot.storage.models import Ticket, as_utc
from bot.tickets.queries import TicketSummary, summarise
from bot.tickets.records import ticket_reference
from bot.tickets.states import ACKNOWLEDGED, ACTIVE_STATUSES, OPEN, RESOLVED
from bot.triage.result import MOST_SEVERE_FIRST, SEVERITY_ORDER

PAGE_SIZE = 25
# How many of the newest tickets a live update looks at, whatever its filter.
_NEWEST_SCANNED = 1000
SNIPPET_CHARS = 140
# Read at most this much of a message from the database: enough to cut at a word boundary.
_SNIPPET_READ = SNIPPET_CHARS + 40
ALL_STATUSES = (OPEN, ACKNOWLEDGED, RESOLVED)
# What the status filter offers; "active" (open or acknowledged) is the inbox's default.
STATUS_CHOICES: dict[str, tuple[str, ...]] = {
    "active": ACTIVE_STATUSES,
    OPEN: (OPEN,),
    ACKNOWLEDGED: (ACKNOWLEDGED,),
    RESOLVED: (RESOLVED,),
    "all": ALL_STATUSES,
}
SEVERITIES: tuple[str, ...] = MOST_SEVERE_FIRST
# A reference as a patient may quote it: the id's hex digits, possibly only the first few.
MIN_REFERENCE_CHARS = 4
_HEX_ID = re.compile(rf"[0-9a-f]{{{MIN_REFERENCE_CHARS},32}}")

_TOP_SEVERITY = SEVERITIES[0]  # "emergency"
# Most severe first; a severity this code does not know sorts last rather than disappearing.
_SEVERITY_RANK = case(SEVERITY_ORDER, value=Ticket.severity, else_=0)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class InboxFilter:
    """Which tickets a list shows. `created_from` inclusive, `created_before` exclusive (UTC);
    `reference` is lower-case hex, a prefix of the ticket id."""

    status: str = "active"
    severity: str | None = None
    channel: str | None = None
    created_from: datetime | None = None
    created_before: datetime | None = None
    reference: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUS_CHOICES:
            raise ValueError(f"unknown status filter {self.status!r}")
        if self.reference is not None and not _HEX_ID.fullmatch(self.reference):
            raise ValueError(f"not a ticket reference: {self.reference!r}")


@dataclass(frozen=True)
class InboxRow:
    """A ticket as the inbox lists it: its summary and the start of the patient's message."""

    summary: TicketSummary
    snippet: str
    recorded_at: datetime | None = None  # when the row was written (None: before 0007)

    @property
    def reference(self) -> str:
        return ticket_reference(self.summary.id)


@dataclass(frozen=True)
class Counts:
    """Tickets per (severity, status) under the channel, date and reference filters, and the
    unacknowledged emergencies in the whole inbox (what the page title warns about)."""

    cells: dict[tuple[str, str], int] = field(default_factory=dict)
    open_emergencies: int = 0

    def get(self, severity: str, status: str) -> int:
        return self.cells.get((severity, status), 0)

    def by_status(self, status: str) -> int:
        return sum(n for (_, s), n in self.cells.items() if s == status)

    def by_severity(self, severity: str) -> int:
        return sum(n for (v, _), n in self.cells.items() if v == severity)

    @property
    def total(self) -> int:
        return sum(self.cells.values())

    def as_json(self) -> dict[str, Any]:
        return {
            "by_severity_and_status": {
                severity: {status: self.get(severity, status) for status in ALL_STATUSES}
                for severity in SEVERITIES
            },
            "total": self.total,
            "open_emergencies": self.open_emergencies,
        }


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    total: int  # tickets matching the filter, on every page
    page: int
    page_size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first_number(self) -> int:
        return (self.page - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_number(self) -> int:
        return self.first_number + len(self.rows) - 1 if self.rows else 0


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """`text` on one line, cut at a word boundary near `limit` characters with an ellipsis."""
    flat = _WHITESPACE.sub(" ", text).strip()
    if len(flat) <= limit:
        return flat
    cut = flat[:limit]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:  # a word boundary not too far back
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def normalise_reference(raw: str) -> str:
    """A reference as typed ("#3F2A 9C1E", "3f2a-9c1e") to the id prefix it stands for."""
    return re.sub(r"[\s#-]", "", raw).lower()


def _conditions(
    criteria: InboxFilter, *, with_status: bool = True, t: Any = Ticket
) -> list[ColumnElement[bool]]:
    """`criteria` as SQL conditions on `t` (the tickets table, or an alias of part of it)."""
    where: list[ColumnElement[bool]] = []
    if with_status:
        if criteria.status != "all":  # no condition at all, rather than one every row meets
            where.append(t.status.in_(STATUS_CHOICES[criteria.status]))
        if criteria.severity is not None:
            where.append(t.severity == criteria.severity)
    if criteria.channel is not None:
        where.append(t.channel == criteria.channel)
    if criteria.created_from is not None:
        where.append(t.created_at >= criteria.created_from)
    if criteria.created_before is not None:
        where.append(t.created_at < criteria.created_before)
    if criteria.reference is not None:
        # A range on the primary key rather than LIKE, so every database uses its index:
        # ids are lower-case hex, and "g" sorts after every hex digit.
        where.append(and_(t.id >= criteria.reference, t.id < criteria.reference + "g"))
    return where


def _order(status: str) -> tuple[ColumnElement[Any], ...]:
    if status == RESOLVED:
        return (Ticket.resolved_at.desc(), Ticket.id)
    if status == "all":
        return (Ticket.created_at.desc(), Ticket.id)
    return (_SEVERITY_RANK.desc(), Ticket.created_at, Ticket.id)


def _row_columns(t: Any = Ticket) -> tuple[Any, ...]:
    return (
        t.id,
        t.severity,
        t.status,
        t.symptoms,
        t.channel,
        t.created_at,
        t.acknowledged_by,
        t.acknowledged_at,
        t.resolved_by,
        t.resolved_at,
        t.callback_number,
        t.recorded_at,
        func.substr(t.trigger_text, 1, _SNIPPET_READ).label("trigger_start"),
    )


def _row(record: Any) -> InboxRow:
    # The row has every column `summarise` reads, under the same names.
    recorded_at = as_utc(record.recorded_at) if record.recorded_at is not None else None
    return InboxRow(summarise(record), snippet(record.trigger_start or ""), recorded_at)


def search(db: Database, criteria: InboxFilter, page: int = 1) -> InboxPage:
    """Page `page` (from 1) of the tickets matching `criteria`, in the status's order."""
    if page < 1:
        raise ValueError("pages are numbered from 1")
    where = _conditions(criteria)
    with db.session() as session:
        total = session.execute(select(func.count()).select_from(Ticket).where(*where)).scalar()
        records = session.execute(
            select(*_row_columns())
            .where(*where)
            .order_by(*_order(criteria.status))
            .limit(PAGE_SIZE)
            .offset((page - 1) * PAGE_SIZE)
        ).all()
        return InboxPage(rows=[_row(r) for r in records], total=int(total or 0), page=page)


def counts(db: Database, criteria: InboxFilter) -> Counts:
    """Tickets per severity and status under `criteria`'s channel, date and reference (its
    status and severity are what the counts break down), and the open emergencies overall."""
    with db.session() as session:
        return _counts(session, criteria)


def _counts(session: Session, criteria: InboxFilter) -> Counts:
    grouped = session.execute(
        select(Ticket.severity, Ticket.status, func.count())
        .where(*_conditions(criteria, with_status=False))
        .group_by(Ticket.severity, Ticket.status)
    ).all()
    emergencies = session.execute(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.status == OPEN, Ticket.severity == _TOP_SEVERITY)
    ).scalar()
    return Counts({(s, st): int(n) for s, st, n in grouped}, int(emergencies or 0))


def recorded_after(
    db: Database, criteria: InboxFilter, after: datetime, limit: int = 100
) -> list[InboxRow]:
    """Tickets matching `criteria` written to the database after `after`, in that order (at
    most `limit`). By when it was written, not when it was reported: a report replayed from the
    spool after an outage carries its old created_at and is new to the inbox all the same.

    Each open inbox asks this every second. The newest tickets are found on the recorded_at
    index alone and only they are filtered (a derived table with a LIMIT is not merged into the
    outer query): given the filter's columns too, a planner without statistics (SQLite is never
    analysed here) walks a status index instead."""
    newest = aliased(
        Ticket,
        select(Ticket)
        .where(Ticket.recorded_at > after)
        .order_by(Ticket.recorded_at)
        .limit(_NEWEST_SCANNED)
        .subquery(),
    )
    with db.session() as session:
        records = session.execute(
            select(*_row_columns(newest))
            .where(*_conditions(criteria, t=newest))
            .order_by(newest.recorded_at, newest.id)
            .limit(limit)
        ).all()
        return [_row(r) for r in records]


def channels(db: Database) -> list[str]:
    """Every channel a ticket has come from, in alphabetical order."""
    with db.session() as session:
        return sorted(session.execute(select(Ticket.channel).distinct()).scalars())
