"""The charts in real headless Chromium: each one drawn from seeded tickets and conversations
(Rasa's tracker store in its own SQLite file, as a default install has it), a CSV download, and
a bad range answered in the page. Screenshots: test-artifacts/web/charts-*.png."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from bot.storage.db import Database
from bot.web.clinician.charts import TRACKER_URL_KEY
from tests.analytics.seed import seed_conversations, seed_tickets
from tests.support.browser import ARTIFACTS, README_SCREENSHOTS, Screenshots, Shot
from tests.support.clinician_browser import sign_in

pytestmark = pytest.mark.browser

WEB_SHOTS = ARTIFACTS / "web"
CHARTS = ("topics", "escalations", "replies", "acknowledge", "channels")


@pytest.fixture
def staff_db(staff_db: Database) -> Database:
    seed_tickets(staff_db)
    return staff_db


@pytest.fixture
def app_keys(tmp_path: Path) -> dict[web.AppKey[Any], Any]:
    tracker_url = f"sqlite:///{tmp_path / 'rasa_tracker.db'}"
    seed_conversations(tracker_url)
    return {TRACKER_URL_KEY: tracker_url}


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "accept_downloads": True}


@pytest.fixture
def screenshots() -> Screenshots:
    return Screenshots(WEB_SHOTS, "charts-", full_page=True)


def test_each_chart_renders_from_seeded_data(
    clinician_url: str, page: Page, tmp_path: Path, shot: Shot
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.goto(f"{clinician_url}/clinician/charts")
    sign_in(page)
    expect(page).to_have_url(f"{clinician_url}/clinician/charts")
    expect(page.get_by_role("link", name="Charts")).to_have_attribute("aria-current", "page")

    page.get_by_label("From", exact=True).fill("2026-03-01")
    page.get_by_label("To", exact=True).fill("2026-03-07")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{clinician_url}/clinician/charts?from=2026-03-01&to=2026-03-07")
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
    if os.environ.get("MESO_README_SCREENSHOTS"):  # as `shot` does for readme_ steps
        page.screenshot(path=str(README_SCREENSHOTS / "charts.png"), full_page=True)
    page.locator("#escalations").screenshot(path=str(WEB_SHOTS / "charts-escalations.png"))

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
