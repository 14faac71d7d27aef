"""Browser-test plumbing that tests/browser and tests/web share (registered for both in
tests/conftest.py): `page`, a Playwright page in a new context of the session's Chromium, and
`shot`, its screenshots under test-artifacts/.

What differs per test module or folder is a fixture of the same name defined there, taking the
shared one as its argument (pytest's override), e.g. a touch screen:

    @pytest.fixture
    def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
        return {**browser_context_args, "has_touch": True}
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
ACTION_TIMEOUT_MS = 15_000

Shot = Callable[[Page, str], Path]


def new_page(browser: Browser, **context_args: Any) -> Page:
    """A page in a new browser context with `context_args` (Browser.new_context's options);
    its actions wait up to 15 s. Closing `page.context` ends both."""
    page = browser.new_context(**context_args).new_page()
    page.set_default_timeout(ACTION_TIMEOUT_MS)
    return page


@pytest.fixture
def browser_context_args() -> dict[str, Any]:
    """The options of `page`'s context: a tablet-sized screen, as the clinician pages have."""
    return {"viewport": {"width": 1024, "height": 768}}


@pytest.fixture
def page(browser: Browser, browser_context_args: dict[str, Any]) -> Iterator[Page]:
    page = new_page(browser, **browser_context_args)
    yield page
    page.context.close()


@dataclass(frozen=True)
class Screenshots:
    """Where `shot(page, step)` saves: `folder`/`prefix``step`.png, the whole page or the
    viewport. With MESO_README_SCREENSHOTS set, a step named readme_<name> also goes to
    docs/screenshots/<name>.png."""

    folder: Path
    prefix: str
    full_page: bool = False

    def take(self, page: Page, step: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.prefix}{step}.png"
        page.screenshot(path=str(path), full_page=self.full_page)
        if os.environ.get("MESO_README_SCREENSHOTS") and step.startswith("readme_"):
            README_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            target = README_SCREENSHOTS / f"{step.removeprefix('readme_')}.png"
            page.screenshot(path=str(target), full_page=self.full_page)
        return path


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Screenshots:
    """test-artifacts/browser/<test>-<step>.png, the viewport."""
    test = re.sub(r"[^\w.-]+", "_", request.node.name)
    return Screenshots(ARTIFACTS / "browser", f"{test}-")


@pytest.fixture
def shot(screenshots: Screenshots) -> Shot:
    """shot(page, step) saves a screenshot where `screenshots` says; returns its path."""
    return screenshots.take
