"""Recording: the reply kind of each bot message, the turn of each patient message, triage
escalations, and the multiprocess mode that sums several Sanic workers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from bot.clinic import clinic_config
from bot.knowledge import read_snapshot
from bot.knowledge.answers import compose_topic_answer
from bot.observability.metrics import (
    CHANNELS,
    REPLY_KINDS,
    channel_label,
    exported_series,
    note_reply,
    note_triage,
    observe_turn,
    reply_kind,
)
from bot.paths import PROJECT_ROOT
from bot.rasa.responses import generated_responses
from bot.replies.reply import Escalation, Reply
from bot.triage.escalation import EMERGENCY_INSTRUCTION_RESPONSE


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_reply_the_assistant_sends_has_its_kind() -> None:
    kb, clinic = read_snapshot(), clinic_config()
    with_note = compose_topic_answer(kb, "hair_growth", clinic, "en").rasa_message()
    plain = compose_topic_answer(kb, "cost", clinic, "en").rasa_message()
    assert with_note["custom"]["meso"]["disclaimer"] and not plain["custom"]["meso"]["disclaimer"]
    assert reply_kind(with_note) == "answer_with_note"
    assert reply_kind(plain) == "answer"
    for severity in ("emergency", "urgent", "routine"):
        escalation = Escalation(severity, "t1", "112", "+91 80 4000 1234")  # type: ignore[arg-type]
        reply = Reply(kind="escalation", body="call", escalation=escalation)
        assert reply_kind(reply.rasa_message()) == f"escalation_{severity}"
    for kind in ("clarify", "out_of_scope", "chitchat"):
        assert reply_kind(Reply(kind=kind, body="x").rasa_message()) == kind  # type: ignore[arg-type]
    # Rasa's own response for an emergency, as Rasa sends it (utter_action in the message)
    [instruction, *_] = generated_responses()[EMERGENCY_INSTRUCTION_RESPONSE]
    sent = {**instruction, "utter_action": EMERGENCY_INSTRUCTION_RESPONSE}
    assert reply_kind(sent) == "emergency_instruction"
    assert reply_kind({"text": "Hi! How can I help?", "utter_action": "utter_greet"}) == "other"


def test_channel_label_is_bounded_and_tells_the_kiosk_apart() -> None:
    assert channel_label("socketio", {"surface": "kiosk"}) == "kiosk"
    assert channel_label("socketio", {"surface": "widget"}) == "socketio"
    assert channel_label("rest", None) == "rest"
    assert channel_label("+919812345678", {"surface": "kiosk"}) == "other"
    assert set(CHANNELS) >= {"rest", "socketio", "kiosk", "whatsapp"}


def test_a_turn_counts_once_under_its_most_telling_reply_and_is_timed() -> None:
    escalation = Reply(
        kind="escalation", body="b", escalation=Escalation("urgent", "t", "112", "1")
    ).rasa_message()
    answer = compose_topic_answer(read_snapshot(), "cost", clinic_config(), "en").rasa_message()
    labels = {"channel": "whatsapp", "reply": "escalation_urgent"}
    before = sample("meso_messages_total", **labels)
    count = sample("meso_message_seconds_count", channel="whatsapp")
    replies = sample("meso_replies_total", channel="whatsapp", kind="answer")
    with observe_turn("whatsapp"):
        note_reply(answer)
        note_reply(escalation)
    assert (
        sample("meso_messages_total", channel="whatsapp", reply="escalation_urgent") == before + 1
    )
    assert sample("meso_message_seconds_count", channel="whatsapp") == count + 1
    assert sample("meso_replies_total", channel="whatsapp", kind="answer") == replies + 1


def test_a_turn_that_fails_counts_as_error_and_one_without_reply_as_none() -> None:
    errors = sample("meso_messages_total", channel="rest", reply="error")
    with pytest.raises(RuntimeError), observe_turn("rest"):
        raise RuntimeError("boom")
    assert sample("meso_messages_total", channel="rest", reply="error") == errors + 1
    silent = sample("meso_messages_total", channel="kiosk", reply="none")
    with observe_turn("kiosk"):
        pass
    assert sample("meso_messages_total", channel="kiosk", reply="none") == silent + 1


def test_a_reply_outside_any_turn_counts_under_other() -> None:
    before = sample("meso_replies_total", channel="other", kind="chitchat")
    note_reply(Reply(kind="chitchat", body="hello").rasa_message())
    assert sample("meso_replies_total", channel="other", kind="chitchat") == before + 1


def test_escalations_are_counted_by_the_severity_triage_gave() -> None:
    before = sample("meso_escalations_total", severity="routine")
    assert note_triage({"triage": {"severity": "routine"}}) == "routine"
    assert note_triage({"triage": {"severity": None}}) is None
    assert note_triage({"intent": {"name": "ask_cost"}}) is None
    assert note_triage({"triage": {"severity": "my lips are swelling"}}) is None  # not a label
    assert sample("meso_escalations_total", severity="routine") == before + 1


def test_reply_kinds_and_series_names_are_prefixed_and_known() -> None:
    assert "none" in REPLY_KINDS and "error" in REPLY_KINDS
    names = exported_series()
    assert all(name.startswith("meso_") for name in names)
    assert {"meso_messages_total", "meso_message_seconds_bucket", "meso_spool_depth"} <= names


def test_several_worker_processes_are_summed_in_multiprocess_mode(tmp_path: Path) -> None:
    """What Rasa and the action server do with several Sanic workers: each forked worker writes
    its own values; one scrape, from any worker, sums them."""
    script = textwrap.dedent(
        """
        import os
        from bot.observability.metrics import ESCALATIONS, scrape_registry
        from prometheus_client import generate_latest
        pids = []
        for _ in range(3):
            pid = os.fork()
            if pid == 0:
                ESCALATIONS.labels("urgent").inc()
                os._exit(0)
            pids.append(pid)
        for pid in pids:
            os.waitpid(pid, 0)
        print(generate_latest(scrape_registry()).decode())
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "PYTHONPATH": str(PROJECT_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert 'meso_escalations_total{severity="urgent"} 3.0' in out
