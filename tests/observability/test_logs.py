"""Log redaction (bot/observability/logs.py), run in a process of its own as bot/launch.py
installs it, and the per-program metrics directory bot/launch.py prepares."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.launch import prepare_metrics_dir
from bot.observability.logs import REDACTED, redact
from bot.paths import PROJECT_ROOT

SYMPTOM = "my lower lip went numb and purple after the session"


def run_logging(code: str, **env: str) -> str:
    script = textwrap.dedent(
        """
        import logging, sys
        from bot.observability import logs
        logs.install()
        logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format="%(name)s %(message)s")
        """
    ) + textwrap.dedent(code)
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    environment.pop("MESO_LOG_CONVERSATIONS", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.parametrize(
    "number", ["919812345678", "+91 98123 45678", "+1-555-123-4567", "+447700900123"]
)
def test_phone_numbers_are_redacted(number: str) -> None:
    assert redact(f"callback to {number} please") == f"callback to {REDACTED} please"


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-29 18:42:32,123",
        "ticket 4f3a2b1c9d8e7f6a5b4c3d2e1f0a9b8c",
        "reports.1732900000123456789.abc.draining",
        "listening on port 5005, pid 12345",
    ],
)
def test_dates_ids_and_ports_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_rasa_debug_records_are_withheld_and_numbers_redacted_in_every_logger() -> None:
    out = run_logging(
        f"""
        logging.getLogger("rasa.core.processor").debug("Received user message '{SYMPTOM}'")
        logging.getLogger("rasa_sdk.executor").debug("tracker %s", {{"text": "{SYMPTOM}"}})
        logging.getLogger("sqlalchemy.engine.Engine").info("INSERT ... ('{SYMPTOM}',)")
        logging.getLogger("rasa.core.run").info("Rasa server is up and running.")
        logging.getLogger("some.library").warning("sending to %s failed", "+91 98123 45678")
        try:
            raise ValueError("bad number 919812345678")
        except ValueError:
            logging.getLogger("bot.x").exception("failed")
        """
    )
    assert SYMPTOM not in out
    assert "98123" not in out and "919812345678" not in out
    assert out.count("log record withheld") == 3
    assert "Rasa server is up and running." in out
    assert f"sending to {REDACTED} failed" in out
    assert "ValueError: bad number" in out  # the traceback stays, redacted


def test_a_developer_can_keep_the_conversation_logs() -> None:
    out = run_logging(
        f"""logging.getLogger("rasa.core.processor").debug("Received '{SYMPTOM}'")""",
        MESO_LOG_CONVERSATIONS="1",
    )
    assert SYMPTOM in out


def test_each_program_gets_its_own_emptied_metrics_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setattr("bot.paths.VAR_DIR", tmp_path)
    stale = tmp_path / "metrics" / "rasa" / "counter_123.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    assert prepare_metrics_dir("rasa") == stale.parent
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(stale.parent)
    assert not stale.exists()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "replica-2"))
    assert prepare_metrics_dir("rasa") == tmp_path / "replica-2"  # a profile's own choice wins
