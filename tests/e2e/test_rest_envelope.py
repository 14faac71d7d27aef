"""Every topic answers over REST with its envelope, one message per reply; bad input gets a clear
reply and the conversation goes on."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from bot.knowledge import read_knowledge_files
from bot.serve import Stack
from tests.conftest import envelopes, rest_messages

pytestmark = pytest.mark.e2e

FILES = read_knowledge_files()
ENVELOPE_KEYS = {"kind", "topic", "efficacy", "disclaimer", "sources", "escalation"}


def _sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


def _written_out(envelope: dict[str, Any]) -> str:
    """The text a reply's message carries: body, evidence note and sources, for text clients,
    and the privacy notice when this is the reply that carries it (a new conversation's first)."""
    parts = [envelope["body"]]
    if envelope["disclaimer"]:
        parts.append(f"Evidence note: {envelope['disclaimer']}")
    if envelope["citations"]:
        cited = "; ".join(f"{c['title']} ({c['file']})" for c in envelope["citations"])
        parts.append(f"Sources: {cited}")
    if envelope.get("notice"):
        notice = envelope["notice"]
        parts.append(f"{notice['text']}\n{notice['link_label']}: {notice['policy_url']}")
    return "\n\n".join(parts)


def test_a_faq_answer_is_one_message_with_text_sources_and_envelope(rasa_stack: Stack) -> None:
    [message] = rest_messages(rasa_stack, _sender(), "/ask_hair_growth")
    envelope = message["custom"]["meso"]
    assert (envelope["kind"], envelope["topic"]) == ("answer", "hair_growth")
    assert envelope["disclaimer"] and envelope["citations"]
    assert "\n\n" in message["text"]  # not cut at blank lines into several messages
    assert message["text"] == _written_out(envelope)
    for citation in envelope["citations"]:
        assert f"{citation['title']} ({citation['file']})" in message["text"]
    assert message.get("buttons", []) == envelope["buttons"]
    assert "knowledge_version" in envelope and envelope["lang"] == "en"


def test_a_symptom_with_a_question_is_two_messages(rasa_stack: Stack) -> None:
    question = "my face is swollen, when can I go back to work?"
    messages = rest_messages(rasa_stack, _sender(), question)
    assert len(messages) == 2
    escalation, answer = (m["custom"]["meso"] for m in messages)
    assert escalation["kind"] == "escalation"
    assert escalation["escalation"]["severity"] in {"urgent", "routine"}
    assert (answer["kind"], answer["topic"]) == ("answer", "downtime")
    reference = escalation["escalation"]["reference"]
    assert reference and reference in messages[0]["text"]
    assert messages[0]["buttons"] == escalation["buttons"] != []  # the callback offer
    assert messages[1]["text"] == _written_out(answer)


def test_an_emergency_is_the_domain_instruction_then_the_reference(rasa_stack: Stack) -> None:
    messages = rest_messages(rasa_stack, _sender(), "my lips are swelling and I can't breathe")
    assert len(messages) == 3  # and the privacy notice last, on its own (test_privacy_notice.py)
    instruction, reference, notice = (m["custom"]["meso"] for m in messages)
    assert notice["kind"] == "notice" and "notice" not in instruction
    # utter_emergency, sent by a rule without the action server: text and envelope together
    assert messages[0]["text"].startswith("Call emergency services now on 112")
    assert messages[0]["text"] == instruction["body"]
    assert instruction["escalation"]["severity"] == "emergency"
    assert instruction["escalation"]["emergency_number"] == "112"
    assert instruction["escalation"]["ticket"] is None
    # then action_escalate: the ticket's short reference
    assert reference["escalation"]["severity"] == "emergency"
    assert re.fullmatch(r"[0-9A-F]{8}", reference["escalation"]["reference"])
    assert reference["escalation"]["reference"] in messages[1]["text"]


@pytest.mark.parametrize("topic_id", sorted(FILES.topics))
def test_every_topic_answers_with_sources_and_its_note(rasa_stack: Stack, topic_id: str) -> None:
    topic = FILES.topics[topic_id]
    messages = rest_messages(rasa_stack, _sender(), f"/ask_{topic_id}")
    [message] = messages  # one reply, one message
    [envelope] = envelopes(messages)
    assert envelope.keys() >= ENVELOPE_KEYS
    assert envelope["kind"] == "answer"
    assert envelope["topic"] == topic_id
    assert envelope["sources"] == topic["sources"]
    assert envelope["escalation"] is None
    text = messages[0]["text"]
    if topic["efficacy"] or topic.get("evidence_note"):
        assert envelope["efficacy"] is True
        assert envelope["disclaimer"] == FILES.notes[topic["evidence_note"]]
        assert f"Evidence note: {envelope['disclaimer']}" in text
    else:
        assert envelope["disclaimer"] is None
    for source_id in topic["sources"]:
        assert FILES.sources[source_id]["file"] in text


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("how much does mesotherapy cost", "cost"),
        ("will it help my hair grow back", "hair_growth"),
        ("how many sessions will i need", "sessions"),
        ("what are the side effects", "side_effects"),
    ],
)
def test_natural_questions_reach_their_topic(rasa_stack: Stack, question: str, topic: str) -> None:
    [envelope] = envelopes(rest_messages(rasa_stack, _sender(), question))
    assert (envelope["kind"], envelope["topic"]) == ("answer", topic)


def test_cost_answer_shows_clinic_prices_and_labelled_source_ranges(rasa_stack: Stack) -> None:
    messages = rest_messages(rasa_stack, _sender(), "/ask_cost")
    assert "Demo Skin Clinic's own prices" in messages[0]["text"]
    assert "15,000" in messages[0]["text"]


def test_disputed_points_say_sources_differ(rasa_stack: Stack) -> None:
    for topic in ("sessions", "results", "downtime"):
        text = rest_messages(rasa_stack, _sender(), f"/ask_{topic}")[0]["text"]
        assert "Sources differ" in text, topic


@pytest.mark.parametrize(
    "question",
    [
        "how many mg of vitamin C tablets should I take every day",
        "what's the weather in Dubai tomorrow",
        "is my mole cancer",
    ],
)
def test_out_of_scope_gets_a_polite_refusal(rasa_stack: Stack, question: str) -> None:
    [envelope] = envelopes(rest_messages(rasa_stack, _sender(), question))
    assert envelope["kind"] in {"out_of_scope", "clarify"}
    assert envelope["topic"] is None


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   \n\t ",
        "x" * 100_000,
        "😀🎉👍",
        "\x00\x01\x02\x03\x04\x05\ufffd\ufffd",
        "<script>alert(1)</script><img src=x onerror=alert(1)>",
        "¿Cuánto cuesta la mesoterapia para la cara?",
        "मेसोथेरेपी की कीमत क्या है",
    ],
    ids=["empty", "whitespace", "100k", "emoji", "binary", "html", "spanish", "hindi"],
)
def test_bad_input_gets_a_clear_reply_and_the_conversation_goes_on(
    rasa_stack: Stack, message: str
) -> None:
    sender = _sender()
    messages = rest_messages(rasa_stack, sender, message, timeout=120)
    [envelope] = envelopes(messages)
    assert envelope["kind"] in {"clarify", "out_of_scope", "answer"}
    assert messages[0]["text"].strip()
    [after] = envelopes(rest_messages(rasa_stack, sender, "/ask_cost"))
    assert after["topic"] == "cost"


def test_low_confidence_offers_did_you_mean_buttons(rasa_stack: Stack) -> None:
    messages = rest_messages(rasa_stack, _sender(), "meso hair skin price")
    kinds = [e["kind"] for e in envelopes(messages)]
    if kinds == ["clarify"]:
        assert 1 <= len(messages[0]["buttons"]) <= 3
        assert all(b["payload"].startswith("/ask_") for b in messages[0]["buttons"])
    else:
        assert kinds == ["answer"]


def test_chitchat_carries_an_envelope(rasa_stack: Stack) -> None:
    for text in ("hello", "thank you", "are you a bot?"):
        [envelope] = envelopes(rest_messages(rasa_stack, _sender(), text))
        assert envelope["kind"] == "chitchat"
