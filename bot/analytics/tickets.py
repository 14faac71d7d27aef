"""Ticket figures over a period: escalations per severity per bucket, the median time to
acknowledge by severity, and the channel mix. Counted in SQL."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, func, select

from bot.analytics.period import Period
from bot.analytics.sqlfuncs import epoch_seconds, floor_int
from bot.storage.db import Database
from bot.storage.models import Ticket
from bot.triage.result import MOST_SEVERE_FIRST


@dataclass(frozen=True)
class Counts:
    """counts[series][bucket index]; `series` in display order."""

    series: tuple[str, ...]
    counts: dict[str, list[int]]

    def total(self, name: str) -> int:
        return sum(self.counts.get(name, ()))


@dataclass(frozen=True)
class AckTime:
    severity: str
    acknowledged: int  # tickets of the period acknowledged so far
    waiting: int  # tickets of the period not acknowledged yet
    median_seconds: float | None  # None when none was acknowledged


def _in_period(period: Period):  # type: ignore[no-untyped-def]
    return and_(Ticket.created_at >= period.start, Ticket.created_at < period.end)


def _bucket(period: Period):  # type: ignore[no-untyped-def]
    offset = epoch_seconds(Ticket.created_at) - period.start.timestamp()
    return floor_int(offset / period.bucket_seconds)


def escalations(db: Database, period: Period) -> Counts:
    """Tickets made in the period, per severity and bucket."""
    bucket = _bucket(period).label("bucket")
    query = (
        select(bucket, Ticket.severity, func.count())
        .where(_in_period(period))
        .group_by(bucket, Ticket.severity)
    )
    size = len(period.buckets)
    counts: dict[str, list[int]] = {s: [0] * size for s in MOST_SEVERE_FIRST}
    with db.session() as session:
        for index, severity, count in session.execute(query):
            counts.setdefault(severity, [0] * size)[min(int(index), size - 1)] += count
    return Counts(tuple(counts), counts)


def acknowledge_times(db: Database, period: Period) -> list[AckTime]:
    """For tickets made in the period, by severity: how many were acknowledged, how many wait,
    and the median seconds from report to acknowledgement (a window-function median in SQL)."""
    seconds = (epoch_seconds(Ticket.acknowledged_at) - epoch_seconds(Ticket.created_at)).label(
        "seconds"
    )
    ranked = (
        select(
            Ticket.severity.label("severity"),
            seconds,
            func.row_number().over(partition_by=Ticket.severity, order_by=seconds).label("rank"),
            func.count().over(partition_by=Ticket.severity).label("n"),
        )
        .where(_in_period(period), Ticket.acknowledged_at.is_not(None))
        .subquery()
    )
    # The middle row, or the mean of the two middle rows; integer division in both dialects.
    median = (
        select(ranked.c.severity, func.avg(ranked.c.seconds), func.max(ranked.c.n))
        .where(ranked.c.rank.in_([(ranked.c.n + 1) / 2, (ranked.c.n + 2) / 2]))
        .group_by(ranked.c.severity)
    )
    waiting = (
        select(Ticket.severity, func.count())
        .where(_in_period(period), Ticket.acknowledged_at.is_(None))
        .group_by(Ticket.severity)
    )
    with db.session() as session:
        # Rounded to the millisecond: SQLite's julianday arithmetic is off by microseconds.
        medians = {s: (round(float(m), 3), int(n)) for s, m, n in session.execute(median)}
        waits = {s: int(n) for s, n in session.execute(waiting)}
    others = sorted((set(medians) | set(waits)) - set(MOST_SEVERE_FIRST))
    severities = list(MOST_SEVERE_FIRST) + others
    return [
        AckTime(
            severity=s,
            acknowledged=medians[s][1] if s in medians else 0,
            waiting=waits.get(s, 0),
            median_seconds=medians[s][0] if s in medians else None,
        )
        for s in severities
    ]


def channel_mix(db: Database, period: Period) -> list[tuple[str, int]]:
    """Tickets made in the period per channel, the most first (ties by name, in code points:
    a database's collation would order them differently on each server)."""
    query = select(Ticket.channel, func.count()).where(_in_period(period)).group_by(Ticket.channel)
    with db.session() as session:
        counts = [(channel, int(n)) for channel, n in session.execute(query)]
    return sorted(counts, key=lambda row: (-row[1], row[0]))
