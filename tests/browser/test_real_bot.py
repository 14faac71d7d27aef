"""Widget and kiosk against the real bot: Rasa + action server from the `rasa_stack` fixture
(tests/conftest.py), talking through Rasa's socket.io channel."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bot.clinic import clinic_config

from .chatpage import Chat, PageWatch, Widget

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def site(rasa_stack: Any) -> str:
    """The stack's own web server (`python -m bot web`), pointed at its Rasa by MESO_RASA_URL."""
    return rasa_stack.web_url


def test_cost_question_shows_the_answer_with_its_sources(site: str, page: Page, shot) -> None:
    widget = Widget(page).open(site)
    shot(page, "1-open")
    answer = widget.ask("How much does mesotherapy cost?")
    expect(answer).to_have_attribute("data-kind", "answer")
    expect(answer.locator(".meso-body")).to_contain_text("12,000")  # the clinic's own price
    sources = answer.locator(".meso-sources")
    expect(sources.locator("summary")).to_contain_text("Sources (")
    expect(sources.locator("li").first).to_be_hidden()  # collapsed until asked for
    sources.locator("summary").click()
    expect(sources.locator("li").first).to_be_visible()
    titles = sources.locator("li").all_inner_texts()
    assert titles and all(t.strip() for t in titles)
    # the plain-text copy ("Sources: ...") was replaced by the envelope's rendering
    expect(answer).not_to_contain_text("Sources: ")
    shot(page, "2-answer")


def test_efficacy_answer_carries_the_evidence_note(site: str, page: Page, shot) -> None:
    widget = Widget(page).open(site)
    answer = widget.ask("does it regrow hair")
    note = answer.locator(".meso-note")
    expect(note).to_be_in_viewport()  # seen without scrolling, before the answer's claims
    expect(note.locator(".meso-note-label")).to_have_text("Evidence note")
    assert len(note.inner_text()) > len("Evidence note") + 20
    assert note.evaluate("el => el.closest('details') === null")  # never collapsible
    expect(answer).not_to_contain_text("Evidence note: ")  # no duplicate plain-text copy
    shot(page, "1-evidence-note")
    shot(page, "readme_widget")


def test_emergency_shows_the_red_banner_with_a_call_link(site: str, page: Page, shot) -> None:
    widget = Widget(page).open(site)
    answer = widget.ask("my lips are swelling and I can't breathe")
    banner = answer.locator(".meso-esc-emergency")
    expect(banner).to_be_visible()
    number = clinic_config().emergency_number
    expect(banner.locator("a.meso-call")).to_have_attribute("href", f"tel:{number}")
    color = banner.evaluate("el => getComputedStyle(el).backgroundColor")
    assert color == "rgb(185, 28, 28)"
    # Then the ticket: the short reference a patient can quote, not the internal id.
    expect(page.locator(".meso-ticket")).to_have_text(
        re.compile(r"^Reference: [0-9A-F]{8}$"), timeout=30_000
    )
    shot(page, "1-emergency")


def test_quick_reply_button_sends_its_payload(site: str, page: Page, shot) -> None:
    widget = Widget(page).open(site)
    answer = widget.ask("How much does mesotherapy cost?")
    choices = answer.locator(".meso-choice")
    expect(choices.first).to_be_visible()
    title = choices.first.inner_text()
    before = widget.rich.count()
    choices.first.click()
    expect(widget.users.last).to_contain_text(title)
    for i in range(choices.count()):
        expect(choices.nth(i)).to_be_disabled()
    expect(widget.rich).to_have_count(before + 1, timeout=30_000)
    expect(widget.rich.last).to_have_attribute("data-kind", "answer")
    expect(widget.rich.last.locator(".meso-sources")).to_be_visible()
    shot(page, "1-after-choice")


def test_reload_restores_the_conversation(site: str, page: Page, watch: PageWatch, shot) -> None:
    widget = Widget(page).open(site)
    widget.ask("How much does mesotherapy cost?")
    widget.ask("does it regrow hair")
    session = widget.session_id()
    assert session
    page.reload()
    expect(widget.panel).to_be_visible()  # it was open before the reload
    widget.wait_online()
    assert widget.session_id() == session
    expect(widget.rich).to_have_count(2)
    expect(widget.users).to_have_count(2)
    expect(widget.rich.nth(0).locator(".meso-sources")).to_be_visible()
    expect(widget.rich.nth(1).locator(".meso-note")).to_be_visible()
    shot(page, "1-restored")
    answer = widget.ask("how many sessions will I need")
    expect(answer).to_have_attribute("data-kind", "answer")
    assert watch.errors == []
    shot(page, "2-continued")


def test_kiosk_topic_button_asks_the_real_bot(site: str, tablet_page: Page, shot) -> None:
    page = tablet_page
    page.goto(f"{site}/kiosk")
    chat = Chat(page)
    chat.wait_online()
    page.locator(".kiosk-topic", has_text="How much does mesotherapy cost?").click()
    expect(chat.rich).to_have_count(1, timeout=30_000)
    answer = chat.rich.first
    expect(answer).to_have_attribute("data-kind", "answer")
    expect(answer.locator(".meso-sources")).to_be_visible()
    expect(chat.users.first).to_contain_text("How much does mesotherapy cost?")
    assert (
        page.evaluate("localStorage.length + sessionStorage.length + document.cookie.length") == 0
    )
    shot(page, "readme_kiosk")
