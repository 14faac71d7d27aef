"""The inbox at volume in real headless Chromium: tickets created in the database while the page
is open appear without a reload, a new emergency is highlighted and changes the page title, the
filters live in the URL, and text typed into a form survives a session that expired under it.
Screenshots: test-artifacts/browser/; with MESO_README_SCREENSHOTS=1 the README's inbox.png goes
to docs/screenshots/."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import delete, select

from bot.storage.db import Database
from bot.storage.models import AuditEntry, StaffSession, Ticket, utcnow
from bot.tickets.records import ticket_reference
from tests.support.browser import Shot
from tests.support.clinician_browser import sign_in
from tests.support.inbox_seed import seed_tickets

pytestmark = pytest.mark.browser


def _add_ticket(db: Database, severity: str, trigger: str, channel: str = "socketio") -> str:
    with db.session() as session:
        ticket = Ticket(
            channel=channel,
            conversation_id=f"live-{severity}-{utcnow().timestamp()}",
            message_id="m1",
            severity=severity,
            symptoms=["breathing_difficulty"] if severity == "emergency" else ["swelling"],
            trigger_text=trigger,
            transcript=[],
        )
        session.add(ticket)
        session.flush()
        return ticket.id


def test_new_tickets_appear_live_and_an_emergency_changes_the_title(
    clinician_url: str, staff_db: Database, tablet_page: Page, shot: Shot
) -> None:
    page = tablet_page
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    seed_tickets(staff_db, 400, utcnow() - timedelta(hours=1))
    with staff_db.session() as session:  # no open emergency yet: the title is plain
        session.execute(
            Ticket.__table__.update()
            .where(Ticket.severity == "emergency", Ticket.status == "open")
            .values(status="acknowledged", acknowledged_by="nurse.seed")
        )

    page.goto(f"{clinician_url}/clinician")
    sign_in(page)
    expect(page).to_have_title("Open tickets – Clinician inbox")
    expect(page.locator("#live-status")).to_contain_text("Live: new tickets appear here")
    expect(page.locator("#tickets .ticket-card")).to_have_count(25)
    expect(page.locator('[data-count="emergency-open"]')).to_have_text("0")
    page.evaluate("window.sameDocument = true")  # gone if anything reloads the page

    hostile = "<img src=x onerror=alert(1)> I cannot breathe properly and my throat is closing"
    urgent = _add_ticket(staff_db, "urgent", "The swelling is spreading down to my neck")
    new_urgent = page.locator(f'#new-tickets [data-ticket-id="{urgent}"]')
    expect(new_urgent).to_be_visible()
    expect(new_urgent).to_have_class("ticket-card is-new")
    expect(page).to_have_title("Open tickets – Clinician inbox")

    emergency = _add_ticket(staff_db, "emergency", hostile, channel="whatsapp")
    new_emergency = page.locator(f'#new-tickets [data-ticket-id="{emergency}"]')
    expect(new_emergency).to_be_visible()
    expect(new_emergency).to_have_class("ticket-card is-new is-new-emergency")
    expect(page).to_have_title("(1) EMERGENCY — Open tickets – Clinician inbox")
    expect(page.locator('[data-count="emergency-open"]')).to_have_text("1")
    expect(new_emergency.locator(".snippet")).to_have_text(hostile)
    expect(new_emergency).to_contain_text(ticket_reference(emergency))
    expect(page.locator("#live-announcer")).to_have_text(
        f"New emergency ticket {ticket_reference(emergency)}."
    )
    # The newest first in the "new" list, and the page never reloaded.
    expect(page.locator("#new-tickets .ticket-card").first).to_have_attribute(
        "data-ticket-id", emergency
    )
    assert page.evaluate("window.sameDocument") is True
    shot(page, "readme_inbox")

    # Acknowledging it elsewhere clears the warning in this tab.
    with staff_db.session() as session:
        row = session.get(Ticket, emergency)
        row.status, row.acknowledged_by, row.acknowledged_at = "acknowledged", "dr.bose", utcnow()
    expect(page).to_have_title("Open tickets – Clinician inbox", timeout=20_000)
    expect(page.locator('[data-count="emergency-open"]')).to_have_text("0")

    # Filters go into the URL; the filtered list is live too.
    page.get_by_label("Severity").select_option("urgent")
    page.get_by_label("Channel").select_option("whatsapp")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(
        f"{clinician_url}/clinician?status=active&severity=urgent&channel=whatsapp"
    )
    expect(page.get_by_label("Severity")).to_have_value("urgent")
    cards = page.locator("#tickets .ticket-card")
    expect(cards.first).to_be_visible()
    for severity in cards.evaluate_all("cards => cards.map(c => c.dataset.severity)"):
        assert severity == "urgent"
    page.get_by_role("link", name="Next page").click()
    expect(page).to_have_url(
        f"{clinician_url}/clinician?status=active&severity=urgent&channel=whatsapp&page=2"
    )
    shot(page, "filtered_page_2")

    page.goto(f"{clinician_url}/clinician?from=2026-02-30")
    expect(page.get_by_role("alert").first).to_contain_text(
        "“From” date “2026-02-30” is not a date of the calendar written like 2026-03-31."
    )
    shot(page, "bad_filter")
    assert [text for text in console if "Content Security Policy" in text] == []


def test_a_reply_typed_when_the_session_expired_survives_the_sign_in(
    clinician_url: str, staff_db: Database, tablet_page: Page, shot: Shot
) -> None:
    page = tablet_page
    ticket_id = _add_ticket(staff_db, "urgent", "My cheek is hot and swollen since the session")
    page.goto(f"{clinician_url}/clinician/tickets/{ticket_id}")
    sign_in(page)
    expect(page).to_have_url(f"{clinician_url}/clinician/tickets/{ticket_id}")

    note = "Called the patient: <b>ice</b> for 10 minutes, review tomorrow at 10:00."
    box = page.get_by_label("Resolution note (optional, kept in the audit trail)")
    box.click()
    box.press_sequentially(note[:20])
    box.fill(note)  # typed, then completed: both kinds of input are kept
    with staff_db.session() as session:  # the session ends while the note is being written
        session.execute(delete(StaffSession))
    page.get_by_role("button", name="Resolve").click()

    expect(page).to_have_url(f"{clinician_url}/clinician/login")
    shot(page, "expired_sign_in")
    sign_in(page)
    expect(page).to_have_url(f"{clinician_url}/clinician/tickets/{ticket_id}")
    expect(box).to_have_value(note)
    expect(page.locator(".draft-note")).to_have_text(
        "Your unsent text was kept and is back in the form. Check it and send it again."
    )
    shot(page, "draft_restored")
    with staff_db.session() as session:
        assert session.get(Ticket, ticket_id).status == "open"  # nothing was sent yet

    page.get_by_role("button", name="Resolve").click()
    expect(page.get_by_role("status").first).to_have_text("You resolved this ticket.")
    with staff_db.session() as session:
        detail = session.execute(
            select(AuditEntry.detail).where(AuditEntry.action == "ticket_resolve")
        ).scalar_one()
    assert detail.endswith(f"note: {note}")
    assert (
        page.evaluate("Object.keys(sessionStorage).filter(k => k.startsWith('meso-draft'))") == []
    )
    page.reload()
    expect(
        page.get_by_label("Why it is reopened (optional, kept in the audit trail)")
    ).to_have_value("")
    expect(page.locator(".draft-note")).to_have_count(0)
