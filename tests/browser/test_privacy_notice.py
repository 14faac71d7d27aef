"""The privacy notice in real Chromium: small print under the widget's first reply (the real bot,
then a server the test controls for hostile data), and the kiosk's on-screen notice stating the
same facts in each language."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bot.clinic import clinic_config
from bot.replies.notice import privacy_notice
from tests.stack import STACK_PRIVACY

from .chatpage import Chat, Widget

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(rasa_stack: Any) -> str:
    return rasa_stack.web_url


@pytest.mark.e2e
def test_widget_shows_the_notice_under_the_first_reply_only(site: str, page: Page, shot) -> None:
    widget = Widget(page).open(site)
    first = widget.ask("How much does mesotherapy cost?")
    notice = first.locator(".meso-notice")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(f"for {STACK_PRIVACY['conversation_retention_days']} days")
    expect(notice).to_contain_text(f"for {STACK_PRIVACY['transcript_retention_days']} days")
    expect(notice).to_contain_text('type "delete my data"')
    link = notice.locator("a")
    expect(link).to_have_text("Privacy policy")
    expect(link).to_have_attribute("href", STACK_PRIVACY["policy_url"])
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    # small print, under the reply's own text, and no plain-text copy of it in the body
    body_size = first.locator(".meso-body p").first.evaluate("e => getComputedStyle(e).fontSize")
    notice_size = notice.evaluate("e => getComputedStyle(e).fontSize")
    assert float(notice_size.removesuffix("px")) < float(body_size.removesuffix("px"))
    assert notice.evaluate("e => e === e.parentElement.lastElementChild")
    expect(first.locator(".meso-body")).not_to_contain_text("Your privacy")
    notice.scroll_into_view_if_needed()
    shot(page, "1-first-reply")
    shot(page, "readme_privacy_notice")

    second = widget.ask("how many sessions do I need")
    expect(second.locator(".meso-body")).to_be_visible()
    expect(page.locator(".meso-notice")).to_have_count(1)  # once per conversation
    shot(page, "2-second-reply")

    widget.restart.click()  # a new conversation: the notice again
    again = widget.ask("मेसोथेरेपी की कीमत कितनी है")
    hindi = again.locator(".meso-notice")
    expect(hindi).to_have_attribute("lang", "hi")
    expect(hindi).to_contain_text('"मेरा डेटा मिटाओ"')
    expect(hindi.locator("a")).to_have_text("निजता नीति")
    hindi.scroll_into_view_if_needed()
    shot(page, "3-new-conversation-hindi")


@pytest.mark.e2e
def test_widget_arabic_notice_reads_right_to_left(site: str, page: Page, shot) -> None:
    widget = Widget(page).open(site)
    answer = widget.ask("كم تكلفة الميزوثيرابي")
    notice = answer.locator(".meso-notice")
    expect(notice).to_have_attribute("dir", "rtl")
    expect(notice).to_contain_text('"احذف بياناتي"')
    expect(notice).to_contain_text(str(STACK_PRIVACY["conversation_retention_days"]))
    notice.scroll_into_view_if_needed()
    shot(page, "1-arabic")


@pytest.mark.e2e
def test_widget_emergency_banner_comes_before_the_notice(site: str, page: Page, shot) -> None:
    widget = Widget(page).open(site)
    first = widget.ask("my lips are swelling and I can't breathe")
    expect(first.locator(".meso-esc-emergency")).to_be_visible()
    expect(first.locator(".meso-notice")).to_have_count(0)
    notice = page.locator(".meso-bot[data-kind='notice'] .meso-notice")
    expect(notice).to_be_visible(timeout=60_000)
    assert page.locator(".meso-bot").first.evaluate("e => !e.querySelector('.meso-notice')")
    notice.scroll_into_view_if_needed()
    shot(page, "1-emergency-then-notice")


@pytest.mark.e2e
def test_kiosk_states_the_same_facts_on_screen(site: str, tablet_page: Page, shot) -> None:
    page = tablet_page
    page.goto(f"{site}/kiosk")
    chat = Chat(page)
    chat.wait_online()
    footer = page.locator("#kiosk-notice")
    expect(footer).to_contain_text(f"{STACK_PRIVACY['conversation_retention_days']} days")
    expect(footer).to_contain_text(f"{STACK_PRIVACY['transcript_retention_days']} days")
    expect(footer).to_contain_text(STACK_PRIVACY["policy_url"])
    expect(footer.locator("a")).to_have_count(0)  # no way out of the kiosk
    answer = chat.ask("How much does mesotherapy cost?")
    expect(answer.locator(".meso-body")).to_be_visible()
    expect(page.locator(".meso-notice")).to_have_count(0)  # the footer says it for everyone
    shot(page, "1-kiosk-en")
    page.locator(".kiosk-lang[data-lang='ar']").click()
    expect(footer).to_contain_text('"احذف بياناتي"')
    expect(footer).to_have_attribute("lang", "ar")
    shot(page, "2-kiosk-ar")


def test_notice_link_and_text_are_safe(fake_web: str, page: Page, shot) -> None:
    widget = Widget(page).open(fake_web)
    good = widget.ask("notice please").locator(".meso-notice")
    expect(good.locator("a")).to_have_attribute("href", "https://clinic.example/privacy")
    hostile = widget.ask("hostile notice").locator(".meso-notice")
    expect(hostile).to_contain_text('<img src=x onerror="document.title=')
    expect(hostile).to_contain_text("Kept <b>30</b> days.")
    assert hostile.locator("img, b, script").count() == 0
    expect(hostile.locator("a")).to_have_count(0)  # a javascript: URL is no link at all
    page.wait_for_timeout(300)
    assert page.title() != "pwned"
    shot(page, "1-hostile-notice")


def test_kiosk_footer_notice_follows_clinic_settings(fake_web: str, page: Page) -> None:
    page.goto(f"{fake_web}/kiosk?lang=hi")
    footer = page.locator("#kiosk-notice")
    expected = privacy_notice("hi", clinic_config())
    expect(footer).to_contain_text(expected.text)
    expect(footer).to_contain_text(f"{expected.link_label}: {expected.policy_url}")
