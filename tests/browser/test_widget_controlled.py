"""Website widget against a server the test controls (fake_rasa.py): offline at load, restart,
length limit, duplicate sends, escaping, accessibility and the phone layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from .chatpage import PageWatch, Widget
from .harness import CLINIC_PHONE, FakeRasa, other_site, web_server

pytestmark = pytest.mark.browser


def test_offline_at_load_then_server_comes_up(page: Page, shot) -> None:
    rasa = FakeRasa()  # not started: nothing listens on its port yet
    with web_server(rasa.url) as url:
        widget = Widget(page).open(url, online=False)
        expect(widget.root).to_have_attribute("data-state", "offline", timeout=20_000)
        expect(widget.status).to_contain_text("We can't reach the assistant right now")
        expect(widget.status).to_contain_text(CLINIC_PHONE)
        call = widget.status.locator("a")
        expect(call).to_have_attribute("href", "tel:+918040001234")
        expect(widget.input).to_be_disabled()
        expect(widget.send_button).to_be_disabled()
        shot(page, "1-offline")
        rasa.start()
        try:
            widget.wait_online(timeout=30_000)
            expect(widget.status).to_be_hidden()
            answer = widget.ask("how much does it cost")
            expect(answer.locator(".meso-sources")).to_be_visible()
            shot(page, "2-online")
        finally:
            rasa.stop()


def test_offline_without_clinic_config_shows_a_generic_note(page: Page) -> None:
    rasa = FakeRasa()  # never started
    with web_server(rasa.url) as url:
        page.route("**/config.json", lambda route: route.abort())
        widget = Widget(page).open(url, online=False)
        expect(widget.root).to_have_attribute("data-state", "offline", timeout=20_000)
        expect(widget.status).to_contain_text("Please try again later or call the clinic.")
        expect(widget.input).to_be_disabled()


def test_server_restart_continues_the_same_session(
    fake_rasa: FakeRasa, fake_web: str, page: Page, shot
) -> None:
    widget = Widget(page).open(fake_web)
    widget.ask("how much does it cost")
    session = widget.session_id()
    assert session
    fake_rasa.stop()
    expect(widget.root).to_have_attribute("data-state", "offline", timeout=15_000)
    expect(widget.input).to_be_disabled()
    shot(page, "1-server-down")
    fake_rasa.start()
    widget.wait_online(timeout=30_000)
    requests = fake_rasa.events("session_request")
    assert requests and requests[0]["data"]["session_id"] == session
    widget.ask("does it regrow hair")
    said = fake_rasa.events("user_uttered")
    assert [e["data"]["session_id"] for e in said] == [session]
    expect(widget.rich).to_have_count(2)
    shot(page, "2-continued")


def test_over_length_message_is_refused_with_a_note(
    fake_rasa: FakeRasa, fake_web: str, page: Page, shot
) -> None:
    widget = Widget(page).open(fake_web)
    note = page.locator(".meso-too-long")
    expect(note).to_be_hidden()
    widget.input.fill("a" * 1000)
    expect(widget.send_button).to_be_enabled()
    expect(page.locator(".meso-counter")).to_have_text("1000 / 1000")
    widget.input.fill("a" * 1001)
    expect(note).to_be_visible()
    expect(note).to_contain_text("up to 1,000 characters")
    expect(page.locator(".meso-counter")).to_have_text("1001 / 1000")
    expect(widget.send_button).to_be_disabled()
    widget.input.press("Enter")
    shot(page, "1-refused")
    expect(widget.users).to_have_count(0)
    assert fake_rasa.events("user_uttered") == []
    assert widget.input.input_value() == "a" * 1001  # nothing the visitor typed is lost
    widget.input.press("Backspace")
    expect(note).to_be_hidden()
    expect(widget.send_button).to_be_enabled()


def test_send_button_disabled_for_blank_input(fake_web: str, page: Page) -> None:
    widget = Widget(page).open(fake_web)
    expect(widget.send_button).to_be_disabled()
    widget.input.fill("   \n  ")
    expect(widget.send_button).to_be_disabled()
    widget.input.press("Enter")
    expect(widget.users).to_have_count(0)


def test_rapid_double_click_and_enter_send_one_message(browser, watch: PageWatch, shot) -> None:
    rasa = FakeRasa(delay=1.5).start()  # slow answers keep the first send in flight
    try:
        with web_server(rasa.url) as url:
            page = browser.new_page()
            widget = Widget(page).open(url)
            widget.input.fill("hello there")
            widget.send_button.dblclick()
            widget.input.fill("second question")
            widget.input.press("Enter")  # still waiting for the first answer: refused
            widget.input.press("Enter")
            shot(page, "1-in-flight")
            expect(widget.rich).to_have_count(1, timeout=10_000)
            assert [e["data"]["message"] for e in rasa.events("user_uttered")] == ["hello there"]
            expect(widget.users).to_have_count(1)

            greeting = widget.ask("hello")
            choices = greeting.locator(".meso-choice")
            expect(choices).to_have_count(2)
            choices.first.dblclick()
            expect(widget.rich).to_have_count(3, timeout=10_000)
            page.wait_for_timeout(500)
            messages = [e["data"]["message"] for e in rasa.events("user_uttered")]
            assert messages == ["hello there", "hello", "/ask_cost"]
            expect(widget.users).to_contain_text(["hello there", "hello", "Cost"])
            for i in range(2):
                expect(choices.nth(i)).to_be_disabled()
            shot(page, "2-one-each")
            page.close()
    finally:
        rasa.stop()


def test_html_in_messages_is_shown_as_text(
    fake_web: str, page: Page, watch: PageWatch, shot
) -> None:
    widget = Widget(page).open(fake_web)
    attack = "<img src=x onerror=alert(1)>"
    answer = widget.ask(attack)
    expect(widget.users.last).to_contain_text(attack)
    expect(answer.locator(".meso-body")).to_have_text(f"You wrote: {attack}")
    answer.locator(".meso-sources summary").click()
    expect(answer.locator(".meso-sources li")).to_have_text(f"Echo of {attack}")
    link_attack = "[tap](javascript:alert(2)) **bold** https://example.org/a"
    answer = widget.ask(link_attack)
    expect(answer.locator("strong")).to_have_text("bold")
    links = answer.locator(".meso-body a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.org/a")
    page.wait_for_timeout(300)
    shot(page, "1-escaped")
    assert page.locator(".meso-log img").count() == 0
    assert watch.dialogs == []
    assert watch.errors == []


def test_escalation_banners_by_severity(fake_web: str, page: Page, shot) -> None:
    widget = Widget(page).open(fake_web)
    cases = [
        ("I have a fever since the treatment", "urgent", "tel:+918040001234"),
        ("there is a small bruise", "routine", None),
        ("my lips are swelling and I can't breathe", "emergency", "tel:112"),
    ]
    for text, severity, href in cases:
        answer = widget.ask(text)
        banner = answer.locator(f".meso-esc-{severity}")
        expect(banner).to_be_visible()
        expect(banner).to_have_attribute("role", "alert")
        if href:
            expect(banner.locator("a")).to_have_attribute("href", href)
    expect(page.locator(".meso-esc-emergency .meso-call")).to_have_text("Call 112 now")
    shot(page, "1-banners")


def test_start_over_clears_transcript_and_session(
    fake_rasa: FakeRasa, fake_web: str, page: Page, shot
) -> None:
    widget = Widget(page).open(fake_web)
    widget.ask("how much does it cost")
    old = widget.session_id()
    widget.restart.click()
    widget.wait_online()
    expect(widget.log.locator(".meso-msg")).to_have_count(0)
    new = widget.session_id()
    assert new and new != old
    stored = page.evaluate("Object.keys(localStorage).map(k => localStorage.getItem(k)).join()")
    assert old not in stored
    widget.ask("hello")
    assert fake_rasa.events("user_uttered")[-1]["data"]["session_id"] == new
    shot(page, "1-new-session")


def test_keyboard_and_screen_reader_basics(fake_web: str, page: Page, shot) -> None:
    page.goto(fake_web)
    widget = Widget(page)
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")
    expect(widget.launcher).to_have_attribute("aria-label", "Ask Demo Skin Clinic")
    widget.launcher.focus()
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    expect(widget.panel).to_have_attribute("role", "dialog")
    expect(widget.panel).to_have_accessible_name("Ask Demo Skin Clinic")
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    expect(widget.log).to_have_attribute("role", "log")
    expect(widget.log).to_have_attribute("aria-live", "polite")
    expect(widget.input).to_have_accessible_name("Your question")
    widget.wait_online()
    expect(widget.input).to_be_focused()
    shot(page, "1-open")
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_focused()
    expect(widget.launcher).to_have_attribute("aria-expanded", "false")


def test_embedded_on_another_site_despite_its_css(
    fake_rasa: FakeRasa, fake_web: str, page: Page, shot
) -> None:
    hostile = "* { color: red !important; font-size: 40px !important }"
    hostile += " button { display: none !important }"
    tag = (
        f'<script src="{fake_web}/widget.js" data-server="{fake_rasa.url}"'
        ' data-title="Chat with us" data-color="#7c3aed" defer></script>'
    )
    html = f"<!doctype html><title>Other</title><style>{hostile}</style><h1>Another</h1>{tag}"
    with other_site(html) as url:
        page.goto(url)
        widget = Widget(page).open()
        expect(widget.launcher).to_have_attribute("aria-label", "Chat with us")
        color = widget.input.evaluate("el => getComputedStyle(el).color")
        assert color != "rgb(255, 0, 0)"
        accent = widget.launcher.evaluate("el => getComputedStyle(el).backgroundColor")
        assert accent == "rgb(124, 58, 237)"
        # the clinic's numbers come from config.json on the widget's origin (CORS)
        expect(page.locator(".meso-foot a")).to_have_attribute("href", "tel:112")
        widget.ask("how much does it cost")
        shot(page, "1-embedded")


def test_phone_layout_is_full_screen(fake_web: str, phone_page: Page, shot) -> None:
    widget = Widget(phone_page)
    phone_page.goto(fake_web)
    shot(phone_page, "1-launcher")
    widget.open()
    box = widget.panel.bounding_box()
    assert box is not None
    assert (box["x"], box["y"], box["width"], box["height"]) == (0, 0, 375, 667)
    answer = widget.ask("does it regrow hair")
    expect(answer.locator(".meso-note")).to_be_in_viewport()
    expect(widget.input).to_be_in_viewport()
    shot(phone_page, "2-answer")


@pytest.mark.parametrize("stored", ['{"entries": "not a list"}', "{not json", '{"entries": [{}]}'])
def test_unreadable_stored_transcript_starts_afresh(
    fake_rasa: FakeRasa, fake_web: str, page: Page, watch: PageWatch, stored: str
) -> None:
    key = f"meso-chat:{fake_rasa.url}"
    page.add_init_script(f"localStorage.setItem({key!r}, {stored!r})")
    widget = Widget(page).open(fake_web)
    answer = widget.ask("how much does it cost")
    expect(answer.locator(".meso-sources")).to_be_visible()
    assert watch.errors == []


def test_each_reply_is_one_message(fake_web: str, page: Page, watch: PageWatch, shot) -> None:
    """One bot_uttered event per reply: one entry, drawn from the envelope (its text copy with
    "Sources: …" is not shown too); an event without an envelope shows its text and buttons."""
    widget = Widget(page).open(fake_web)
    answer = widget.ask("does it regrow hair")
    expect(widget.bots).to_have_count(1)
    expect(answer).to_have_attribute("data-kind", "answer")
    expect(answer.locator(".meso-note")).to_be_visible()
    expect(answer.locator(".meso-sources")).to_be_visible()
    expect(answer).not_to_contain_text("Sources: ")
    expect(answer).not_to_contain_text("Evidence note: ")
    greeting = widget.ask("hello")
    expect(widget.bots).to_have_count(2)
    expect(greeting.locator(".meso-choice")).to_have_count(2)

    widget.input.fill("plain text please")
    widget.input.press("Enter")
    plain = widget.bots.nth(2)
    expect(plain).to_have_attribute("data-kind", "text")
    expect(plain.locator(".meso-body p")).to_have_count(2)
    expect(plain.locator(".meso-body strong")).to_have_text("plain")
    expect(plain.locator(".meso-choice")).to_have_text(["Cost"])
    page.wait_for_timeout(300)
    expect(widget.bots).to_have_count(3)
    shot(page, "1-one-message-each")
    assert watch.errors == []
