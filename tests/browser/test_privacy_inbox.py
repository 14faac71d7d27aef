"""Staff erasure in real headless Chromium: the ticket page's patient-data panel, the
confirmation box the browser itself requires, the result page, and the ticket without the
patient's words afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Page, expect

from bot.privacy.registry import PrivacyContext
from bot.storage.db import Database
from bot.web.clinician.privacy import CONTEXT_KEY
from tests.privacy.helpers import SECRET, WHEN, make_context, populate, tables_containing
from tests.support.browser import Shot
from tests.support.clinician_browser import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[PrivacyContext]:
    context = make_context(f"sqlite:///{tmp_path / 'meso.db'}", tmp_path / "var")
    yield context
    context.db.dispose()


@pytest.fixture
def web_db(ctx: PrivacyContext) -> Database:
    return ctx.db


@pytest.fixture
def app_keys(ctx: PrivacyContext) -> dict[web.AppKey[Any], Any]:
    return {CONTEXT_KEY: ctx}


def test_a_clinician_erases_a_conversation_from_the_ticket_page(
    clinician_url: str,
    ctx: PrivacyContext,
    tablet_page: Page,
    shot: Shot,
) -> None:
    ticket_id = populate(ctx, "wa:patient", SECRET, WHEN)
    page = tablet_page
    page.goto(f"{clinician_url}/clinician/tickets/{ticket_id}")
    sign_in(page)
    expect(page.locator("blockquote.patient-text")).to_have_text(SECRET)
    panel = page.locator("section", has=page.get_by_role("heading", name="Patient data"))
    panel.scroll_into_view_if_needed()
    shot(page, "readme_inbox-patient-data")

    # Without the box ticked the browser does not send the form.
    page.get_by_role("button", name="Erase this conversation").click()
    expect(page).to_have_url(f"{clinician_url}/clinician/tickets/{ticket_id}")
    assert "tickets" in tables_containing(ctx.db.url, SECRET)

    page.get_by_label("The patient asked for this conversation to be erased").check()
    page.get_by_role("button", name="Erase this conversation").click()

    expect(page.get_by_role("heading", name="Conversation erased")).to_be_visible()
    expect(page.get_by_role("cell", name="tracker events")).to_be_visible()
    shot(page, "readme_inbox-erased")
    assert tables_containing(ctx.db.url, SECRET) == []
    page.get_by_role("link", name="Back to the ticket").click()
    expect(page.locator("blockquote.patient-text")).to_have_text("")
