"""Browser-test fixtures for the patient pages: `page` (tests/support/browser.py) as a desktop
window whose dialogs and script errors are noted in `watch`, a phone and a tablet page, plus the
servers from harness.py. `shot` (tests/support/browser.py) saves
test-artifacts/browser/<test>-<step>.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import new_page

from .chatpage import PageWatch
from .harness import FakeRasa, web_server


@pytest.fixture
def fake_rasa() -> Iterator[FakeRasa]:
    fake = FakeRasa().start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def fake_web(fake_rasa: FakeRasa) -> Iterator[str]:
    with web_server(fake_rasa.url) as url:
        yield url


@pytest.fixture
def watch() -> PageWatch:
    return PageWatch()


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    """The patient pages' `page`: a desktop browser window."""
    return {"viewport": {"width": 1280, "height": 800}}


def _watched(page: Page, watch: PageWatch) -> Page:
    """`page`, its dialogs dismissed and noted in `watch`, as its uncaught script errors."""

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    return page


@pytest.fixture
def page(page: Page, watch: PageWatch) -> Page:
    return _watched(page, watch)


@pytest.fixture
def phone_page(browser: Browser, watch: PageWatch) -> Iterator[Page]:
    page = new_page(browser, viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    yield _watched(page, watch)
    page.context.close()


@pytest.fixture
def tablet_page(browser: Browser, watch: PageWatch) -> Iterator[Page]:
    page = new_page(browser, viewport={"width": 1280, "height": 800}, has_touch=True)
    yield _watched(page, watch)
    page.context.close()
