"""The observability endpoints every serving part exposes, on the port it already serves:

    GET /health/live   200 {"status": "ok"} while the process answers (cheap, no I/O)
    GET /health/ready  200 {"status": "ready", …} when it can do its job, else 503
                       {"status": "not ready", …}; what "ready" means is the part's own
                       (Rasa: model loaded; action server: knowledge base loaded; web: serving;
                       worker: a pass finished recently)
    GET /metrics       Prometheus text format (bot/observability/metrics.py)

Rasa and the action server (Sanic) get them from `sanic_blueprint`; the web server and the
worker (aiohttp) from `add_aiohttp_routes`. `Stack.wait_ready` (bot/serve.py) and a load balancer
wait on READY_PATH.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.observability.metrics import scrape_registry

if TYPE_CHECKING:
    from aiohttp import web
    from sanic import Blueprint, Sanic

LIVE_PATH = "/health/live"
READY_PATH = "/health/ready"
METRICS_PATH = "/metrics"

Readiness = Callable[[], tuple[bool, dict[str, Any]]]  # (ready, details for the JSON body)


def readiness_body(ready: bool, details: dict[str, Any]) -> tuple[dict[str, Any], int]:
    return {"status": "ready" if ready else "not ready", **details}, 200 if ready else 503


def metrics_text() -> bytes:
    return generate_latest(scrape_registry())


def sanic_blueprint(ready: Callable[[Sanic], tuple[bool, dict[str, Any]]]) -> Blueprint:
    """The three endpoints for a Sanic app; `ready(app)` decides readiness."""
    from sanic import Blueprint, response
    from sanic.request import Request

    blueprint = Blueprint("meso_observability")

    @blueprint.get(LIVE_PATH)
    async def live(_: Request) -> response.HTTPResponse:
        return response.json({"status": "ok"})

    @blueprint.get(READY_PATH)
    async def ready_(request: Request) -> response.HTTPResponse:
        body, status = readiness_body(*ready(request.app))
        return response.json(body, status=status)

    @blueprint.get(METRICS_PATH)
    async def metrics(_: Request) -> response.HTTPResponse:
        return response.raw(metrics_text(), content_type=CONTENT_TYPE_LATEST)

    return blueprint


def add_aiohttp_routes(app: web.Application, ready: Readiness) -> None:
    """The three endpoints on an aiohttp app; `ready()` decides readiness."""
    from aiohttp import web

    async def live(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def ready_(_: web.Request) -> web.Response:
        body, status = readiness_body(*ready())
        return web.json_response(body, status=status)

    async def metrics(_: web.Request) -> web.Response:
        # Scrape-time collectors may query the database: off the event loop.
        body = await asyncio.to_thread(metrics_text)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get(LIVE_PATH, live)
    app.router.add_get(READY_PATH, ready_)
    app.router.add_get(METRICS_PATH, metrics)
