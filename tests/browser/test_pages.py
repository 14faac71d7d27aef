"""HTTP-level checks of the patient-facing routes (bot/web/pages.py); no browser needed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.clinic import clinic_config
from bot.datafiles import DataFileError
from bot.knowledge import read_snapshot
from bot.web.pages import STATIC_DIR, content_security_policy, kiosk_topics

from .harness import web_server


def get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture(scope="module")
def site() -> str:
    with web_server("http://127.0.0.1:5999", kiosk_idle_seconds=42) as url:
        yield url


def test_config_json_has_clinic_contacts_topics_and_idle(site: str) -> None:
    status, headers, body = get(f"{site}/config.json")
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    config = json.loads(body)
    clinic = clinic_config()
    assert config["clinic_name"] == clinic.name
    assert config["phone"] == clinic.phone
    assert config["emergency_number"] == clinic.emergency_number
    assert config["idle_seconds"] == 42  # WebSettings.kiosk_idle_seconds overrides clinic.yml
    assert config["rasa_url"] == "http://127.0.0.1:5999"
    assert [t["id"] for t in config["topics"]] == list(clinic.kiosk_topics)
    assert config["topics"][0] == {
        "id": "cost",
        "title": "How much does mesotherapy cost?",
        "payload": "/ask_cost",
    }


def test_config_json_serves_languages_texts_and_topics_per_language(site: str) -> None:
    config = json.loads(get(f"{site}/config.json")[2])
    assert config["default_language"] == "en"
    assert config["languages"] == [
        {"code": "en", "name": "English", "dir": "ltr"},
        {"code": "hi", "name": "हिन्दी", "dir": "ltr"},
        {"code": "ar", "name": "العربية", "dir": "rtl"},
    ]
    assert set(config["ui"]) == {"en", "hi", "ar"}
    assert config["ui"]["en"].keys() == config["ui"]["ar"].keys() == config["ui"]["hi"].keys()
    assert config["ui"]["ar"]["restart"] == "البدء من جديد"
    by_language = config["topics_by_language"]
    assert set(by_language) == {"en", "hi", "ar"}
    for topics in by_language.values():
        assert [t["id"] for t in topics] == [t["id"] for t in config["topics"]]
    assert by_language["en"][0] == {**config["topics"][0], "lang": "en"}


def test_ui_fallback_script_has_the_english_texts(site: str) -> None:
    status, headers, body = get(f"{site}/ui-fallback.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    prefix = "window.MesoUiFallback = "
    text = body.decode()
    assert text.startswith(prefix)
    fallback = json.loads(text.removeprefix(prefix).rstrip().rstrip(";"))
    config = json.loads(get(f"{site}/config.json")[2])
    assert fallback["ui"] == {"en": config["ui"]["en"]}
    assert fallback["clinic_name"] == config["clinic_name"]


@pytest.mark.parametrize(
    ("query", "lang", "direction"),
    [
        ("", "en", "ltr"),
        ("?lang=ar", "ar", "rtl"),
        ("?lang=hi", "hi", "ltr"),
        ("?lang=xx", "en", "ltr"),
    ],
)
def test_kiosk_and_demo_page_in_the_language_asked_for(
    site: str, query: str, lang: str, direction: str
) -> None:
    kiosk = get(f"{site}/kiosk{query}")[2].decode()
    assert f'<html lang="{lang}" dir="{direction}">' in kiosk
    assert f'data-lang="{lang}"' in kiosk
    demo = get(f"{site}/{query}")[2].decode()
    assert f'data-lang="{lang}"' in demo


def test_idle_seconds_default_from_clinic_config() -> None:
    with web_server("http://127.0.0.1:5999") as url:
        config = json.loads(get(f"{url}/config.json")[2])
    assert config["idle_seconds"] == clinic_config().kiosk_idle_seconds


def test_demo_page_embeds_the_widget_with_one_script_tag(site: str) -> None:
    status, headers, body = get(f"{site}/")
    html = body.decode()
    assert status == 200
    assert clinic_config().name in html
    assert html.count("<script") == 1
    assert 'src="/widget.js" data-server="http://127.0.0.1:5999"' in html
    assert "Demo page" in html
    assert (
        "connect-src 'self' http://127.0.0.1:5999 ws://127.0.0.1:5999"
        in headers["Content-Security-Policy"]
    )


def test_kiosk_page_and_assets_are_served(site: str) -> None:
    status, _, body = get(f"{site}/kiosk")
    assert status == 200 and b"Please speak to the front desk now." in body
    for path in [
        "/widget.js",
        "/static/chat.js",
        "/static/chat.css",
        "/static/widget.css",
        "/static/kiosk.js",
        "/static/kiosk.css",
        "/static/vendor/socket.io.min.js",
    ]:
        status, headers, _ = get(site + path)
        assert status == 200, path
    status, headers, body = get(f"{site}/widget.js")
    assert headers["Content-Type"].startswith("text/javascript")
    assert body == (STATIC_DIR / "widget.js").read_bytes()
    assert get(f"{site}/static/../pages.py")[0] == 404


def test_vendored_socketio_client_keeps_its_licence_header() -> None:
    head = (STATIC_DIR / "vendor" / "socket.io.min.js").read_text()[:200]
    assert "Socket.IO v4." in head and "MIT License" in head


def test_widget_stays_small() -> None:
    size = {
        f: (STATIC_DIR / f).stat().st_size
        for f in ["widget.js", "widget.css", "chat.css", "chat.js"]
    }
    assert size["widget.js"] + size["widget.css"] + size["chat.css"] < 25 * 1024
    # with the renderer shared with the kiosk, and the privacy notice's (about 1.2 KB)
    assert sum(size.values()) < 34 * 1024


def test_browser_code_never_uses_html_string_sinks() -> None:
    for script in STATIC_DIR.glob("*.js"):
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, f"{script.name} uses {sink}"


def test_kiosk_topic_without_a_topic_file_names_the_file(tmp_path: Path) -> None:
    from dataclasses import replace

    clinic = replace(clinic_config(), kiosk_topics=("cost", "no_such_topic"))
    with pytest.raises(DataFileError, match="no_such_topic"):
        kiosk_topics(clinic, read_snapshot())
    assert [t.id for t in kiosk_topics(clinic, read_snapshot(), strict=False)] == ["cost"]


def test_csp_for_https_rasa_uses_wss() -> None:
    assert "wss://bot.example.org" in content_security_policy("https://bot.example.org")
