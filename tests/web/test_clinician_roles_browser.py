"""Accounts in real headless Chromium: a nurse sets up the second factor from the QR page and
signs in with a code; an admin sees the accounts page, staff get the 403 page.
Screenshots: test-artifacts/web/roles-*.png."""

from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from bot.storage.db import Database
from bot.storage.models import StaffUser
from tests.support.browser import ARTIFACTS, Screenshots, Shot
from tests.support.clinician_browser import PASSWORD, USER, sign_in

pytestmark = pytest.mark.browser

ADMIN, STAFF = "admin.ann", USER


@pytest.fixture
def staff_users(staff_users: dict[str, str]) -> dict[str, str]:
    return {ADMIN: "admin", **staff_users}


@pytest.fixture
def screenshots() -> Screenshots:
    return Screenshots(ARTIFACTS / "web", "roles-", full_page=True)


def _password_step(page: Page, clinician_url: str, username: str) -> None:
    page.goto(f"{clinician_url}/clinician/login")
    sign_in(page, username)


def test_totp_sign_in_and_admin_pages(
    clinician_url: str, staff_db: Database, page: Page, shot: Shot
) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    _password_step(page, clinician_url, STAFF)
    expect(page.get_by_role("heading", level=1)).to_have_text("Open tickets")
    expect(page.get_by_role("link", name="Accounts")).to_have_count(0)
    page.goto(f"{clinician_url}/clinician/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("For administrators only")
    shot(page, "staff-403")

    page.get_by_role("link", name="Your account").click()
    page.get_by_role("button", name="Set up a second factor").click()
    expect(page.locator("figure.qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    expect(page.locator("#totp-uri")).to_contain_text("otpauth://totp/")
    shot(page, "enrol")
    page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("status")).to_contain_text("The second factor is on")
    page.get_by_role("button", name="Sign out").click()

    with staff_db.session() as session:  # the enrolment's code was used; let the next step's count
        session.execute(update(StaffUser).filter_by(username=STAFF).values(totp_last_step=0))
    _password_step(page, clinician_url, STAFF)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in code")
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code did not work")
    shot(page, "wrong-code")
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open tickets")
    page.get_by_role("button", name="Sign out").click()

    _password_step(page, clinician_url, ADMIN)
    page.get_by_role("link", name="Accounts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    row = page.locator(f'[id="user-{STAFF}"]')
    expect(row.locator("td").nth(2)).to_contain_text("on")
    page.get_by_role("button", name=f"Reset second factor of {STAFF}").click()
    expect(page.get_by_role("status")).to_have_text(
        "The second factor was removed; that person can set it up again."
    )
    page.get_by_label("Username").fill("dr.new")
    page.get_by_label("Password (at least 12 characters)").fill(PASSWORD)
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("status")).to_have_text("The account was created.")
    shot(page, "admin")
    assert [text for text in console if "Content Security Policy" in text] == []
