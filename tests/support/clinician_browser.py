"""The clinician pages for browser tests (registered for tests/browser and tests/web in
tests/conftest.py): `staff_db`, a fresh SQLite database with the nurse USER signed up, and
`clinician_url`, the project's web app served on a free loopback port with that database.
`sign_in` fills in the sign-in form.

A test module changes what differs by overriding a fixture (see tests/support/browser.py):
`staff_users` for more accounts, `app_keys` for more of the app's state (the charts' tracker
store, the review export's targets), `web_db` for a database made some other way."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.sync_api import Page

from bot.storage.db import Database
from bot.web.app import create_app
from bot.web.clinician.accounts import create_staff_user
from bot.web.clinician.state import DATABASE_KEY
from bot.web.settings import WebSettings
from tests.browser.harness import serve

USER = "nurse.amy"
PASSWORD = "correct horse battery"  # every test account's


def sign_in(page: Page, username: str = USER) -> None:
    """Fill in the sign-in form that `page` shows and send it."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def web_db(tmp_path: Path) -> Iterator[Database]:
    """The web app's database, new and without accounts."""
    database = Database(f"sqlite:///{tmp_path / 'meso.db'}")
    yield database
    database.dispose()


@pytest.fixture
def staff_users() -> dict[str, str]:
    """The accounts `staff_db` has, username: role, made in this order."""
    return {USER: "staff"}


@pytest.fixture
def staff_db(web_db: Database, staff_users: dict[str, str]) -> Database:
    """`web_db` with `staff_users` signed up, each with PASSWORD."""
    for username, role in staff_users.items():
        create_staff_user(web_db, username, PASSWORD, role)
    return web_db


@pytest.fixture
def app_keys() -> dict[web.AppKey[Any], Any]:
    """The web app's state beyond its database."""
    return {}


@pytest.fixture
def clinician_url(staff_db: Database, app_keys: dict[web.AppKey[Any], Any]) -> Iterator[str]:
    """The project's web app (default settings) with `staff_db` and `app_keys`, served on a
    free loopback port from a background thread; yields its base URL."""
    app = create_app(WebSettings())
    app[DATABASE_KEY] = staff_db
    for key, value in app_keys.items():
        app[key] = value
    with serve(app) as url:
        yield url
