"""No log file of the running system holds a patient's words or phone number, even with Rasa,
the action server and their libraries logging at DEBUG (bot/observability/logs.py)."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.readiness import wait_until
from bot.serve import Stack
from tests.channels import whatsapp_fakes as wa
from tests.conftest import envelopes, rest_messages
from tests.stack import start_stack

# A stack of its own (not the shared `rasa_stack`), so marked `stack` here: `make unit` skips it.
pytestmark = [pytest.mark.e2e, pytest.mark.stack]

MARKER = "zebra-striped tattoo"  # in no data file: found in a log only if a message leaked
SYMPTOM = f"I've got a fever and the injection spots near my {MARKER} are oozing pus"
WHATSAPP_SYMPTOM = f"my cheek is swollen and hot around the {MARKER} since the injections"
CALLBACK = "+91 98765 43210"
NUMBER_FORMS = (wa.PHONE, wa.PHONE[2:], "98765 43210", "9876543210", "919876543210")


@pytest.fixture(scope="module")
def debug_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, wa.FakeGraph]]:
    """A stack of its own whose Rasa and action server log everything they can."""
    work = tmp_path_factory.mktemp("debug-stack")
    with wa.fake_graph_in_thread() as graph:
        env = {
            "LOG_LEVEL": "DEBUG",  # Rasa and the Rasa SDK
            "LOG_LEVEL_LIBRARIES": "DEBUG",  # Sanic (access log), socket.io, …
            "WHATSAPP_VERIFY_TOKEN": wa.VERIFY_TOKEN,
            "WHATSAPP_APP_SECRET": wa.APP_SECRET,
            "WHATSAPP_ACCESS_TOKEN": wa.ACCESS_TOKEN,
            "WHATSAPP_PHONE_NUMBER_ID": wa.PHONE_NUMBER_ID,
            "WHATSAPP_GRAPH_URL": graph.url,
        }
        with start_stack(work, extra_env=env, with_worker=True) as stack:
            yield stack, graph


def _logs(stack: Stack) -> dict[Path, str]:
    files = {p for p in stack.var_dir.rglob("*.log*") if p.is_file()}
    return {p: p.read_text(encoding="utf-8", errors="replace") for p in files}


def test_symptoms_and_numbers_stay_out_of_every_log(
    debug_stack: tuple[Stack, wa.FakeGraph],
) -> None:
    stack, graph = debug_stack
    sender = "patient-logs-1"
    report = envelopes(rest_messages(stack, sender, SYMPTOM))
    assert report[0]["kind"] == "escalation"
    assert "phone number" in rest_messages(stack, sender, "/request_callback")[0]["text"]
    assert "will call you" in rest_messages(stack, sender, CALLBACK)[0]["text"]

    body = wa.encode(
        wa.notification([wa.text_message(wa.PHONE, WHATSAPP_SYMPTOM)], phone_for_contacts=wa.PHONE)
    )
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=body, headers=wa.signed_headers(body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    wait_until(lambda: graph.sent, 60, "the WhatsApp reply", interval=0.2)

    logs = _logs(stack)
    assert {"rasa.log", "actions.log", "web.log", "worker.log"} <= {p.name for p in logs}
    # Rasa did log at DEBUG, and what would have held the conversation was withheld.
    assert "log record withheld" in logs[stack.log_path("rasa")]
    leaks = {
        f"{path.name}: {needle!r}": text[max(0, text.find(needle) - 200) :][:400]
        for path, text in logs.items()
        for needle in (MARKER, SYMPTOM, WHATSAPP_SYMPTOM, CALLBACK, *NUMBER_FORMS)
        if needle in text
    }
    assert leaks == {}
