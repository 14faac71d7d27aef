"""/health/live, /health/ready and /metrics on each kind of server, served for real on
127.0.0.1: Rasa's Sanic app as `rasa run` builds it (through bot/rasa/observe.py), the action
server's through Rasa SDK's plugin hook, the web server's aiohttp app and the worker's."""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from prometheus_client import REGISTRY
from sanic import Sanic

from bot.observability.endpoints import LIVE_PATH, METRICS_PATH, READY_PATH
from bot.storage.db import Database
from bot.tickets.notify.worker import READY_WITHIN_SECONDS, Worker, serve_endpoints
from bot.tickets.spool import Spool
from tests.support.loopback import aiohttp_served, sanic_served
from tests.tickets.helpers import make_clinic


async def get(url: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return response.status, response.headers.get("Content-Type", ""), await response.text()


async def test_rasa_serves_health_and_metrics_and_is_ready_once_the_model_is_loaded() -> None:
    import rasa.core.run

    from bot.rasa import observe

    observe.apply()
    Sanic.test_mode = True
    app = rasa.core.run.configure_app(enable_api=False, route="/webhooks/")
    app.config.TOUCHUP = False
    app.name = f"rasa_{uuid.uuid4().hex}"  # type: ignore[misc]
    async with sanic_served(app) as url:
        assert (await get(url + LIVE_PATH))[0] == 200
        status, _, body = await get(url + READY_PATH)
        assert status == 503 and '"model_loaded":false' in body
        app.ctx.agent = SimpleNamespace(is_ready=lambda: True)
        assert (await get(url + READY_PATH))[0] == 200
        status, content_type, text = await get(url + METRICS_PATH)
        assert status == 200 and content_type.startswith("text/plain")
        assert "meso_messages_total" in text or "# HELP meso_messages" in text


async def test_action_server_gets_the_endpoints_through_the_sdk_plugin_hook() -> None:
    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    Sanic.test_mode = True
    app = create_app("actions")
    app.name = f"sdk_{uuid.uuid4().hex}"  # type: ignore[misc]
    plugin_manager().hook.attach_sanic_app_extensions(app=app)  # what rasa_sdk's run() does
    async with sanic_served(app) as url:
        assert (await get(url + LIVE_PATH))[0] == 200
        status, _, body = await get(url + READY_PATH)
        assert status == 200 and "knowledge_version" in body
        assert (await get(url + METRICS_PATH))[0] == 200
        assert (await get(url + "/health"))[0] == 200  # the SDK's own route still there


async def test_web_server_serves_the_endpoints_without_a_session() -> None:
    from bot.web.app import create_app

    async with aiohttp_served(create_app()) as url:
        for path in (LIVE_PATH, READY_PATH, METRICS_PATH):
            assert (await get(url + path))[0] == 200, path


async def test_worker_is_ready_after_a_pass_and_exports_its_queue_gauges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'meso.db'}")
    worker = Worker(db, make_clinic(), spool=Spool(tmp_path / "spool"))
    collectors: list[Any] = []
    monkeypatch.setattr(
        "bot.tickets.notify.worker.register_collector", lambda c: collectors.append(c)
    )
    runner = await serve_endpoints(worker, "127.0.0.1", 0)
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    try:
        assert (await get(url + LIVE_PATH))[0] == 200
        assert (await get(url + READY_PATH))[0] == 503  # no pass yet
        await worker.run_once()
        assert (await get(url + READY_PATH))[0] == 200
        ended, ok = worker.last_pass  # type: ignore[misc]
        worker.last_pass = (ended - READY_WITHIN_SECONDS - 1, ok)
        assert (await get(url + READY_PATH))[0] == 503  # stuck
        [collector] = collectors
        REGISTRY.register(collector)
        try:
            status, _, text = await get(url + METRICS_PATH)
        finally:
            REGISTRY.unregister(collector)
        assert status == 200
        assert "meso_spool_depth 0.0" in text
        assert 'meso_scrape_errors{source="outbox"} 0.0' in text
    finally:
        await runner.cleanup()
        db.dispose()
