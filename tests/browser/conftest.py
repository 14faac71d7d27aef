"""Browser-test fixtures: headless Debian Chromium driven by Playwright, plus the servers from
harness.py. Screenshots go to test-artifacts/browser/<test>-<step>.png.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from .chatpage import PageWatch
from .harness import ROOT, FakeRasa, web_server

ARTIFACTS = ROOT / "test-artifacts" / "browser"


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


def _new_page(browser: Browser, watch: PageWatch, **context_args: Any) -> Page:
    context = browser.new_context(**context_args)
    page = context.new_page()
    page.set_default_timeout(15_000)

    def on_dialog(dialog: Any) -> None:
        watch.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watch.errors.append(str(exc)))
    return page


@pytest.fixture
def page(browser: Browser, watch: PageWatch) -> Iterator[Page]:
    page = _new_page(browser, watch, viewport={"width": 1280, "height": 800})
    yield page
    page.context.close()


@pytest.fixture
def phone_page(browser: Browser, watch: PageWatch) -> Iterator[Page]:
    page = _new_page(
        browser, watch, viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True
    )
    yield page
    page.context.close()


@pytest.fixture
def tablet_page(browser: Browser, watch: PageWatch) -> Iterator[Page]:
    page = _new_page(browser, watch, viewport={"width": 1280, "height": 800}, has_touch=True)
    yield page
    page.context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """shot(page, step) saves test-artifacts/browser/<test>-<step>.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w.-]+", "_", request.node.name)

    def take(page: Page, step: str) -> Path:
        path = ARTIFACTS / f"{test}-{step}.png"
        page.screenshot(path=str(path))
        if os.environ.get("MESO_README_SCREENSHOTS") and step.startswith("readme_"):
            target = ROOT / "docs" / "screenshots" / f"{step.removeprefix('readme_')}.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(target))
        return path

    return take
