"""aiohttp application: each room registers its own routes here."""

from __future__ import annotations

from aiohttp import web

from bot.observability.endpoints import add_aiohttp_routes
from bot.web.settings import WebSettings

SETTINGS_KEY = web.AppKey("settings", WebSettings)


def create_app(settings: WebSettings | None = None) -> web.Application:
    app = web.Application(client_max_size=64 * 1024)
    app[SETTINGS_KEY] = settings or WebSettings.from_env()
    # Rooms register their routes; each module owns its URLs.
    from bot.web.clinician.routes import register as register_clinician
    from bot.web.pages import register as register_pages

    register_pages(app)
    register_clinician(app)
    # Ready once it serves: pages and texts were loaded above, and the inbox opens the
    # database per request, so an outage there must not take the widget's pages out of rotation.
    add_aiohttp_routes(app, lambda: (True, {}))
    return app


def main() -> None:
    settings = WebSettings.from_env()
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=None)
