"""Page objects for the chat (widget or kiosk): Playwright's CSS locators pierce the widget's
open Shadow DOM, so one set of selectors serves both."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Locator, Page, expect

ANSWER_WAIT_MS = 30_000


@dataclass
class PageWatch:
    """What the page did that a test may need to assert on."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Chat:
    """The shared chat view (chat.js) inside a page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.root = page.locator(".meso-chat")
        self.log = page.locator(".meso-log")
        self.input = page.locator(".meso-input")
        self.send_button = page.locator(".meso-send")
        self.status = page.locator(".meso-status")
        self.users = page.locator(".meso-user")
        self.bots = page.locator(".meso-bot")
        # a bot message whose envelope has arrived
        self.rich = page.locator(".meso-bot:not([data-kind='text'])")

    def wait_online(self, timeout: int = 20_000) -> None:
        expect(self.root).to_have_attribute("data-state", "online", timeout=timeout)
        expect(self.input).to_be_enabled()

    def session_id(self) -> str:
        return self.root.get_attribute("data-session") or ""

    def ask(self, text: str) -> Locator:
        """Type and send `text`; return the first bot message (with its envelope) it brings.

        A reply may hold several (an emergency: the instruction, then the ticket reference)."""
        before = self.rich.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.rich.nth(before)).to_be_attached(timeout=ANSWER_WAIT_MS)
        return self.rich.nth(before)


class Widget(Chat):
    """The website widget: launcher button and dialog panel around the chat."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        self.launcher = page.locator(".meso-launcher")
        self.panel = page.locator(".meso-panel")
        self.restart = page.locator(".meso-restart")
        self.close = page.locator(".meso-close")

    def open(self, url: str | None = None, online: bool = True) -> Widget:
        if url is not None:
            self.page.goto(url)
        self.launcher.click()
        expect(self.panel).to_be_visible()
        if online:
            self.wait_online()
        return self
