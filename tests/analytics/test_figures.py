"""Chart figures from seeded tickets and conversations, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from bot.analytics import conversations, figures, tickets
from bot.analytics.period import Period, PeriodError, parse_period
from bot.storage import rasa_events
from bot.storage.db import Database
from tests.analytics.seed import (
    CHANNELS,
    ESCALATIONS,
    MEDIAN_MINUTES,
    PERIOD,
    REPLY_KINDS,
    TOPICS,
    at,
    seed_conversations,
    seed_tickets,
)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    seed_tickets(database)
    yield database
    database.dispose()


@pytest.fixture
def tracker(database_url: str) -> Iterator[Engine]:
    """Rasa's tracker store in the same database (a deployment may share one or not)."""
    seed_conversations(database_url)
    engine = create_engine(database_url, future=True)
    yield engine
    engine.dispose()


def test_escalations_per_severity_per_day(db: Database) -> None:
    counts = tickets.escalations(db, PERIOD)
    assert counts.series == ("emergency", "urgent", "routine")
    assert counts.counts == ESCALATIONS


def test_median_time_to_acknowledge_by_severity(db: Database) -> None:
    times = {a.severity: a for a in tickets.acknowledge_times(db, PERIOD)}
    assert [s for s in times] == ["emergency", "urgent", "routine"]
    for severity, minutes in MEDIAN_MINUTES.items():
        median = times[severity].median_seconds
        assert (median / 60 if median is not None else None) == pytest.approx(minutes)
    assert (times["emergency"].acknowledged, times["emergency"].waiting) == (3, 0)
    assert (times["urgent"].acknowledged, times["urgent"].waiting) == (2, 1)
    assert (times["routine"].acknowledged, times["routine"].waiting) == (0, 1)


def test_channel_mix(db: Database) -> None:
    assert tickets.channel_mix(db, PERIOD) == CHANNELS


def test_weekly_buckets_for_a_long_range(db: Database) -> None:
    period = Period(date(2026, 1, 1), date(2026, 3, 11))  # 70 days: weeks
    assert period.bucket_days == 7 and len(period.buckets) == 10
    counts = tickets.escalations(db, period)
    # Day 0 is 2026-01-01: week 8 is days 56-62 (02-26 to 03-04), week 9 days 63-69 (to 03-11).
    assert counts.counts["emergency"][8:] == [3, 1]
    assert counts.counts["urgent"][8:] == [2, 1]
    assert counts.counts["routine"][8:] == [1, 1]
    assert sum(sum(v) for v in counts.counts.values()) == 9


def test_questions_per_topic_from_the_tracker_store(tracker: Engine) -> None:
    counts = conversations.questions_per_topic(tracker, PERIOD)
    assert counts.series == ("cost", "downtime")
    assert counts.counts == TOPICS


def test_reply_kinds_and_unsure_shares(tracker: Engine) -> None:
    kinds = conversations.reply_kinds(tracker, PERIOD)
    assert kinds.counts == REPLY_KINDS
    assert kinds.series[:2] == ("clarify", "out_of_scope")
    shares = conversations.unsure_shares(kinds, 7)
    assert shares["clarify"] == [0.0, 0.5, None, None, None, None, None]
    assert shares["out_of_scope"] == [0.25, 0.0, None, None, None, None, None]


def test_csv_files(db: Database, tracker: Engine) -> None:
    data = figures.collect(db, tracker, PERIOD)

    def rows(chart: str) -> list[list[str]]:
        return list(csv.reader(io.StringIO(figures.csv_text(figures.table(data, chart)))))

    assert rows("topics")[:3] == [
        ["day", "cost", "downtime"],
        ["2026-03-01", "2", "1"],
        ["2026-03-02", "0", "1"],
    ]
    assert len(rows("topics")) == 8
    assert rows("escalations")[1] == ["2026-03-01", "2", "0", "0"]
    assert rows("escalations")[7] == ["2026-03-07", "0", "0", "1"]
    replies = rows("replies")
    assert replies[0] == [
        "day", "replies", "clarify", "out_of_scope", "answer", "chitchat",
        "clarify_share", "out_of_scope_share",
    ]  # fmt: skip
    assert replies[1] == ["2026-03-01", "4", "0", "1", "3", "0", "0.0000", "0.2500"]
    assert replies[3] == ["2026-03-03", "0", "0", "0", "0", "0", "", ""]
    assert rows("acknowledge") == [
        ["severity", "acknowledged", "not_acknowledged", "median_minutes"],
        ["emergency", "3", "0", "10.0"],
        ["urgent", "2", "1", "30.0"],
        ["routine", "0", "1", ""],
    ]
    assert rows("channels") == [
        ["channel", "tickets", "share"],
        ["whatsapp", "3", "0.4286"],
        ["widget", "3", "0.4286"],
        ["kiosk", "1", "0.1429"],
    ]


def test_an_unreadable_tracker_store_leaves_the_ticket_charts(db: Database, tmp_path) -> None:
    empty = create_engine(f"sqlite:///{tmp_path / 'no_events.db'}")
    data = figures.collect(db, empty, PERIOD)
    assert data.topics is None and data.replies is None
    assert data.escalations.counts == ESCALATIONS
    assert figures.table(data, "topics") == [["day"]] + [[d.isoformat()] for d in PERIOD.buckets]


def test_a_csv_cell_is_never_a_formula() -> None:
    text = figures.csv_text([["=HYPERLINK(1)", "+1", "-2", "@x", "plain"]])
    assert text == "'=HYPERLINK(1),'+1,'-2,'@x,plain\r\n"


def test_tracker_table_matches_rasa() -> None:
    from rasa.core.tracker_store import SQLTrackerStore

    rasa_columns = {c.name: type(c.type) for c in SQLTrackerStore.SQLEvent.__table__.columns}
    ours = {c.name: type(c.type) for c in rasa_events.EVENTS.columns}
    assert ours == rasa_columns


TODAY = date(2026, 3, 31)


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "expected"),
    [
        (None, None, Period(date(2026, 3, 2), TODAY)),
        ("", "2026-03-10", Period(date(2026, 2, 9), date(2026, 3, 10))),
        (" 2026-03-01 ", "2026-03-01", Period(date(2026, 3, 1), date(2026, 3, 1))),
    ],
)
def test_periods(raw_from: str | None, raw_to: str | None, expected: Period) -> None:
    assert parse_period(raw_from, raw_to, TODAY) == expected


@pytest.mark.parametrize(
    ("raw_from", "raw_to", "message"),
    [
        ("yesterday", "", "The start date 'yesterday' is not a date. Use the form YYYY-MM-DD"),
        ("2026-03-01", "2026-02-30", "The end date '2026-02-30' is not a date"),
        ("2026-03-05", "2026-03-01", "The start date 2026-03-05 is after the end date 2026-03-01"),
        ("2024-01-01", "2026-03-01", "longer than 366 days"),
        ("2026-04-02", "2026-04-03", "The start date 2026-04-02 is in the future"),
    ],
)
def test_bad_periods_say_what_is_wrong(raw_from: str, raw_to: str, message: str) -> None:
    with pytest.raises(PeriodError, match=message.replace("(", r"\(")):
        parse_period(raw_from, raw_to, TODAY)


def test_period_edges() -> None:
    assert PERIOD.start == at(1, 0) and PERIOD.end == at(8, 0)
