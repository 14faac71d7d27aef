"""All the figures of the charts page for one period, and each chart's table for its CSV file."""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.analytics import conversations, tickets
from bot.analytics.period import Period
from bot.analytics.tickets import AckTime, Counts
from bot.storage.db import Database

logger = logging.getLogger(__name__)

CHARTS = ("topics", "escalations", "replies", "acknowledge", "channels")


@dataclass(frozen=True)
class Figures:
    period: Period
    escalations: Counts
    acknowledge: list[AckTime]
    channels: list[tuple[str, int]]
    topics: Counts | None  # None: the tracker store could not be read
    replies: Counts | None


def _tracker_figures(engine: Engine | None, period: Period) -> tuple[Counts | None, Counts | None]:
    if engine is None:
        return None, None
    try:
        return (
            conversations.questions_per_topic(engine, period),
            conversations.reply_kinds(engine, period),
        )
    except SQLAlchemyError as exc:
        # No conversation yet (no events table) or the store is down: the ticket charts still show.
        logger.warning("tracker store unreadable for charts: %s", type(exc).__name__)
        return None, None


def collect(db: Database, tracker: Engine | None, period: Period) -> Figures:
    """The figures of every chart; `tracker` None (or unreadable): no conversation figures."""
    topics, replies = _tracker_figures(tracker, period)
    return Figures(
        period=period,
        escalations=tickets.escalations(db, period),
        acknowledge=tickets.acknowledge_times(db, period),
        channels=tickets.channel_mix(db, period),
        topics=topics,
        replies=replies,
    )


def table(figures: Figures, chart: str) -> list[list[object]]:
    """The rows (header first) of `chart`'s CSV file."""
    period = figures.period
    first = "day" if period.bucket_days == 1 else "week_starting"
    days = [d.isoformat() for d in period.buckets]
    if chart == "topics":
        counts = figures.topics or Counts((), {})
        return [[first, *counts.series]] + [
            [day, *(counts.counts[s][i] for s in counts.series)] for i, day in enumerate(days)
        ]
    if chart == "escalations":
        counts = figures.escalations
        return [[first, *counts.series]] + [
            [day, *(counts.counts[s][i] for s in counts.series)] for i, day in enumerate(days)
        ]
    if chart == "replies":
        counts = figures.replies or Counts((), {})
        shares = conversations.unsure_shares(counts, len(days))
        header = [first, "replies", *counts.series]
        header += [f"{kind}_share" for kind in conversations.UNSURE_KINDS]
        rows: list[list[object]] = [header]
        for i, day in enumerate(days):
            values = [counts.counts[s][i] for s in counts.series]
            share_cells = [
                "" if shares[k][i] is None else f"{shares[k][i]:.4f}"
                for k in conversations.UNSURE_KINDS
            ]
            rows.append([day, sum(values), *values, *share_cells])
        return rows
    if chart == "acknowledge":
        return [["severity", "acknowledged", "not_acknowledged", "median_minutes"]] + [
            [
                a.severity,
                a.acknowledged,
                a.waiting,
                "" if a.median_seconds is None else f"{a.median_seconds / 60:.1f}",
            ]
            for a in figures.acknowledge
        ]
    if chart == "channels":
        total = sum(n for _, n in figures.channels)
        return [["channel", "tickets", "share"]] + [
            [channel, n, f"{n / total:.4f}"] for channel, n in figures.channels
        ]
    raise KeyError(chart)


def _cell(value: object) -> str:
    text = str(value)
    # A spreadsheet runs a cell starting with one of these as a formula; make it plain text.
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(rows: list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()
