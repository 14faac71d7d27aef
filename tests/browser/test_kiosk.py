"""The waiting-room kiosk against a server the test controls (fake_rasa.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .chatpage import Chat, PageWatch
from .harness import FakeRasa

pytestmark = pytest.mark.browser

NO_STORAGE = "localStorage.length + sessionStorage.length + document.cookie.length"


def open_kiosk(page: Page, url: str) -> Chat:
    page.goto(url)
    chat = Chat(page)
    chat.wait_online()
    return chat


def test_idle_timeout_starts_a_fresh_session(
    fake_rasa: FakeRasa, fake_web: str, tablet_page: Page, shot
) -> None:
    page = tablet_page
    chat = open_kiosk(page, f"{fake_web}/kiosk?idle=5")
    expect(page.locator("#kiosk-idle")).to_have_text("5 seconds")
    topics = page.locator(".kiosk-topic")
    expect(topics.first).to_have_text("How much does mesotherapy cost?")
    before = chat.rich.count()
    topics.first.click()
    expect(chat.rich).to_have_count(before + 1)
    expect(chat.users.last).to_contain_text("How much does mesotherapy cost?")
    assert fake_rasa.events("user_uttered")[-1]["data"]["message"] == "/ask_cost"
    old = chat.session_id()
    assert old
    shot(page, "1-answered")
    expect(chat.log.locator(".meso-msg")).to_have_count(0, timeout=12_000)
    chat.wait_online()
    new = chat.session_id()
    assert new and new != old
    assert fake_rasa.events("session_request")[-1]["data"]["session_id"] is None
    assert page.evaluate(NO_STORAGE) == 0
    assert page.context.cookies() == []
    shot(page, "2-fresh")
    chat.ask("hello")
    assert fake_rasa.events("user_uttered")[-1]["data"]["session_id"] == new


def test_done_button_clears_and_nothing_is_stored(
    fake_rasa: FakeRasa, fake_web: str, tablet_page: Page, shot
) -> None:
    page = tablet_page
    chat = open_kiosk(page, f"{fake_web}/kiosk")
    expect(page.locator("#kiosk-idle")).to_have_text("90 seconds")
    chat.ask("does it regrow hair")
    old = chat.session_id()
    assert page.evaluate(NO_STORAGE) == 0
    page.get_by_role("button", name="Done").click()
    expect(chat.log.locator(".meso-msg")).to_have_count(0)
    chat.wait_online()
    assert chat.session_id() not in ("", old)
    assert page.evaluate(NO_STORAGE) == 0
    assert page.context.cookies() == []
    shot(page, "1-after-done")


def test_emergency_shows_front_desk_message(
    fake_web: str, tablet_page: Page, watch: PageWatch, shot
) -> None:
    page = tablet_page
    chat = open_kiosk(page, f"{fake_web}/kiosk")
    privacy = page.locator(".kiosk-privacy")
    expect(privacy).to_contain_text("nothing you type is kept on this tablet")
    expect(privacy).to_contain_text("don't type your name, phone number")
    alert = page.locator("#kiosk-alert")
    expect(alert).to_be_hidden()
    answer = chat.ask("my lips are swelling and I can't breathe")
    expect(answer.locator(".meso-esc-emergency")).to_be_visible()
    expect(alert).to_be_visible()
    expect(alert).to_contain_text("Please speak to the front desk now.")
    expect(alert.locator("a")).to_have_attribute("href", "tel:112")
    shot(page, "1-emergency")
    page.get_by_role("button", name="Done").click()
    expect(alert).to_be_hidden()
    assert watch.errors == []


def test_touch_targets_are_large(fake_web: str, tablet_page: Page) -> None:
    page = tablet_page
    chat = open_kiosk(page, f"{fake_web}/kiosk")
    chat.ask("hello")
    targets = page.locator(".kiosk-topic, .kiosk-done, .meso-send, .meso-input, .meso-choice")
    assert targets.count() >= 10
    for i in range(targets.count()):
        box = targets.nth(i).bounding_box()
        assert box is not None and box["height"] >= 48, targets.nth(i).inner_text()


def test_urgent_escalation_asks_for_the_front_desk_without_emergency_number(
    fake_web: str, tablet_page: Page
) -> None:
    page = tablet_page
    chat = open_kiosk(page, f"{fake_web}/kiosk")
    chat.ask("I have a fever since the treatment")
    alert = page.locator("#kiosk-alert")
    expect(alert).to_contain_text("Please speak to the front desk now.")
    expect(alert.locator(".kiosk-alert-emergency")).to_be_hidden()
