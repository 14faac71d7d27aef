"""Every topic answers over REST with its envelope; bad input gets a clear reply and the
conversation goes on."""

from __future__ import annotations

import uuid

import pytest

from bot.knowledge import read_knowledge_files
from bot.serve import Stack
from tests.conftest import envelopes, rest_messages

pytestmark = pytest.mark.e2e

FILES = read_knowledge_files()
ENVELOPE_KEYS = {"kind", "topic", "efficacy", "disclaimer", "sources", "escalation"}


def _sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.mark.parametrize("topic_id", sorted(FILES.topics))
def test_every_topic_answers_with_sources_and_its_note(rasa_stack: Stack, topic_id: str) -> None:
    topic = FILES.topics[topic_id]
    messages = rest_messages(rasa_stack, _sender(), f"/ask_{topic_id}")
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
