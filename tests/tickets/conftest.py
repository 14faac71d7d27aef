"""Fixtures for escalation tests: a real database (SQLite and PostgreSQL: `database_url` in
tests/conftest.py), a spool, real receivers on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.storage.db import Database
from bot.tickets import records
from bot.tickets.spool import Spool

from .helpers import FakeClock, SmtpReceiver, WebhookReceiver


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return Spool(tmp_path / "spool")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _fresh_no_target_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(records, "_warned_no_targets", False)


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookReceiver]:
    """A receiver with a reserved port, NOT started: tests start it when it should be up."""
    receiver = WebhookReceiver()
    yield receiver
    await receiver.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    receiver = SmtpReceiver()
    yield receiver
    receiver.stop()
