"""Patient-facing pages: the demo page ("/"), the kiosk ("/kiosk"), the chat widget's assets
("/widget.js", "/static/...") and the public "/config.json" the widget and kiosk read.

The browser code lives in bot/web/static: chat.js (rendering and the Rasa socket.io session,
shared by widget and kiosk), widget.js (the embeddable launcher) and kiosk.js. Their words come
from data/ui*.yml (bot/web/ui_texts.py), served in /config.json for every language; `?lang=` on
"/" (the widget's data-lang) and "/kiosk" sets the page's default language.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import DataFileError
from bot.knowledge import KnowledgeBase, KnowledgeSnapshot
from bot.paths import CLINIC_CONFIG
from bot.replies.notice import PrivacyNotice, privacy_notice
from bot.replies.payloads import topic_payload
from bot.web.app import SETTINGS_KEY
from bot.web.settings import WebSettings
from bot.web.ui_texts import DEFAULT_LANGUAGE, UiTexts, ui_texts

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KioskTopic:
    id: str
    title: str
    lang: str = DEFAULT_LANGUAGE  # the language the title is written in

    @property
    def payload(self) -> str:
        return topic_payload(self.id)

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "payload": self.payload}


def topic_title(kb: KnowledgeSnapshot, topic_id: str, lang: str) -> tuple[str, str] | None:
    """The one place a kiosk topic's title is looked up: (title, language of the title), or None
    when the snapshot lacks the topic. A language the snapshot lacks gets the English title."""
    entry = kb.topic(topic_id, lang)
    if entry is None:
        return None
    return entry.title, lang if lang in kb.languages else DEFAULT_LANGUAGE


def kiosk_topics(
    clinic: ClinicConfig,
    kb: KnowledgeSnapshot,
    strict: bool = True,
    lang: str = DEFAULT_LANGUAGE,
) -> list[KioskTopic]:
    """The kiosk's topic buttons in `lang`, titled from the knowledge snapshot. A listed topic the
    snapshot lacks raises DataFileError naming it (`strict`), or is left out with an error log."""
    found = []
    for topic_id in clinic.kiosk_topics:
        title = topic_title(kb, topic_id, lang)
        if title is None:
            problem = DataFileError(
                CLINIC_CONFIG, f"kiosk topic '{topic_id}' is not in data/knowledge/topics"
            )
            if strict:
                raise problem
            logger.error("%s; left off the kiosk", problem)
            continue
        found.append(KioskTopic(topic_id, *title))
    return found


def localized_topics(
    topics: list[KioskTopic], kb: KnowledgeSnapshot, lang: str
) -> tuple[KioskTopic, ...]:
    """The same topic buttons titled in `lang` (where the knowledge base has such a title)."""
    return tuple(
        KioskTopic(t.id, *(topic_title(kb, t.id, lang) or (t.title, t.lang))) for t in topics
    )


@dataclass(frozen=True)
class PublicConfig:
    """What the browser may know: clinic contacts, kiosk settings, the Rasa server URL and the
    UI's languages and words. `topics`: the kiosk's buttons in the default language;
    `topics_by_language`: in each UI language."""

    clinic: ClinicConfig
    topics: tuple[KioskTopic, ...]
    idle_seconds: int
    rasa_url: str
    knowledge_version: str
    ui: UiTexts
    topics_by_language: dict[str, tuple[KioskTopic, ...]]
    privacy_notices: dict[str, PrivacyNotice]  # by UI language: the kiosk shows it on screen

    @classmethod
    def build(
        cls,
        settings: WebSettings,
        clinic: ClinicConfig,
        kb: KnowledgeSnapshot,
        strict: bool = True,
        ui: UiTexts | None = None,
    ) -> PublicConfig:
        idle = settings.kiosk_idle_seconds
        ui = ui or ui_texts()
        topics = kiosk_topics(clinic, kb, strict, ui.default)
        return cls(
            clinic=clinic,
            topics=tuple(topics),
            idle_seconds=idle if idle is not None else clinic.kiosk_idle_seconds,
            rasa_url=settings.rasa_url.rstrip("/"),
            knowledge_version=kb.version,
            ui=ui,
            topics_by_language={x.code: localized_topics(topics, kb, x.code) for x in ui.languages},
            privacy_notices={x.code: privacy_notice(x.code, clinic) for x in ui.languages},
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "clinic_name": self.clinic.name,
            "phone": self.clinic.phone,
            "emergency_number": self.clinic.emergency_number,
            "opening_hours": self.clinic.opening_hours,
            "idle_seconds": self.idle_seconds,
            "topics": [t.as_dict() for t in self.topics],
            "rasa_url": self.rasa_url,
            "knowledge_version": self.knowledge_version,
            **self.ui.as_dict(),
            "topics_by_language": {
                lang: [{**t.as_dict(), "lang": t.lang} for t in topics]
                for lang, topics in self.topics_by_language.items()
            },
            "privacy_notices": {
                lang: notice.as_dict() for lang, notice in self.privacy_notices.items()
            },
        }


def fill(text: str, **slots: str) -> Markup:
    """A UI text with its {placeholders} filled by HTML snippets, the text itself escaped."""
    html = str(escape(text))
    for name, snippet in slots.items():
        html = html.replace("{" + name + "}", snippet)
    return Markup(html)


def content_security_policy(rasa_url: str) -> str:
    """Our pages run only our own scripts and talk only to us and the Rasa server."""
    parts = urlsplit(rasa_url)
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    rasa = f"{parts.scheme}://{parts.netloc} {ws_scheme}://{parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {rasa}; base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
    )


class Pages:
    """Request handlers for the patient-facing pages. The kiosk's topics follow the live
    knowledge base: an edited title or topic list shows on the next /config.json."""

    def __init__(self, settings: WebSettings, clinic: ClinicConfig, kb: KnowledgeBase) -> None:
        self.settings = settings
        self.knowledge = kb
        self.config = PublicConfig.build(settings, clinic, kb.current())  # fails fast at start
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.templates.filters["fill"] = fill
        self.csp = content_security_policy(self.config.rasa_url)

    def _page(self, template: str, request: web.Request) -> web.Response:
        """Render a page in its `?lang=` language (the default when absent or unknown)."""
        ui = self.config.ui
        language = ui.language(request.query.get("lang"))
        html = self.templates.get_template(template).render(
            clinic=self.config.clinic,
            rasa_url=self.config.rasa_url,
            idle_seconds=self.config.idle_seconds,
            language=language,
            languages=ui.languages,
            ui=ui.texts[language.code],
            notice=self.config.privacy_notices[language.code],
        )
        return web.Response(
            text=html,
            content_type="text/html",
            headers={
                "Content-Security-Policy": self.csp,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
                "Cache-Control": "no-store",
            },
        )

    async def demo(self, request: web.Request) -> web.Response:
        return self._page("demo.html", request)

    async def kiosk(self, request: web.Request) -> web.Response:
        return self._page("kiosk.html", request)

    async def config_json(self, request: web.Request) -> web.Response:
        snapshot = self.knowledge.current()
        if snapshot.version != self.config.knowledge_version:
            self.config = PublicConfig.build(
                self.settings, self.config.clinic, snapshot, False, self.config.ui
            )
        # Public clinic contacts: any page embedding the widget may read them.
        return web.json_response(
            self.config.as_dict(),
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
        )

    async def ui_fallback_js(self, request: web.Request) -> web.Response:
        """The English texts (data/ui.yml) as a script, for a widget that cannot read /config.json
        (a page's CSP may forbid fetching from us where it allows our scripts)."""
        ui = self.config.ui
        fallback = {
            "clinic_name": self.config.clinic.name,
            "default_language": ui.default,
            "languages": [],
            "ui": {ui.default: ui.texts[ui.default]},
        }
        return web.Response(
            text=f"window.MesoUiFallback = {json.dumps(fallback)};\n",
            content_type="text/javascript",
            headers={"Cache-Control": "no-cache"},
        )

    async def widget_js(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            STATIC_DIR / "widget.js",
            headers={"Cache-Control": "no-cache", "Content-Type": "text/javascript"},
        )


async def _reload_on_signal(knowledge: KnowledgeBase) -> None:
    with contextlib.suppress(ValueError, RuntimeError):  # not the main thread (tests)
        knowledge.reload_on_signal()


def register(app: web.Application) -> None:
    """Add the patient-facing routes to the web app (called by bot.web.app.create_app)."""
    knowledge = KnowledgeBase()
    pages = Pages(app[SETTINGS_KEY], clinic_config(), knowledge)
    app.on_startup.append(lambda _app: _reload_on_signal(knowledge))
    app.router.add_get("/", pages.demo)
    app.router.add_get("/kiosk", pages.kiosk)
    app.router.add_get("/config.json", pages.config_json)
    app.router.add_get("/widget.js", pages.widget_js)
    app.router.add_get("/ui-fallback.js", pages.ui_fallback_js)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
