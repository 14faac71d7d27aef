"""The charts page over HTTP: a real aiohttp server, a real database (SQLite and PostgreSQL) and
Rasa's tracker store written by Rasa itself (tests/analytics/seed.py)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.storage.db import Database
from bot.web.clinician.accounts import create_staff_user
from bot.web.clinician.charts import TRACKER_URL_KEY
from bot.web.clinician.clock import utcnow
from bot.web.settings import WebSettings
from tests.analytics.seed import at, seed_conversations, seed_tickets
from tests.web.test_clinician import FAST, PASSWORD, USER, build_app, login

RANGE = "from=2026-03-01&to=2026-03-07"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    create_staff_user(database, USER, PASSWORD)
    seed_tickets(database)
    seed_tickets(database, [("urgent", at(4), 3, HOSTILE)])
    seed_conversations(database_url)
    seed_conversations(database_url, [("c9", at(4), "ask_<b>bold</b>", "clarify")])
    yield database
    database.dispose()


@pytest.fixture
async def staff(db: Database, database_url: str) -> AsyncIterator[TestClient]:
    app = build_app(db, FAST, WebSettings())
    app[TRACKER_URL_KEY] = database_url
    client = TestClient(TestServer(app))
    await client.start_server()
    assert (await login(client, USER, PASSWORD)).status == 303
    yield client
    await client.close()


async def test_the_charts_page_draws_five_charts(staff: TestClient) -> None:
    response = await staff.get(f"/clinician/charts?{RANGE}")
    assert response.status == 200
    html = await response.text()
    assert 'href="/clinician/charts" aria-current="page"' in html
    assert len(re.findall(r'<svg [^>]*role="img"', html)) == 5
    for chart in ("topics", "escalations", "replies", "acknowledge", "channels"):
        assert f'id="chart-{chart}"' in html
        assert f'href="/clinician/charts/{chart}.csv?from=2026-03-01&amp;to=2026-03-07"' in html
    assert '<title id="chart-escalations-title">Escalations per severity per day</title>' in html
    summaries = re.findall(r"<p class=\"chart-summary\">([^<]*)</p>", html)
    assert summaries == [
        "5 questions about 3 topics; most asked: cost 2, downtime 2, &lt;b&gt;bold&lt;/b&gt; 1.",
        "Tickets: emergency 3, urgent 4, routine 1.",
        "7 replies; clarify 2 (29%), out of scope 1 (14%).",
        # urgent: 3, 20 and 40 minutes
        "emergency: 10 min (of 3); urgent: 20 min (of 3), 1 waiting; "
        "routine: none acknowledged, 1 waiting.",
        "Tickets by channel: whatsapp 3 (38%), widget 3 (38%), "
        "&lt;script&gt;alert(1)&lt;/script&gt; 1 (12%), kiosk 1 (12%).",
    ]
    # Labels from the database are text, in the SVG and around it.
    assert HOSTILE not in html and "<b>bold" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


async def test_the_default_range_is_the_last_30_days(staff: TestClient) -> None:
    response = await staff.get("/clinician/charts")
    assert response.status == 200
    html = await response.text()
    today = utcnow().date()
    assert f'name="from" type="date" value="{today - timedelta(days=29)}"' in html
    assert f'name="to" type="date" value="{today}"' in html
    assert "Tickets: emergency 0, urgent 0, routine 0." in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=soon&to=2026-03-01", "The start date &#39;soon&#39; is not a date."),
        ("from=2026-03-09&to=2026-03-01", "The start date 2026-03-09 is after the end date"),
        ("from=2020-01-01&to=2026-03-01", "The range is longer than 366 days"),
        (f"from={HOSTILE}", "The start date &#39;&lt;script&gt;alert(1)&lt;/script&gt;&#39;"),
    ],
)
async def test_a_bad_range_is_answered_clearly(staff: TestClient, query: str, message: str) -> None:
    response = await staff.get(f"/clinician/charts?{query}")
    assert response.status == 400
    html = await response.text()
    assert message in html
    assert "<svg" not in html and HOSTILE not in html
    csv_response = await staff.get(f"/clinician/charts/topics.csv?{query}")
    assert csv_response.status == 400
    assert csv_response.content_type == "text/plain"


async def test_each_chart_downloads_as_csv(staff: TestClient) -> None:
    response = await staff.get(f"/clinician/charts/channels.csv?{RANGE}")
    assert response.status == 200
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="channels_2026-03-01_2026-03-07.csv"'
    )
    rows = list(csv.reader(io.StringIO(await response.text())))
    assert rows[0] == ["channel", "tickets", "share"]
    assert [HOSTILE, "1", "0.1250"] in rows
    topics = list(csv.reader(io.StringIO(await (await staff.get(
        f"/clinician/charts/topics.csv?{RANGE}")).text())))  # fmt: skip
    assert topics[0] == ["day", "cost", "downtime", "<b>bold</b>"]
    assert topics[4] == ["2026-03-04", "0", "0", "1"]
    for chart in ("escalations", "replies", "acknowledge"):
        assert (await staff.get(f"/clinician/charts/{chart}.csv?{RANGE}")).status == 200
    assert (await staff.get(f"/clinician/charts/nothing.csv?{RANGE}")).status == 404


async def test_charts_need_sign_in(db: Database) -> None:
    client = TestClient(TestServer(build_app(db, FAST, WebSettings())))
    await client.start_server()
    try:
        for path in ("/clinician/charts", "/clinician/charts/topics.csv"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 303
            assert response.headers["Location"].startswith("/clinician/login")
    finally:
        await client.close()


async def test_a_missing_tracker_store_file_is_not_created(
    db: Database, database_url: str, tmp_path
) -> None:
    missing = tmp_path / "no_rasa_yet.db"
    app = build_app(db, FAST, WebSettings())
    app[TRACKER_URL_KEY] = f"sqlite:///{missing}"
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        assert (await login(client, USER, PASSWORD)).status == 303
        response = await client.get(f"/clinician/charts?{RANGE}")
        assert response.status == 200
        html = await response.text()
        assert html.count("The conversation store could not be read") == 2
        assert len(re.findall(r'<svg [^>]*role="img"', html)) == 3  # the ticket charts
        assert not missing.exists()
    finally:
        await client.close()
