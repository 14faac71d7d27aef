"""Patient-facing pages: the demo page ("/"), the kiosk ("/kiosk"), the chat widget's assets
("/widget.js", "/static/...") and the public "/config.json" the widget and kiosk read.

The browser code lives in bot/web/static: chat.js (rendering and the Rasa socket.io session,
shared by widget and kiosk), widget.js (the embeddable launcher) and kiosk.js.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import DataFileError
from bot.knowledge import KnowledgeBase, KnowledgeSnapshot
from bot.paths import CLINIC_CONFIG
from bot.replies.payloads import topic_payload
from bot.web.app import SETTINGS_KEY
from bot.web.settings import WebSettings

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class KioskTopic:
    id: str
    title: str

    @property
    def payload(self) -> str:
        return topic_payload(self.id)

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "payload": self.payload}


def kiosk_topics(
    clinic: ClinicConfig, kb: KnowledgeSnapshot, strict: bool = True
) -> list[KioskTopic]:
    """The kiosk's topic buttons, titled from the knowledge snapshot. A listed topic the
    snapshot lacks raises DataFileError naming it (`strict`), or is left out with an error log."""
    found = []
    for topic_id in clinic.kiosk_topics:
        entry = kb.topic(topic_id)
        if entry is None:
            problem = DataFileError(
                CLINIC_CONFIG, f"kiosk topic '{topic_id}' is not in data/knowledge/topics"
            )
            if strict:
                raise problem
            logger.error("%s; left off the kiosk", problem)
            continue
        found.append(KioskTopic(topic_id, entry.title))
    return found


@dataclass(frozen=True)
class PublicConfig:
    """What the browser may know: clinic contacts, kiosk settings and the Rasa server URL."""

    clinic: ClinicConfig
    topics: tuple[KioskTopic, ...]
    idle_seconds: int
    rasa_url: str
    knowledge_version: str

    @classmethod
    def build(
        cls, settings: WebSettings, clinic: ClinicConfig, kb: KnowledgeSnapshot, strict: bool = True
    ) -> PublicConfig:
        idle = settings.kiosk_idle_seconds
        return cls(
            clinic=clinic,
            topics=tuple(kiosk_topics(clinic, kb, strict)),
            idle_seconds=idle if idle is not None else clinic.kiosk_idle_seconds,
            rasa_url=settings.rasa_url.rstrip("/"),
            knowledge_version=kb.version,
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
        }


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
        self.csp = content_security_policy(self.config.rasa_url)

    def _page(self, template: str) -> web.Response:
        html = self.templates.get_template(template).render(
            clinic=self.config.clinic, rasa_url=self.config.rasa_url
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
        return self._page("demo.html")

    async def kiosk(self, request: web.Request) -> web.Response:
        return self._page("kiosk.html")

    async def config_json(self, request: web.Request) -> web.Response:
        snapshot = self.knowledge.current()
        if snapshot.version != self.config.knowledge_version:
            self.config = PublicConfig.build(self.settings, self.config.clinic, snapshot, False)
        # Public clinic contacts: any page embedding the widget may read them.
        return web.json_response(
            self.config.as_dict(),
            headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-cache"},
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
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
