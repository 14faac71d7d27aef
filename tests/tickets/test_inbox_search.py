"""The inbox's queries at volume, on SQLite and PostgreSQL: a few thousand tickets, filtered,
counted and paged in SQL, on indexes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.storage.db import Database
from bot.storage.models import Ticket, utcnow
from bot.tickets import inbox_search
from bot.tickets.inbox_search import PAGE_SIZE, InboxFilter, normalise_reference, snippet
from bot.triage.result import SEVERITY_ORDER
from tests.support.inbox_seed import Seeded, seed_tickets

COUNT = 3000
NOW = utcnow().replace(microsecond=0)


@pytest.fixture
def seeded(db: Database) -> list[Seeded]:
    return seed_tickets(db, COUNT, NOW)


def _inbox_order(tickets: list[Seeded]) -> list[str]:
    ordered = sorted(tickets, key=lambda t: (-SEVERITY_ORDER[t.severity], t.created_at, t.id))
    return [t.id for t in ordered]


def _ids(page: inbox_search.InboxPage) -> list[str]:
    return [row.summary.id for row in page.rows]


def test_active_tickets_are_paged_in_inbox_order(db: Database, seeded: list[Seeded]) -> None:
    active = [t for t in seeded if t.status != "resolved"]
    expected = _inbox_order(active)
    first = inbox_search.search(db, InboxFilter(), 1)
    assert first.total == len(active) == 2000
    assert first.pages == 80
    assert _ids(first) == expected[:PAGE_SIZE]
    assert first.rows[0].summary.severity == "emergency"
    assert _ids(inbox_search.search(db, InboxFilter(), 2)) == expected[PAGE_SIZE : 2 * PAGE_SIZE]
    last = inbox_search.search(db, InboxFilter(), 80)
    assert _ids(last) == expected[-PAGE_SIZE:]
    assert (last.first_number, last.last_number) == (1976, 2000)
    assert inbox_search.search(db, InboxFilter(), 81).rows == []


def test_resolved_tickets_come_most_recently_resolved_first(
    db: Database, seeded: list[Seeded]
) -> None:
    resolved = sorted(
        (t for t in seeded if t.status == "resolved"),
        key=lambda t: (-t.resolved_at.timestamp(), t.id),  # type: ignore[union-attr]
    )
    page = inbox_search.search(db, InboxFilter(status="resolved"))
    assert _ids(page) == [t.id for t in resolved[:PAGE_SIZE]]
    assert page.total == 1000


def test_counts_by_severity_and_status(db: Database, seeded: list[Seeded]) -> None:
    counts = inbox_search.counts(db, InboxFilter())
    for severity in SEVERITY_ORDER:
        for status in inbox_search.ALL_STATUSES:
            expected = sum(1 for t in seeded if (t.severity, t.status) == (severity, status))
            assert counts.get(severity, status) == expected, (severity, status)
    assert counts.total == COUNT
    open_emergencies = sum(1 for t in seeded if (t.severity, t.status) == ("emergency", "open"))
    assert counts.open_emergencies == open_emergencies > 0
    # Counts follow the channel filter but not the status and severity ones (they break those
    # down); the title's emergencies are the whole inbox's.
    narrowed = inbox_search.counts(db, InboxFilter(status="resolved", channel="kiosk"))
    assert narrowed.total == sum(1 for t in seeded if t.channel == "kiosk")
    assert narrowed.open_emergencies == open_emergencies


def test_filters_combine(db: Database, seeded: list[Seeded]) -> None:
    start, end = NOW - timedelta(hours=15), NOW - timedelta(hours=10)
    criteria = InboxFilter(
        status="all",
        severity="urgent",
        channel="whatsapp",
        created_from=start,
        created_before=end,
    )
    expected = {
        t.id
        for t in seeded
        if t.severity == "urgent" and t.channel == "whatsapp" and start <= t.created_at < end
    }
    page = inbox_search.search(db, criteria)
    assert page.total == len(expected) > 0
    assert set(_ids(page)) == expected
    newest_first = [row.summary.created_at for row in page.rows]
    assert newest_first == sorted(newest_first, reverse=True)


def test_search_by_reference_as_a_patient_quotes_it(db: Database, seeded: list[Seeded]) -> None:
    target = seeded[1234]
    quoted = f"#{target.id[:4].upper()} {target.id[4:8].upper()}"
    reference = normalise_reference(quoted)
    page = inbox_search.search(db, InboxFilter(status="all", reference=reference))
    assert _ids(page) == [target.id]
    short = target.id[:4]
    expected = {t.id for t in seeded if t.id.startswith(short)}
    assert set(_ids(inbox_search.search(db, InboxFilter(status="all", reference=short)))) == (
        expected
    )
    with pytest.raises(ValueError):
        InboxFilter(reference="3f2")  # too short to mean one ticket
    with pytest.raises(ValueError):
        InboxFilter(reference="zz' OR 1=1")


def test_rows_carry_a_short_snippet_of_the_message(db: Database, seeded: list[Seeded]) -> None:
    rows = inbox_search.search(db, InboxFilter(status="all")).rows
    assert rows[0].summary.id == seeded[0].id
    assert rows[0].snippet == "Message number 0:"
    longest = next(row for row in rows if row.summary.id == seeded[3].id)
    assert longest.snippet.startswith("Message number 3: my cheek feels tight and warm my")
    assert longest.snippet.endswith("…") and len(longest.snippet) <= 141
    assert "  " not in longest.snippet


def test_snippet_cuts_at_a_word_and_flattens_lines() -> None:
    assert snippet("  two\n\nlines\t here ") == "two lines here"
    text = "swelling " * 40
    cut = snippet(text, 50)
    assert cut.endswith("swelling…") and len(cut) <= 51
    assert snippet("x" * 200, 50) == "x" * 50 + "…"  # one long word: cut inside it
    assert snippet("<b>lips</b>") == "<b>lips</b>"  # escaping is the template's job


def test_new_tickets_are_those_written_after_a_moment(db: Database, seeded: list[Seeded]) -> None:
    after = NOW - timedelta(minutes=30)
    with db.session() as session:  # a report replayed from the spool: reported hours ago
        replayed = Ticket(
            channel="whatsapp",
            conversation_id="replayed",
            message_id="m1",
            severity="urgent",
            symptoms=["swelling"],
            trigger_text="written after the outage",
            transcript=[],
            created_at=NOW - timedelta(hours=3),
        )
        session.add(replayed)
        session.flush()
        replayed_id = replayed.id
    rows = inbox_search.recorded_after(db, InboxFilter(status="all"), after)
    assert [r.summary.id for r in rows] == [t.id for t in reversed(seeded[:30])] + [replayed_id]
    assert rows[-1].recorded_at is not None and rows[-1].recorded_at > NOW - timedelta(minutes=1)
    urgent = inbox_search.recorded_after(db, InboxFilter(status="all", severity="urgent"), after)
    assert [r.summary.id for r in urgent] == [
        t.id for t in reversed(seeded[:30]) if t.severity == "urgent"
    ] + [replayed_id]


def test_channels_are_those_tickets_came_from(db: Database, seeded: list[Seeded]) -> None:
    assert inbox_search.channels(db) == ["kiosk", "socketio", "whatsapp"]


@contextmanager
def _statements(db: Database) -> Iterator[list[tuple[str, Any]]]:
    captured: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        yield captured
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)


def _plan(db: Database, statement: str, parameters: Any) -> str:
    """The query plan; on PostgreSQL the plan it makes when told to avoid reading the whole
    table (with a few thousand rows it may rightly prefer to): it exists only with an index."""
    sqlite = db.url.startswith("sqlite")
    with db.engine.connect() as connection:
        if not sqlite:
            connection.exec_driver_sql("SET enable_seqscan = off")
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        rows = connection.exec_driver_sql(explain + statement, parameters).all()
        connection.rollback()
    return "\n".join(" ".join(str(col) for col in row) for row in rows)


QUERIES: dict[str, Callable[[Database], object]] = {
    "open list": lambda db: inbox_search.search(db, InboxFilter(severity="emergency"), 2),
    "resolved list": lambda db: inbox_search.search(db, InboxFilter(status="resolved"), 3),
    "counts": lambda db: inbox_search.counts(db, InboxFilter()),
    "reference": lambda db: inbox_search.search(db, InboxFilter(status="all", reference="abcd")),
    "new since": lambda db: inbox_search.recorded_after(
        db, InboxFilter(), NOW - timedelta(minutes=1)
    ),
    "channel and dates": lambda db: inbox_search.search(
        db,
        InboxFilter(status="all", channel="kiosk", created_from=NOW - timedelta(hours=3)),
    ),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_queries_use_indexes_and_are_quick(db: Database, seeded: list[Seeded], name: str) -> None:
    with db.engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    with _statements(db) as statements:
        started = time.perf_counter()
        QUERIES[name](db)
        elapsed = time.perf_counter() - started
    assert elapsed < 1.0, f"{name} took {elapsed:.3f} s on {COUNT} tickets"
    selects = [(s, p) for s, p in statements if s.lstrip().upper().startswith("SELECT")]
    assert selects
    for statement, parameters in selects:
        plan = _plan(db, statement, parameters)
        if db.url.startswith("sqlite"):
            # Every table access is a SEARCH (or a SCAN of an index, which reads no rows).
            assert "SCAN tickets\n" not in plan + "\n" and not plan.endswith("SCAN tickets"), plan
            assert "INDEX" in plan or "PRIMARY KEY" in plan, plan
        else:
            assert "Seq Scan" not in plan, plan
