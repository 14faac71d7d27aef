"""End to end over REST: each severity escalates, writes one ticket, and notifies the clinic;
an emergency still gets its instruction, and its ticket, when the action server is down."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from bot.paths import CLINIC_CONFIG
from bot.serve import Stack
from bot.storage import Database
from bot.storage.models import Notification, Ticket
from tests.conftest import envelopes, rest_messages
from tests.stack import start_stack

pytestmark = pytest.mark.e2e


class WebhookReceiver:
    """A clinic's notification endpoint on loopback, recording what it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(
                    {"key": self.headers.get("Idempotency-Key"), "body": json.loads(body)}
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tickets"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def idempotency_keys(self) -> list[str]:
        return [r["key"] for r in self.received]


def _clinic_with_webhook(tmp_path: Path, url: str) -> Path:
    data = yaml.safe_load(CLINIC_CONFIG.read_text())
    data["notifications"] = {"webhook_url": url, "max_attempts": 20, "backoff_seconds": 0.5}
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("triage-stack")
    env = {"MESO_CLINIC_CONFIG": str(_clinic_with_webhook(work, receiver.url))}
    with start_stack(work, extra_env=env, with_worker=True) as running:
        yield running


def _tickets(stack: Stack, conversation: str) -> list[Ticket]:
    db = Database(stack.database_url)
    with db.session() as session:
        rows = session.execute(
            select(Ticket).where(Ticket.conversation_id == conversation).order_by(Ticket.created_at)
        )
        return list(rows.scalars())


def _wait_for(predicate: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.3)
    return predicate()


@pytest.mark.parametrize(
    ("message", "severity", "symptom"),
    [
        ("my lips are swelling and I can't breathe", "emergency", None),
        ("I've got a fever and the injection spots are oozing pus", "urgent", None),
        ("there's a small bruise where the needle went in this morning", "routine", None),
    ],
    ids=["emergency", "urgent", "routine"],
)
def test_each_severity_escalates_writes_one_ticket_and_notifies(
    stack: Stack, receiver: WebhookReceiver, message: str, severity: str, symptom: str | None
) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    messages = rest_messages(stack, sender, message)
    first = envelopes(messages)[0]
    assert first["kind"] == "escalation"
    assert first["escalation"]["severity"] == severity
    if severity == "emergency":
        assert messages[0]["text"].startswith("Call emergency services now on 112")
        assert all(e["kind"] == "escalation" for e in envelopes(messages))
    [ticket] = _wait_for(lambda: _tickets(stack, sender))
    assert ticket.severity == severity
    assert ticket.symptoms
    assert ticket.trigger_text == message
    assert ticket.transcript[-1]["text"] == message
    assert ticket.status == "open"
    assert ticket.id in [e["escalation"]["ticket"] for e in envelopes(messages) if e["escalation"]]
    assert _wait_for(lambda: ticket.id in receiver.idempotency_keys()), "notification not delivered"
    assert receiver.idempotency_keys().count(ticket.id) == 1
    db = Database(stack.database_url)
    with db.session() as session:
        [row] = session.execute(select(Notification).where(Notification.ticket_id == ticket.id))
        assert row[0].delivered_at is not None


def test_symptom_with_a_question_escalates_first_then_answers(stack: Stack) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    question = "my face is swollen, when can I go back to work?"
    found = [(e["kind"], e["topic"]) for e in envelopes(rest_messages(stack, sender, question))]
    assert found == [("escalation", None), ("answer", "downtime")]


@pytest.mark.parametrize(
    "message",
    [
        "I have no swelling or bruising, how many sessions will I need?",
        "can mesotherapy cause swelling?",
        "what if I get a fever after the injections?",
    ],
)
def test_negated_hypothetical_and_risk_questions_do_not_escalate(
    stack: Stack, message: str
) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    assert all(e["kind"] != "escalation" for e in envelopes(rest_messages(stack, sender, message)))
    assert _tickets(stack, sender) == []


def test_repeated_reports_make_one_ticket_each_in_one_conversation(stack: Stack) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    rest_messages(stack, sender, "I have some bruising on my cheek")
    rest_messages(stack, sender, "now the redness is spreading and it feels hot")
    tickets = _wait_for(lambda: len(_tickets(stack, sender)) == 2 and _tickets(stack, sender))
    assert [t.severity for t in tickets] == ["routine", "urgent"]
    assert {t.conversation_id for t in tickets} == {sender}


def test_callback_number_is_validated_and_stored_with_the_ticket(stack: Stack) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    first = rest_messages(stack, sender, "my forehead is itchy and a little red")
    assert {"title": "Yes, call me back", "payload": "/request_callback"} in first[0]["buttons"]
    asked = rest_messages(stack, sender, "/request_callback")
    assert "phone number" in asked[0]["text"]
    refused = rest_messages(stack, sender, "12")
    assert "digits" in refused[0]["text"] or "number" in refused[0]["text"]
    saved = rest_messages(stack, sender, "+91 98765 43210")
    assert "will call you" in saved[0]["text"]
    assert "98765 43210" not in saved[0]["text"]
    [ticket] = _tickets(stack, sender)
    assert ticket.callback_number == "+919876543210"


def test_emergency_still_answered_and_ticketed_with_the_action_server_down(
    tmp_path_factory: pytest.TempPathFactory, receiver: WebhookReceiver
) -> None:
    work = tmp_path_factory.mktemp("outage-stack")
    env = {"MESO_CLINIC_CONFIG": str(_clinic_with_webhook(work, receiver.url))}
    with start_stack(work, extra_env=env, with_web=False, with_worker=True) as outage:
        outage.stop_process("actions")
        sender = f"patient-{uuid.uuid4().hex[:10]}"
        messages = rest_messages(outage, sender, "my throat is closing up and my tongue is swollen")
        assert messages[0]["text"].startswith("Call emergency services now")
        assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
        [ticket] = _wait_for(lambda: _tickets(outage, sender))
        assert ticket.severity == "emergency"
        assert _wait_for(lambda: ticket.id in receiver.idempotency_keys())
        log = (outage.log_dir / "rasa.log").read_text()
        assert "action_escalate" in log


@pytest.mark.parametrize(
    ("message", "opening"),
    [
        ("मेरे होंठ सूज गए हैं और साँस नहीं आ रही", "अभी तुरंत 112"),
        ("شفايفي منتفخة وما اقدر اتنفس", "اتصل بالإسعاف الآن على 112"),
        ("mere lips sooj gaye hai aur saans nahi aa rahi", "Call emergency services now on 112"),
        ("shfayfi mntf5a w ma agdar atnafas", "Call emergency services now on 112"),
    ],
    ids=["hindi", "arabic", "hinglish", "arabizi"],
)
def test_emergency_in_each_language_gets_the_instruction_in_its_reply_language(
    stack: Stack, message: str, opening: str
) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    messages = rest_messages(stack, sender, message)
    assert messages[0]["text"].startswith(opening)
    assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
    [ticket] = _wait_for(lambda: _tickets(stack, sender))
    assert ticket.severity == "emergency"
    assert ticket.trigger_text == message


def test_report_told_across_two_messages_is_judged_with_its_context(stack: Stack) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    rest_messages(stack, sender, "my wife is here with me, she had meso on her face an hour ago")
    messages = rest_messages(stack, sender, "she can't breathe properly")
    assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
    tickets = _wait_for(
        lambda: [t for t in _tickets(stack, sender) if t.trigger_text.startswith("she can't")]
    )
    assert [t.severity for t in tickets] == ["emergency"]


def test_resolved_symptom_with_a_question_is_not_a_report(stack: Stack) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    rest_messages(stack, sender, "how long does bruising last after meso?")
    messages = rest_messages(stack, sender, "it's completely gone now, when can I book?")
    assert all(e["kind"] != "escalation" for e in envelopes(messages))
    assert _tickets(stack, sender) == []


@pytest.mark.parametrize("message", ["help", "please help urgent", "🆘", "ساعدوني", "बचाओ"])
def test_cry_for_help_gets_the_emergency_number_and_a_question(stack: Stack, message: str) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    reply, *_ = rest_messages(stack, sender, message)
    assert "112" in reply["text"]
    assert [b["payload"] for b in reply["buttons"]] == ["/report_unwell", "/deny"]
    asked = rest_messages(stack, sender, "/report_unwell")
    assert "112" in asked[0]["text"]
    assert _tickets(stack, sender) == []


def test_unsupported_language_gets_the_emergency_line_in_english_and_the_clinics_language(
    stack: Stack,
) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    messages = rest_messages(stack, sender, "Combien coûte une séance de mésothérapie ?")
    text = "\n".join(m.get("text", "") for m in messages)
    assert "If this is an emergency, call 112 now." in text
    assert "अगर यह आपातकाल है, तो अभी 112 पर फ़ोन करें।" in text
    assert _tickets(stack, sender) == []


def test_same_report_five_times_makes_five_tickets_in_one_conversation(stack: Stack) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    for _ in range(5):
        messages = rest_messages(stack, sender, "I have a fever and chills after the meso")
        assert envelopes(messages)[0]["escalation"]["severity"] == "urgent"
    tickets = _wait_for(lambda: len(_tickets(stack, sender)) == 5 and _tickets(stack, sender))
    assert tickets and {t.conversation_id for t in tickets} == {sender}


def test_long_story_with_the_symptom_in_the_middle_is_escalated(stack: Stack) -> None:
    sender = f"patient-{uuid.uuid4().hex[:10]}"
    filler = "We drove to the clinic in the morning and parked near the market. " * 38
    story = f"{filler}Now my lips are swelling up fast. {filler}"[:5000]
    assert len(story) == 5000 and "lips are swelling" in story
    messages = rest_messages(stack, sender, story)
    assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
    [ticket] = _wait_for(lambda: _tickets(stack, sender))
    assert ticket.severity == "emergency"
