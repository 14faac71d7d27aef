"""Staff erasure in real headless Chromium: the ticket page's patient-data panel, the
confirmation box the browser itself requires, the result page, and the ticket without the
patient's words afterwards."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from bot.privacy.registry import PrivacyContext
from bot.web.app import create_app
from bot.web.clinician.accounts import create_staff_user
from bot.web.clinician.privacy import CONTEXT_KEY
from bot.web.clinician.state import DATABASE_KEY
from bot.web.settings import WebSettings
from tests.browser.harness import serve
from tests.privacy.helpers import SECRET, WHEN, make_context, populate, tables_containing

pytestmark = pytest.mark.browser

USER = "nurse.amy"
PASSWORD = "correct horse battery"


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[PrivacyContext]:
    context = make_context(f"sqlite:///{tmp_path / 'meso.db'}", tmp_path / "var")
    create_staff_user(context.db, USER, PASSWORD)
    yield context
    context.db.dispose()


@pytest.fixture
def server(ctx: PrivacyContext) -> Iterator[str]:
    app = create_app(WebSettings())
    app[DATABASE_KEY] = ctx.db
    app[CONTEXT_KEY] = ctx
    with serve(app) as url:
        yield url


def test_a_clinician_erases_a_conversation_from_the_ticket_page(
    server: str,
    ctx: PrivacyContext,
    tablet_page: Page,
    shot: Callable[[Page, str], Path],
) -> None:
    ticket_id = populate(ctx, "wa:patient", SECRET, WHEN)
    page = tablet_page
    page.goto(f"{server}/clinician/tickets/{ticket_id}")
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("blockquote.patient-text")).to_have_text(SECRET)
    panel = page.locator("section", has=page.get_by_role("heading", name="Patient data"))
    panel.scroll_into_view_if_needed()
    shot(page, "readme_inbox-patient-data")

    # Without the box ticked the browser does not send the form.
    page.get_by_role("button", name="Erase this conversation").click()
    expect(page).to_have_url(f"{server}/clinician/tickets/{ticket_id}")
    assert "tickets" in tables_containing(ctx.db.url, SECRET)

    page.get_by_label("The patient asked for this conversation to be erased").check()
    page.get_by_role("button", name="Erase this conversation").click()

    expect(page.get_by_role("heading", name="Conversation erased")).to_be_visible()
    expect(page.get_by_role("cell", name="tracker events")).to_be_visible()
    shot(page, "readme_inbox-erased")
    assert tables_containing(ctx.db.url, SECRET) == []
    page.get_by_role("link", name="Back to the ticket").click()
    expect(page.locator("blockquote.patient-text")).to_have_text("")
