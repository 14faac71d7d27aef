"""The inbox lists over HTTP at volume (real aiohttp server, SQLite and PostgreSQL): counts,
filters in the URL, pages, search by reference, snippets, bad filter values, and the
server-sent events a list page listens to."""

from __future__ import annotations

import asyncio
import html as html_lib
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import delete

from bot.storage.db import Database
from bot.storage.models import StaffSession, utcnow
from bot.tickets.records import ticket_reference
from bot.web.clinician import inbox_list
from bot.web.clinician.accounts import create_staff_user
from tests.support.inbox_seed import seed_tickets
from tests.web.test_clinician import PASSWORD, USER, _client, add_ticket, login


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    create_staff_user(database, USER, PASSWORD)
    yield database
    database.dispose()


@pytest.fixture
async def client(db: Database) -> AsyncIterator[TestClient]:
    client = await _client(db)
    yield client
    await client.close()


@pytest.fixture
async def staff(client: TestClient) -> TestClient:
    assert (await login(client, USER, PASSWORD)).status == 303
    return client


async def _html(staff: TestClient, url: str, status: int = 200) -> str:
    response = await staff.get(url)
    text = await response.text()
    assert response.status == status, text[:2000]
    return text


def _count(html: str, cell: str) -> int:
    match = re.search(rf'data-count="{cell}"[^>]*>(\d+)<', html)
    assert match, f"no count cell {cell}"
    return int(match.group(1))


def _listed(html: str) -> list[str]:
    return re.findall(r'<li class="ticket-card" data-ticket-id="([0-9a-f]+)"', html)


async def test_rows_show_an_escaped_snippet_and_counts_by_severity_and_status(
    staff: TestClient, db: Database
) -> None:
    hostile = "<script>alert('x')</script> my lips\n\nare   swelling " + "and hot " * 40
    emergency = add_ticket(db, "emergency", 3, trigger=hostile)
    add_ticket(db, "emergency", 9, status="acknowledged", acknowledged_by=USER)
    add_ticket(db, "urgent", 30)
    add_ticket(db, "routine", 40, status="resolved", resolved_by=USER, resolved_at=utcnow())

    page = await _html(staff, "/clinician")
    assert "<script>alert" not in page
    card = page[page.index(f'data-ticket-id="{emergency}"') :]
    card = card[: card.index("</li>")]
    snippet = html_lib.unescape(re.search(r'<span class="snippet">(.*?)</span>', card).group(1))
    assert snippet.startswith("<script>alert('x')</script> my lips are swelling and hot")
    assert snippet.endswith("…") and len(snippet) <= 141
    assert ticket_reference(emergency) in card
    assert (_count(page, "emergency-open"), _count(page, "emergency-acknowledged")) == (1, 1)
    assert (_count(page, "urgent-open"), _count(page, "routine-resolved")) == (1, 1)
    assert (_count(page, "all-open"), _count(page, "all")) == (2, 4)
    # The page title warns while an emergency waits for acknowledgement.
    assert "<title>(1) EMERGENCY — Open tickets – Clinician inbox</title>" in page
    # Without JavaScript the list reloads itself; with it, nothing reloads the page.
    assert re.findall(r"<meta http-equiv=\"refresh\"[^>]*>", page) == [
        '<meta http-equiv="refresh" content="60">'
    ]
    assert '<noscript><meta http-equiv="refresh" content="60"></noscript>' in page


async def test_thousands_of_tickets_are_paged_and_filters_stay_in_the_links(
    staff: TestClient, db: Database
) -> None:
    seeded = seed_tickets(db, 3000, utcnow())
    started = time.perf_counter()
    first = await _html(staff, "/clinician")
    elapsed = time.perf_counter() - started
    assert elapsed < 3.0, f"the first page took {elapsed:.2f} s"
    assert len(_listed(first)) == 25
    assert "Showing 1–25 of 2000." in first
    assert "Page 1 of 80" in first
    assert 'href="/clinician?page=2"' in first and 'rel="prev"' not in first

    url = "/clinician?status=all&severity=urgent&channel=whatsapp&page=3"
    third = await _html(staff, url)
    expected = sorted(
        (t for t in seeded if t.severity == "urgent" and t.channel == "whatsapp"),
        key=lambda t: t.created_at,
        reverse=True,
    )
    assert _listed(third) == [t.id for t in expected[50:75]]
    assert f"Showing 51–75 of {len(expected)}." in third
    prev_link = html_lib.escape("/clinician?status=all&severity=urgent&channel=whatsapp&page=2")
    assert f'rel="prev" href="{prev_link}"' in third
    # The form shows the filters the URL holds.
    assert '<option value="urgent" selected>' in third
    assert '<option value="whatsapp" selected>' in third
    # A count cell links to that cell's list with the other filters kept.
    cell = html_lib.escape("/clinician?status=open&severity=emergency&channel=whatsapp")
    assert f'href="{cell}" data-count="emergency-open"' in third
    assert _count(third, "all") == sum(1 for t in seeded if t.channel == "whatsapp")

    last = await _html(staff, "/clinician?page=80")
    assert len(_listed(last)) == 25 and 'rel="next"' not in last


async def test_dates_are_whole_days_in_the_clinic_time_zone(
    staff: TestClient, db: Database
) -> None:
    now = utcnow()
    today = now.astimezone().date()
    inside = add_ticket(db, "urgent", 0)
    older = add_ticket(db, "urgent", 60 * 24 * 3)
    page = await _html(staff, f"/clinician?from={today}&to={today}")
    assert inside in _listed(page) and older not in _listed(page)
    three_days_ago = (now - timedelta(days=3)).astimezone().date()
    page = await _html(staff, f"/clinician?from={three_days_ago}&to={three_days_ago}")
    assert _listed(page) == [older]
    assert f'name="from" type="date" value="{three_days_ago}"' in page


async def test_search_by_reference_as_the_patient_reads_it_out(
    staff: TestClient, db: Database
) -> None:
    wanted = add_ticket(db, "routine", 5, status="resolved", resolved_by=USER, resolved_at=utcnow())
    add_ticket(db, "routine", 6)
    reference = ticket_reference(wanted)
    quoted = f"#{reference[:4]} {reference[4:]}"
    page = await _html(staff, "/clinician?status=all&ref=" + quoted.replace("#", "%23"))
    assert _listed(page) == [wanted]
    # Without the status filter the open list has no such ticket: said plainly.
    page = await _html(staff, f"/clinician?ref={reference}")
    assert _listed(page) == [] and "No tickets match these filters." in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=closed", "Status “closed” is not one of: active, open, acknowledged"),
        ("severity=%3Cscript%3E", "Severity “&lt;script&gt;” is not one of: emergency, urgent"),
        (
            "channel=fax",
            "No ticket has come in through the channel “fax”. Channels with tickets: "
            "whatsapp, widget.",
        ),
        (
            "from=2026-13-01",
            "“From” date “2026-13-01” is not a date of the calendar written like 2026-03-31.",
        ),
        ("from=2026-05-02&to=2026-05-01", "The “from” date is after the “to” date"),
        ("ref=hello", "“hello” is not a ticket reference."),
        ("ref=3f2", "“3f2” is not a ticket reference."),
        ("page=0", "“0” is not a page number: pages start at 1."),
        ("page=-1", "“-1” is not a page number"),
        ("page=abc", "“abc” is not a page number"),
        ("page=99999999999999999999", "is not a page number"),
        ("page=7", "There is no page 7: these filters give 1 page."),
    ],
)
async def test_bad_filter_values_get_a_clear_answer(
    staff: TestClient, db: Database, query: str, message: str
) -> None:
    add_ticket(db, "urgent", 5)
    add_ticket(db, "routine", 5, channel="whatsapp")
    page = await _html(staff, f"/clinician?{query}", 400)
    problems = page[page.index('id="filter-problems"') :]
    assert message in problems
    assert "<script>" not in page
    api = await staff.get(f"/clinician/api/tickets?{query}")
    if query != "page=7":  # the API answers an empty page past the end
        assert api.status == 400
        body = await api.json()
        assert body["error"] == "bad filter" and len(body["problems"]) == 1
    events = await staff.get(f"/clinician/api/inbox/events?{query}")
    assert events.status == (200 if query == "page=7" else 400)
    events.close()


async def test_the_api_pages_and_counts_without_patient_text(
    staff: TestClient, db: Database
) -> None:
    seed_tickets(db, 60, utcnow())
    body = await (await staff.get("/clinician/api/tickets?severity=routine&page=2")).json()
    assert (body["page"], body["pages"]) == (2, 2)
    assert len(body["tickets"]) == body["total"] - 25
    assert body["counts"]["by_severity_and_status"]["routine"]["open"] == sum(
        1 for n in range(60) if n % 3 == 0 and n % 5 != 1 and n % 50 != 7
    )
    assert all("trigger_text" not in t and "snippet" not in t for t in body["tickets"])


async def _events(response: ClientResponse, wanted: int) -> list[tuple[str, dict]]:
    buffer, events = "", []
    while len(events) < wanted:
        chunk = await asyncio.wait_for(response.content.readany(), timeout=10)
        assert chunk, "the stream ended"
        buffer += chunk.decode()
        *frames, buffer = buffer.split("\n\n")
        for frame in frames:
            fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
            if "event" in fields:
                events.append((fields["event"], json.loads(fields["data"])))
    return events


async def test_the_event_stream_sends_new_tickets_and_counts(
    staff: TestClient, client: TestClient, db: Database
) -> None:
    # Written an hour ago: the stream's first look-back (for a ticket committed late) misses it.
    add_ticket(db, "urgent", 60, recorded_at=utcnow() - timedelta(minutes=60))
    since = utcnow().isoformat()
    response = await staff.get(
        "/clinician/api/inbox/events", params={"status": "active", "since": since}
    )
    assert response.headers["Content-Type"].startswith("text/event-stream")
    [(name, counts)] = await _events(response, 1)
    assert name == "counts" and counts["title_prefix"] == ""
    new = add_ticket(db, "emergency", 0, trigger="<img src=x onerror=alert(1)> throat closing")
    add_ticket(db, "routine", 0, status="resolved", resolved_by=USER, resolved_at=utcnow())
    received = await _events(response, 2)
    assert [name for name, _ in received] == ["ticket", "counts"]
    # A report replayed from the spool after an outage: reported 3 hours ago, new to the inbox.
    replayed = add_ticket(db, "urgent", 180)
    [(name, data), *_] = await _events(response, 1)
    response.close()
    assert (name, data["id"]) == ("ticket", replayed)
    ticket = received[0][1]
    assert ticket["id"] == new and ticket["severity"] == "emergency"
    assert "&lt;img src=x onerror=alert(1)&gt; throat closing" in ticket["html"]
    assert "<img" not in ticket["html"]
    assert f'href="/clinician/tickets/{new}"' in ticket["html"]
    assert ticket["announcement"] == f"New emergency ticket {ticket_reference(new)}."
    counts = received[1][1]
    assert counts["title_prefix"] == "(1) EMERGENCY — " and counts["open_emergencies"] == 1
    assert 'data-count="emergency-open" aria-label="1 emergency, open">1<' in counts["html"]

    client.session.cookie_jar.clear()
    signed_out = await client.get("/clinician/api/inbox/events")
    assert signed_out.status == 401


async def test_the_event_stream_ends_with_the_session(
    staff: TestClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inbox_list, "SESSION_CHECK_SECONDS", 0.0)
    response = await staff.get("/clinician/api/inbox/events")
    [(name, _)] = await _events(response, 1)
    assert name == "counts"
    with db.session() as session:
        session.execute(delete(StaffSession))  # signed out elsewhere, or expired
    add_ticket(db, "emergency", 0, trigger="SECRET after the session ended")
    received = b""
    while chunk := await asyncio.wait_for(response.content.readany(), timeout=10):
        received += chunk
    assert b"SECRET" not in received  # the stream ended instead of sending it
    again = await staff.get("/clinician/api/inbox/events")
    assert again.status == 401
