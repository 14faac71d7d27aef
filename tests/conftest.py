"""Shared fixtures. `rasa_stack` runs the real system once per test session (once per pytest
process: the browser tests run in a pytest of their own), with the worker, the web server, a
clinic webhook receiver and the WhatsApp channel talking to a fake Graph API, so every test that
needs the running system shares it. Tests that use it are marked `stack` here (see
`pytest_collection_modifyitems`), so `pytest -m "not stack and not browser"` runs the rest.

`database_url` is a fresh, empty database of the project's own tables, once on SQLite and once on
a real PostgreSQL (one throwaway server per test session, a new schema on it per test): every
test that stores tickets, outbox rows, staff or channel records through it runs on both.

`browser` is the one headless Chromium (Debian's package, driven by Playwright) that every browser
test shares: two Playwright sync instances cannot run in one process at once. Its pages
(`page`, `shot`) and the clinician pages' fixtures (`staff_db`, `clinician_url`) come from
tests/support/browser.py and tests/support/clinician_browser.py, registered here."""

from __future__ import annotations

import itertools
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from bot.cluster.servers import PostgresServer
from bot.serve import Stack
from tests.stack import WebhookReceiver, clinic_with_webhook, start_stack
from tests.support.servers import postgres_server

if TYPE_CHECKING:
    from tests.channels.whatsapp_fakes import FakeGraph

pytest_plugins = ["tests.support.browser", "tests.support.clinician_browser"]

STACK_FIXTURES = {"rasa_stack", "cluster"}  # a test using one of these needs a running system

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `stack` every test that uses the running system, so it cannot be forgotten."""
    for item in items:
        if STACK_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.stack)


DATABASE_BACKENDS = ("sqlite", "postgresql")
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server (Debian's package, `make services`) for the whole session."""
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_admin(postgres: PostgresServer) -> Iterator[Engine]:
    engine = create_engine(postgres.url(), future=True, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture(params=DATABASE_BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database: an SQLite file, or on `postgres` a schema of its own
    that the URL puts first on the search path (a schema is made and dropped in milliseconds;
    a database per test would copy a template of several MB each time)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'meso.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    admin: Engine = request.getfixturevalue("postgres_admin")
    schema = f"test_{next(_database_numbers)}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    yield f"{server.url()}?options=-csearch_path%3D{schema}"
    with admin.connect() as connection:
        connection.execute(text("SET lock_timeout = '10s'"))  # a leaked transaction: an error
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """The clinic's notification endpoint that the shared stack's worker delivers to."""
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def whatsapp_graph() -> Iterator[FakeGraph]:
    """The fake WhatsApp Graph API that the shared stack's WhatsApp channel sends to."""
    from tests.channels.whatsapp_fakes import fake_graph_in_thread

    with fake_graph_in_thread() as graph:
        yield graph


@pytest.fixture(scope="session")
def rasa_stack(
    tmp_path_factory: pytest.TempPathFactory,
    webhook_receiver: WebhookReceiver,
    whatsapp_graph: FakeGraph,
) -> Iterator[Stack]:
    """The running system, started once: action server, Rasa (REST, socket.io and WhatsApp
    channels), web server and worker. A test that stops or kills a part restores it before it
    ends (`Stack.start_process`, `Stack.wait_ready`)."""
    from tests.channels import whatsapp_fakes as wa

    work = tmp_path_factory.mktemp("stack")
    env = {
        "MESO_CLINIC_CONFIG": str(clinic_with_webhook(work, webhook_receiver.url)),
        "WHATSAPP_VERIFY_TOKEN": wa.VERIFY_TOKEN,
        "WHATSAPP_APP_SECRET": wa.APP_SECRET,
        "WHATSAPP_ACCESS_TOKEN": wa.ACCESS_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": wa.PHONE_NUMBER_ID,
        "WHATSAPP_GRAPH_URL": whatsapp_graph.url,
    }
    with start_stack(work, extra_env=env, with_worker=True) as stack:
        yield stack


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (make test does this)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


REST_MESSAGE_KEYS = {"recipient_id", "text", "buttons", "custom", "image", "attachment"}


def rest_messages(
    stack: Stack,
    sender: str,
    message: str,
    timeout: float = 30,
    metadata: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """POST one message to the REST channel and return the bot's messages: one per bot response
    (bot/rasa/channels/rest.py), so one per `Reply`, each holding its text and its envelope.
    `metadata` goes with the message, as the widget's language switch sends it."""
    payload: dict[str, Any] = {"sender": sender, "message": message}
    if metadata is not None:
        payload["metadata"] = metadata
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        assert response.status == 200
        messages = json.load(response)
    for m in messages:
        assert m["recipient_id"] == sender and set(m) <= REST_MESSAGE_KEYS, m
    return messages


def envelopes(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `meso` envelopes of `messages`, in order."""
    return [m["custom"]["meso"] for m in messages if "meso" in (m.get("custom") or {})]
