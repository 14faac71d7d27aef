"""The charts in real headless Chromium: each one drawn from seeded tickets and conversations
(Rasa's tracker store in its own SQLite file, as a default install has it), a CSV download, and
a bad range answered in the page. Screenshots: test-artifacts/web/charts-*.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from bot.storage.db import Database
from bot.web.app import create_app
from bot.web.clinician.accounts import create_staff_user
from bot.web.clinician.charts import TRACKER_URL_KEY
from bot.web.clinician.state import DATABASE_KEY
from bot.web.settings import WebSettings
from tests.analytics.seed import seed_conversations, seed_tickets
from tests.browser.harness import serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "web"
USER = "nurse.amy"
PASSWORD = "correct horse battery"
CHARTS = ("topics", "escalations", "replies", "acknowledge", "channels")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    db = Database(f"sqlite:///{tmp_path / 'meso.db'}")
    create_staff_user(db, USER, PASSWORD)
    seed_tickets(db)
    tracker_url = f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    seed_conversations(tracker_url)
    app = create_app(WebSettings())
    app[DATABASE_KEY] = db
    app[TRACKER_URL_KEY] = tracker_url
    with serve(app) as url:
        yield url
    db.dispose()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 768}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page: Page, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"charts-{step}.png"), full_page=True)


def test_each_chart_renders_from_seeded_data(server: str, page: Page, tmp_path: Path) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{server}/clinician/charts")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{server}/clinician/charts")
    expect(page.get_by_role("link", name="Charts")).to_have_attribute("aria-current", "page")

    page.get_by_label("From", exact=True).fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-03-07")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{server}/clinician/charts?from=2026-03-01&to=2026-03-07")
    for chart in CHARTS:
        drawing = page.locator(f"svg#chart-{chart}")
        expect(drawing).to_be_visible()
        assert drawing.bounding_box()["width"] > 600  # drawn at the page's width
        assert drawing.locator("rect.bar").count() > 0, chart
    # The accessible name of each drawing is its title.
    expect(page.get_by_role("img", name="Escalations per severity per day")).to_be_visible()
    bars = page.locator("svg#chart-escalations rect.bar")
    expect(bars).to_have_count(5)  # 03-01 emergency, 03-02 urgent, 03-03, 03-05, 03-07
    expect(page.locator("svg#chart-topics g.legend-item")).to_have_text(["cost", "downtime"])
    expect(page.locator("#acknowledge .chart-summary")).to_contain_text("emergency: 10 min (of 3)")
    shot(page, "seeded")
    if os.environ.get("MESO_README_SCREENSHOTS"):  # as tests/browser/conftest.py's `shot`
        page.screenshot(path=str(ROOT / "docs" / "screenshots" / "charts.png"), full_page=True)
    page.locator("#escalations").screenshot(path=str(ARTIFACTS / "charts-escalations.png"))

    with page.expect_download() as download:
        page.locator("#escalations").get_by_role("link", name="Download CSV").click()
    saved = tmp_path / "escalations.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "escalations_2026-03-01_2026-03-07.csv"
    assert saved.read_text().splitlines()[:2] == [
        "day,emergency,urgent,routine",
        "2026-03-01,2,0,0",
    ]

    page.get_by_label("From", exact=True).fill("2026-03-09")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("alert")).to_have_text(
        "The start date 2026-03-09 is after the end date 2026-03-07."
    )
    expect(page.locator("svg.chart")).to_have_count(0)
    shot(page, "bad-range")
    assert [text for text in console if "Content Security Policy" in text] == []
