"""The inbox in real headless Chromium on a tablet-sized screen: sign in, read, acknowledge,
resolve, reopen, sign out, with the real CSP and Referrer-Policy in force."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bot.storage.db import Database
from bot.storage.models import Ticket, utcnow
from tests.support.clinician_browser import USER, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "has_touch": True}


def _ticket(db: Database, severity: str, minutes_ago: int, trigger: str) -> str:
    with db.session() as session:
        ticket = Ticket(
            channel="widget",
            conversation_id=f"c-{severity}",
            message_id="m1",
            severity=severity,
            symptoms=["swelling"],
            trigger_text=trigger,
            transcript=[{"sender": "user", "text": trigger, "at": utcnow().isoformat()}],
            created_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        session.add(ticket)
        session.flush()
        return ticket.id


def test_a_clinician_works_a_ticket_in_the_browser(
    clinician_url: str, staff_db: Database, page: Page
) -> None:
    _ticket(staff_db, "routine", 60, "a small bruise")
    hostile = "<script>alert('x')</script><img src=x onerror=alert(2)> my lips are swelling"
    emergency = _ticket(staff_db, "emergency", 5, hostile)
    console: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{clinician_url}/clinician/tickets/{emergency}")
    expect(page).to_have_url(
        f"{clinician_url}/clinician/login?next=%2Fclinician%2Ftickets%2F{emergency}"
    )
    sign_in(page)

    expect(page).to_have_url(f"{clinician_url}/clinician/tickets/{emergency}")
    expect(page.locator("blockquote.patient-text")).to_have_text(hostile)
    badge = page.locator("h1 .badge")
    expect(badge).to_have_text("Emergency")
    expect(badge).to_have_css("background-color", "rgb(176, 0, 32)")  # the stylesheet loaded

    # A real browser POST (Origin: null under Referrer-Policy: no-referrer) passes the checks.
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("status")).to_have_text("You acknowledged this ticket.")
    page.get_by_label("Resolution note (optional, kept in the audit trail)").fill("Called back")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_have_text("You resolved this ticket.")
    page.get_by_label("Why it is reopened (optional, kept in the audit trail)").fill("Worse again")
    page.get_by_role("button", name="Reopen").click()
    expect(page.get_by_role("status")).to_have_text("You reopened this ticket.")
    expect(page.locator(".history").first).to_contain_text(f"Reopened by {USER}")
    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status")).to_have_text("You resolved this ticket.")

    page.get_by_role("link", name="Open tickets").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open tickets")
    expect(page.locator(".ticket-card")).to_have_count(1)
    page.keyboard.press("Tab")  # the skip link, then the first header link
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_css("outline-style", "solid")

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{clinician_url}/clinician/login")
    page.goto(f"{clinician_url}/clinician")
    expect(page).to_have_url(f"{clinician_url}/clinician/login?next=%2Fclinician")

    assert dialogs == []
    assert [text for text in console if "Content Security Policy" in text] == []
