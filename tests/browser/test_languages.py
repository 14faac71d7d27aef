"""The widget and the kiosk in English, Hindi and Arabic (right to left), against fake_rasa.py:
the language switch, data-lang, the metadata each message carries, the layout and the fonts.

Screenshots: test-artifacts/browser/; with MESO_README_SCREENSHOTS=1 the README's two go to
docs/screenshots/ (widget-ar.png, kiosk-hi.png)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from .chatpage import Chat, Widget
from .harness import FakeRasa

pytestmark = pytest.mark.browser

NOTO = {"hi": "Noto Sans Devanagari", "ar": ("Noto Naskh Arabic", "Noto Sans Arabic")}


def direction(locator: Locator) -> str:
    return locator.evaluate("el => getComputedStyle(el).direction")


def last_metadata(fake_rasa: FakeRasa) -> dict[str, Any]:
    return fake_rasa.events("user_uttered")[-1]["data"]["metadata"]


def platform_fonts(page: Page, locator: Locator) -> dict[str, int]:
    """The fonts Chromium drew the element's text with (family -> glyphs), through DevTools."""
    locator.evaluate("el => { window.__fontProbe = el; }")
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        cdp.send("DOM.getDocument", {"depth": -1, "pierce": True})
        probe = cdp.send("Runtime.evaluate", {"expression": "window.__fontProbe"})
        node = cdp.send("DOM.requestNode", {"objectId": probe["result"]["objectId"]})
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})["fonts"]
    finally:
        cdp.detach()
    return {f["familyName"]: f["glyphCount"] for f in fonts}


@pytest.fixture(scope="module", autouse=True)
def noto_fonts() -> None:
    """The Noto fonts must be installed (`make fonts`, which `make pytest` runs)."""
    families = subprocess.run(["fc-list", ":", "family"], capture_output=True, text=True).stdout
    for family in ("Noto Sans Devanagari", "Noto Naskh Arabic"):
        if family not in families:
            pytest.fail(f"font {family!r} is missing: run `make fonts` (fonts-noto-core)")


def test_widget_switch_to_arabic_turns_the_layout_right_to_left(
    fake_rasa: FakeRasa, fake_web: str, page: Page, shot
) -> None:
    widget = Widget(page).open(fake_web)
    switch = page.locator(".meso-lang")
    expect(switch).to_have_text(["English", "हिन्दी", "العربية"])
    expect(switch.first).to_have_attribute("aria-pressed", "true")
    expect(widget.restart).to_have_text("Start over")
    chat_root = widget.root
    assert direction(chat_root) == "ltr"

    switch.nth(2).click()
    expect(switch.nth(2)).to_have_attribute("aria-pressed", "true")
    expect(widget.restart).to_have_text("البدء من جديد")
    expect(widget.send_button).to_have_text("إرسال")
    expect(widget.input).to_have_attribute("placeholder", "اكتب سؤالك…")
    expect(widget.close).to_have_attribute("aria-label", "إغلاق المحادثة")
    expect(page.locator(".meso-head h2")).to_have_text("اسأل Demo Skin Clinic")
    expect(page.locator(".meso-foot")).to_contain_text("في حالات الطوارئ اتصل بالرقم 112")
    expect(chat_root).to_have_attribute("dir", "rtl")
    expect(chat_root).to_have_attribute("lang", "ar")
    assert direction(chat_root) == "rtl"
    assert direction(page.locator(".meso-head")) == "rtl"
    # the launcher and the panel stay on the page's side (the demo page is English)
    launcher = widget.launcher.bounding_box()
    assert launcher is not None and launcher["x"] > 1000

    answer = widget.ask("how much does it cost")
    assert last_metadata(fake_rasa) == {"surface": "widget", "lang": "ar", "page_lang": "en"}
    expect(answer).to_have_attribute("lang", "ar")
    expect(answer).to_have_attribute("dir", "rtl")
    expect(answer.locator(".meso-note-label")).to_have_text("ملاحظة حول الأدلة")
    expect(answer.locator(".meso-sources summary")).to_have_text("المصادر (2)")
    answer.locator(".meso-sources summary").click()
    log = widget.log.bounding_box()
    user = widget.users.last.bounding_box()
    bot = answer.bounding_box()
    assert log and user and bot
    assert user["x"] - log["x"] < 30, "the patient's bubble is on the left in Arabic"
    assert log["x"] + log["width"] - (bot["x"] + bot["width"]) < 30, "the answer on the right"
    for part in (".meso-body li", ".meso-sources ol", ".meso-note"):
        assert direction(answer.locator(part).first) == "rtl", part
    page.wait_for_timeout(300)
    shot(page, "readme_widget-ar")

    english = widget.ask("in english please")
    expect(english).to_have_attribute("lang", "en")
    expect(english).to_have_attribute("dir", "ltr")
    assert direction(english.locator(".meso-body")) == "ltr"
    expect(english.locator(".meso-sources summary")).to_have_text("Sources (1)")
    english_box = english.bounding_box()
    assert english_box and log["x"] + log["width"] - (english_box["x"] + english_box["width"]) < 30

    page.reload()  # the choice lasts for the browser session (so does the open panel)
    expect(widget.panel).to_be_visible()
    widget.wait_online()
    expect(widget.send_button).to_have_text("إرسال")
    expect(widget.users).to_have_count(2)
    switch.first.click()
    expect(widget.send_button).to_have_text("Send")
    assert direction(chat_root) == "ltr"
    widget.ask("hello")
    assert last_metadata(fake_rasa)["lang"] == "en"


def test_widget_data_lang_sets_the_default(
    fake_rasa: FakeRasa, fake_web: str, page: Page, shot
) -> None:
    page.goto(f"{fake_web}/?lang=hi")
    assert page.locator("script[data-lang='hi']").count() == 1
    widget = Widget(page)
    expect(widget.launcher).to_have_attribute("aria-label", "Demo Skin Clinic से पूछें")
    widget.open()
    expect(page.locator(".meso-lang").nth(1)).to_have_attribute("aria-pressed", "true")
    expect(widget.restart).to_have_text("फिर से शुरू करें")
    expect(page.locator(".meso-empty")).to_contain_text("मेसोथेरेपी")
    answer = widget.ask("how much does it cost")
    assert last_metadata(fake_rasa) == {"surface": "widget", "lang": None, "page_lang": "hi"}
    expect(answer).to_have_attribute("lang", "hi")
    expect(answer.locator(".meso-sources summary")).to_have_text("स्रोत (2)")
    greeting = widget.ask("नमस्ते")
    expect(greeting.locator(".meso-choice")).to_have_text(["ख़र्च", "साइड इफ़ेक्ट"])
    shot(page, "1-widget-hi")

    widget.close.click()
    page.goto(f"{fake_web}/?lang=ar")  # an Arabic page: the launcher on its left
    widget = Widget(page)
    expect(widget.launcher).to_have_attribute("aria-label", "اسأل Demo Skin Clinic")
    widget.open()
    launcher = widget.launcher.bounding_box()
    panel = widget.panel.bounding_box()
    assert launcher and panel and launcher["x"] < 100 and panel["x"] < 100
    expect(widget.root).to_have_attribute("dir", "rtl")
    shot(page, "2-widget-ar-page")


def test_kiosk_languages_and_reset_to_the_default(
    fake_rasa: FakeRasa, fake_web: str, tablet_page: Page, shot
) -> None:
    page = tablet_page
    page.goto(f"{fake_web}/kiosk?lang=hi&idle=8")
    chat = Chat(page)
    chat.wait_online()
    html = page.locator("html")
    expect(html).to_have_attribute("lang", "hi")
    expect(page.locator("#kiosk-done")).to_have_text("हो गया")
    expect(page.locator("#kiosk-topics-title")).to_have_text("अक्सर पूछे जाने वाले सवाल")
    expect(page.locator("#kiosk-idle")).to_have_text("8 सेकंड")
    expect(page.locator(".kiosk-privacy")).to_contain_text("इस टैबलेट पर सहेजा नहीं जाता")
    switch = page.locator(".kiosk-lang")
    expect(switch.nth(1)).to_have_attribute("aria-pressed", "true")
    topic = page.locator(".kiosk-topic").first
    expect(topic).to_have_attribute("lang", "hi")  # titled from the Hindi knowledge files
    topic.click()
    expect(chat.rich).to_have_count(1)
    assert last_metadata(fake_rasa) == {"surface": "kiosk", "lang": None, "page_lang": "hi"}
    answer = chat.rich.last
    expect(answer).to_have_attribute("lang", "hi")
    expect(answer.locator(".meso-note-label")).to_have_text("शोध के बारे में टिप्पणी")
    page.wait_for_timeout(300)
    shot(page, "1-kiosk-hi")
    for target in [switch.nth(i) for i in range(3)]:
        box = target.bounding_box()
        assert box and box["height"] >= 48

    switch.nth(2).click()
    expect(html).to_have_attribute("dir", "rtl")
    expect(html).to_have_attribute("lang", "ar")
    assert direction(page.locator(".kiosk-body")) == "rtl"
    expect(page.get_by_role("button", name="إنهاء")).to_be_visible()
    expect(page).to_have_title("Demo Skin Clinic: اسأل عن الميزوثيرابي")
    topics = page.locator(".kiosk-topics").bounding_box()
    chat_box = page.locator(".kiosk-chat").bounding_box()
    assert topics and chat_box and topics["x"] > chat_box["x"], "the topics on the right"
    assert page.evaluate("sessionStorage.getItem('meso-kiosk:lang')") == "ar"
    answer = chat.ask("شفايفي فيها تورم")
    assert last_metadata(fake_rasa) == {"surface": "kiosk", "lang": "ar", "page_lang": "hi"}
    expect(answer).to_have_attribute("dir", "rtl")
    alert = page.locator("#kiosk-alert")
    expect(alert).to_contain_text("يُرجى التحدث إلى موظفي الاستقبال الآن.")
    expect(alert.locator(".kiosk-alert-emergency")).to_contain_text("إذا كانت هذه حالة طارئة")
    expect(alert.locator("a")).to_have_attribute("href", "tel:112")
    expect(answer.locator(".meso-call")).to_have_text("اتصل بالرقم 112 الآن")
    expect(answer.locator(".meso-ticket")).to_have_text("الرقم المرجعي: A7K2")
    page.wait_for_timeout(300)
    shot(page, "2-kiosk-ar")

    # the idle reset clears the conversation and returns to the kiosk's default language
    expect(chat.log.locator(".meso-msg")).to_have_count(0, timeout=15_000)
    expect(html).to_have_attribute("lang", "hi")
    expect(html).to_have_attribute("dir", "ltr")
    expect(switch.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#kiosk-done")).to_have_text("हो गया")
    assert page.evaluate("sessionStorage.length + localStorage.length") == 0
    chat.wait_online()
    chat.ask("hello")
    assert last_metadata(fake_rasa) == {"surface": "kiosk", "lang": None, "page_lang": "hi"}


def test_devanagari_and_arabic_are_drawn_with_noto_fonts(
    fake_web: str, tablet_page: Page, shot
) -> None:
    page = tablet_page
    page.goto(f"{fake_web}/kiosk?lang=hi")
    chat = Chat(page)
    chat.wait_online()
    hindi = chat.ask("ख़र्च कितना है?")
    fonts = platform_fonts(page, hindi.locator(".meso-body p").first)
    assert "Noto Sans Devanagari" in fonts, fonts
    fonts = platform_fonts(page, page.locator(".kiosk-privacy span").first)
    assert "Noto Sans Devanagari" in fonts, fonts
    assert page.evaluate("document.fonts.check('16px \"Noto Sans Devanagari\"', 'नमस्ते')")
    page.wait_for_timeout(300)
    shot(page, "readme_kiosk-hi")

    page.locator(".kiosk-lang").nth(2).click()
    arabic = chat.ask("كم التكلفة؟")
    fonts = platform_fonts(page, arabic.locator(".meso-body p").first)
    assert set(NOTO["ar"]) & set(fonts), fonts
    fonts = platform_fonts(page, page.locator("#kiosk-topics-title"))
    assert set(NOTO["ar"]) & set(fonts), fonts
    shot(page, "2-fonts-ar")


def test_widget_fonts_inside_the_shadow_dom(fake_web: str, page: Page) -> None:
    widget = Widget(page).open(f"{fake_web}/?lang=ar")
    answer = widget.ask("how much does it cost")
    fonts = platform_fonts(page, answer.locator(".meso-body p").first)
    assert set(NOTO["ar"]) & set(fonts), fonts
    page.locator(".meso-lang").nth(1).click()
    fonts = platform_fonts(page, page.locator(".meso-empty, .meso-send").last)
    assert "Noto Sans Devanagari" in fonts, fonts
