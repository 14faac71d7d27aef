"""Crash safety: supervisord restarts a part that dies (a real SIGKILL of the real process, found
through supervisor) while the other parts keep serving; an emergency reported during an action
server outage still gets its instruction and its ticket.

The kills happen on the shared stack (tests/conftest.py): supervisor restarts the killed program
on its recorded port, each test waits until it answers again, and the `stack` fixture then waits
until every part answers before the next test runs."""

from __future__ import annotations

import os
import signal
import socket
import urllib.error
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select
from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from bot.observability.endpoints import LIVE_PATH
from bot.readiness import url_answers, wait_until
from bot.serve import API_TOKEN_ENV, STARTRETRIES, STARTSECS, Stack, StackSettings
from bot.storage import Database
from bot.storage.models import Ticket
from tests.conftest import envelopes, rest_messages

pytestmark = pytest.mark.e2e

T = TypeVar("T")

EMERGENCY = "my lips are swelling and I can't breathe"
FAQ = "how much does it cost"
ACTION_FAILED = "Failed to run custom action 'action_escalate'"  # Rasa's log line


def _wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    """The first truthy value of `predicate`, polled until `timeout` s; else AssertionError."""
    try:
        return wait_until(predicate, timeout, what, interval=0.25)
    except TimeoutError as error:
        raise AssertionError(str(error)) from None


def _sender() -> str:
    return f"crash-{uuid.uuid4().hex[:12]}"


_answers = url_answers


def _faq_answered(stack: Stack) -> bool:
    """True when the FAQ question gets its knowledge-base answer (needs Rasa and the actions)."""
    try:
        messages = rest_messages(stack, _sender(), FAQ, timeout=20)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False  # Rasa is down
    found = envelopes(messages)
    return [(e["kind"], e["topic"]) for e in found] == [("answer", "cost")] and bool(
        found[0]["sources"]
    )


def _kill(stack: Stack, name: str) -> int:
    """SIGKILL the process supervisor runs as `name`; its pid."""
    pid = stack.pid(name)
    assert pid, f"{name} is not running"
    os.kill(pid, signal.SIGKILL)
    return pid


def _restarted(stack: Stack, name: str, killed: int) -> int:
    """The pid of a new `name` process that supervisor started after `killed`, else 0."""
    pid = stack.pid(name)
    return pid if pid != killed else 0


def _pids(stack: Stack, names: list[str]) -> dict[str, int]:
    return {name: stack.pid(name) for name in names}


def _log(stack: Stack, name: str) -> str:
    return stack.log_path(name).read_text(errors="replace")


def _tickets(stack: Stack, conversation: str) -> list[Ticket]:
    with Database(stack.database_url).session() as session:
        rows = session.execute(select(Ticket).where(Ticket.conversation_id == conversation))
        return list(rows.scalars())


@pytest.fixture
def stack(rasa_stack: Stack) -> Iterator[Stack]:
    """The shared stack, every part answering again after the test (supervisor restarts what the
    test killed, on the same port)."""
    yield rasa_stack
    rasa_stack.wait_ready()


def test_emergency_during_an_action_server_outage_then_answers_after_its_restart(
    stack: Stack,
) -> None:
    others = _pids(stack, ["rasa", "web", "worker"])
    failed_calls = _log(stack, "rasa").count(ACTION_FAILED)
    killed = _kill(stack, "actions")
    _wait_for(lambda: not _answers(f"{stack.action_url}{LIVE_PATH}"), 10, "action server down")

    sender = _sender()
    messages = rest_messages(stack, sender, EMERGENCY)
    assert messages[0]["text"].startswith("Call emergency services now")  # domain response
    assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
    _wait_for(
        lambda: _log(stack, "rasa").count(ACTION_FAILED) > failed_calls,
        10,
        "Rasa logs that it could not reach the action server for this message",
    )
    [ticket] = _wait_for(lambda: _tickets(stack, sender), 30, "the worker records the ticket")
    assert ticket.severity == "emergency"
    assert ticket.trigger_text == EMERGENCY

    _wait_for(lambda: _restarted(stack, "actions", killed), 30, "supervisor restarts actions")
    _wait_for(lambda: _faq_answered(stack), 60, "a knowledge-base answer again")
    assert _pids(stack, list(others)) == others


def test_killed_rasa_is_restarted_and_answers_again_while_the_rest_keeps_serving(
    stack: Stack,
) -> None:
    others = _pids(stack, ["actions", "web", "worker"])
    before = _sender()  # a conversation that was shown the privacy notice before the kill
    assert [e for e in envelopes(rest_messages(stack, before, FAQ)) if e.get("notice")]
    killed = _kill(stack, "rasa")
    assert _answers(f"{stack.web_url}/")
    assert _answers(f"{stack.action_url}{LIVE_PATH}")
    _wait_for(lambda: _restarted(stack, "rasa", killed), 30, "supervisor restarts Rasa")
    _wait_for(lambda: _faq_answered(stack), 180, "Rasa answers again")
    assert _pids(stack, list(others)) == others
    # The new Rasa process knows from the stored tracker that the notice was shown.
    after = envelopes(rest_messages(stack, before, FAQ))
    assert after and not [e for e in after if e.get("notice")]


def test_config_restarts_every_program_with_backoff_and_keeps_the_token_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(API_TOKEN_ENV, "s3cret")
    stack = Stack(StackSettings(work_dir=tmp_path))
    stack.log_dir.mkdir()
    stack.write_supervisor_config()
    assert "s3cret" not in stack.config_path.read_text()
    options = ServerOptions()
    options.realize(args=["-c", str(stack.config_path)])  # supervisord's own parser
    programs = {p.name: p for g in options.process_group_configs for p in g.process_configs}
    assert set(programs) == {"actions", "rasa", "web", "worker"}
    for name, program in programs.items():
        assert program.autorestart is RestartUnconditionally
        assert (program.startsecs, program.startretries) == (STARTSECS, STARTRETRIES)
        assert program.stopasgroup and program.killasgroup
        assert program.stdout_logfile == str(stack.log_path(name))
        assert program.environment["MESO_VAR_DIR"] == str(tmp_path)
    assert programs["rasa"].command.endswith("--enable-api --auth-token s3cret")


def test_start_fails_at_once_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = StackSettings(
            work_dir=tmp_path, rasa_port=port, action_port=0, web_port=0, worker_port=0
        )
        with pytest.raises(RuntimeError, match=f"port {port} already in use"):
            Stack(settings).start()
    assert not (tmp_path / "supervisord.conf").exists()
