"""The running system does not load TensorFlow (our model has no TensorFlow component) and still
answers; a model with DIETClassifier is served with TensorFlow, started the same way
(bot/rasa/without_tensorflow.py).

Whether a process has TensorFlow is read from /proc/PID/maps: importing it maps TensorFlow's
shared libraries (`_pywrap_tensorflow_internal.so`, `libtensorflow_framework.so.2`) from the
tensorflow package directory, and nothing else maps files from there."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from bot.observability.endpoints import READY_PATH
from bot.paths import PROJECT_ROOT
from bot.readiness import endpoint_ready, listening_ports, wait_until
from bot.serve import Stack
from tests.conftest import envelopes, rest_messages

pytestmark = pytest.mark.e2e

TENSORFLOW_SPEC = importlib.util.find_spec("tensorflow")  # found, not imported
assert TENSORFLOW_SPEC is not None and TENSORFLOW_SPEC.submodule_search_locations
TENSORFLOW_DIR = TENSORFLOW_SPEC.submodule_search_locations[0] + "/"


def tensorflow_mapped(pid: int) -> bool:
    """True when process `pid` has TensorFlow's shared libraries mapped (it imported it)."""
    return TENSORFLOW_DIR in Path(f"/proc/{pid}/maps").read_text()


def test_no_program_of_the_stack_loads_tensorflow_and_rasa_still_answers(
    rasa_stack: Stack,
) -> None:
    [message] = rest_messages(rasa_stack, f"test-{uuid.uuid4().hex[:12]}", "/ask_hair_growth")
    assert envelopes([message])[0]["topic"] == "hair_growth"
    [answer] = envelopes(
        rest_messages(rasa_stack, f"test-{uuid.uuid4().hex[:12]}", "does it hurt?")
    )
    assert answer["kind"] == "answer" and answer["topic"]  # parsed by the NLU graph
    programs = rasa_stack.processes
    assert {"rasa", "actions"} <= programs.keys()
    for name, state in programs.items():
        assert state.pid, name
        assert not tensorflow_mapped(state.pid), f"{name} loaded TensorFlow"
    log = rasa_stack.log_path("rasa").read_text()
    assert "serving without TensorFlow: model current.tar.gz has no TensorFlow component" in log
    assert "TensorFlow imported after all" not in log


TINY_CONFIG = {
    "recipe": "default.v1",
    "language": "en",
    "assistant_id": "tiny-diet",
    "pipeline": [
        {"name": "WhitespaceTokenizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "DIETClassifier", "epochs": 1},
    ],
    "policies": [],
}
TINY_NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
- intent: bye
  examples: |
    - goodbye
    - see you later
"""


def test_a_model_with_diet_is_served_with_tensorflow(tmp_path: Path) -> None:
    """A tiny NLU model with DIETClassifier (one epoch, ~30 s), served as `Stack` starts Rasa
    (bot/launch.py on port 0, then bot.rasa.cli run)."""
    (tmp_path / "config.yml").write_text(yaml.safe_dump(TINY_CONFIG))
    (tmp_path / "nlu.yml").write_text(TINY_NLU)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "MESO_VAR_DIR": str(tmp_path / "var")}
    subprocess.run(
        [sys.executable, "-m", "bot.rasa.cli", "train", "nlu", "--config", "config.yml",
         "--nlu", "nlu.yml", "--out", "models", "--fixed-model-name", "diet"],
        cwd=tmp_path, env=env, check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    log = tmp_path / "rasa.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot.launch", str(tmp_path / "ports"), "rasa", "--sanic", "--",
             "bot.rasa.cli", "run", "--model", "models/diet.tar.gz", "--port", "{port:rasa}",
             "--enable-api"],
            cwd=tmp_path, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        port = wait_until(lambda: min(listening_ports(server.pid), default=0), 60, "listening")
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: endpoint_ready(url + READY_PATH), 300, "the DIET model loaded")
        request = urllib.request.Request(
            f"{url}/model/parse",
            data=json.dumps({"text": "hello"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            parsed = json.load(response)
        assert parsed["intent"]["name"] in {"greet", "bye"}
        assert tensorflow_mapped(server.pid)
        assert "TensorFlow kept: model diet.tar.gz has a TensorFlow component" in log.read_text()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)
