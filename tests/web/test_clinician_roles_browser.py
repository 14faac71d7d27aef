"""Accounts in real headless Chromium: a nurse sets up the second factor from the QR page and
signs in with a code; an admin sees the accounts page, staff get the 403 page.
Screenshots: test-artifacts/web/roles-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from bot.storage.db import Database
from bot.storage.models import StaffUser
from bot.web.app import create_app
from bot.web.clinician.accounts import create_staff_user
from bot.web.clinician.state import DATABASE_KEY
from bot.web.settings import WebSettings
from tests.browser.harness import serve

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ADMIN, STAFF = "admin.ann", "nurse.amy"
PASSWORD = "correct horse battery"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'meso.db'}")
    create_staff_user(database, ADMIN, PASSWORD, "admin")
    create_staff_user(database, STAFF, PASSWORD)
    yield database
    database.dispose()


@pytest.fixture
def server(db: Database) -> Iterator[str]:
    app = create_app(WebSettings())
    app[DATABASE_KEY] = db
    with serve(app) as url:
        yield url


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def shot(page: Page, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"roles-{step}.png"), full_page=True)


def _password_step(page: Page, server: str, username: str) -> None:
    page.goto(f"{server}/clinician/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_totp_sign_in_and_admin_pages(server: str, db: Database, page: Page) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    _password_step(page, server, STAFF)
    expect(page.get_by_role("heading", level=1)).to_have_text("Open tickets")
    expect(page.get_by_role("link", name="Accounts")).to_have_count(0)
    page.goto(f"{server}/clinician/admin")
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

    with db.session() as session:  # the enrolment's code was used; let the next step's count
        session.execute(update(StaffUser).filter_by(username=STAFF).values(totp_last_step=0))
    _password_step(page, server, STAFF)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in code")
    page.get_by_label("Code", exact=True).fill("000000")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("That code did not work")
    shot(page, "wrong-code")
    page.get_by_label("Code", exact=True).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open tickets")
    page.get_by_role("button", name="Sign out").click()

    _password_step(page, server, ADMIN)
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
