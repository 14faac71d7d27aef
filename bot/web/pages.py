"""Patient-facing pages: the demo page ("/"), the kiosk ("/kiosk"), the chat widget's assets
("/widget.js", "/static/...") and the public "/config.json" the widget and kiosk read.

The browser code lives in bot/web/static: chat.js (rendering and the Rasa socket.io session,
shared by widget and kiosk), widget.js (the embeddable launcher) and kiosk.js.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from aiohttp import web

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import load_checked
from bot.paths import KNOWLEDGE_DIR
from bot.web.app import SETTINGS_KEY
from bot.web.settings import WebSettings

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"


@dataclass(frozen=True)
class KioskTopic:
    id: str
    title: str

    @property
    def payload(self) -> str:
        return f"/ask_{self.id}"

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "title": self.title, "payload": self.payload}


def kiosk_topics(
    clinic: ClinicConfig, topics_dir: Path = KNOWLEDGE_DIR / "topics"
) -> list[KioskTopic]:
    """The kiosk's topic buttons; raises DataFileError naming a topic without a valid file."""
    return [
        KioskTopic(
            topic_id, load_checked(topics_dir / f"{topic_id}.yml", "topic", topic_id)["title"]
        )
        for topic_id in clinic.kiosk_topics
    ]


@dataclass(frozen=True)
class PublicConfig:
    """What the browser may know: clinic contacts, kiosk settings and the Rasa server URL."""

    clinic: ClinicConfig
    topics: tuple[KioskTopic, ...]
    idle_seconds: int
    rasa_url: str

    @classmethod
    def build(cls, settings: WebSettings, clinic: ClinicConfig) -> PublicConfig:
        idle = settings.kiosk_idle_seconds
        return cls(
            clinic=clinic,
            topics=tuple(kiosk_topics(clinic)),
            idle_seconds=idle if idle is not None else clinic.kiosk_idle_seconds,
            rasa_url=settings.rasa_url.rstrip("/"),
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
    """Request handlers for the patient-facing pages."""

    def __init__(self, config: PublicConfig) -> None:
        self.config = config
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.csp = content_security_policy(config.rasa_url)

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


def register(app: web.Application) -> None:
    """Add the patient-facing routes to the web app (called by bot.web.app.create_app)."""
    pages = Pages(PublicConfig.build(app[SETTINGS_KEY], clinic_config()))
    app.router.add_get("/", pages.demo)
    app.router.add_get("/kiosk", pages.kiosk)
    app.router.add_get("/config.json", pages.config_json)
    app.router.add_get("/widget.js", pages.widget_js)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)
