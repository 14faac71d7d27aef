"""Answers in the patient's language, against the real system: the message's language, a
choice in words or by the widget's switch, Hinglish, and a language the assistant lacks."""

from __future__ import annotations

import uuid

import pytest

from bot.knowledge import read_snapshot
from bot.replies.texts import reply_texts
from bot.serve import Stack
from tests.conftest import envelopes, rest_messages


@pytest.fixture
def stack(rasa_stack: Stack) -> Stack:
    return rasa_stack


def _sender() -> str:
    return f"patient-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    ("question", "lang", "topic"),
    [
        ("क्या मेसोथेरेपी से बाल दोबारा उगते हैं?", "hi", "hair_growth"),
        ("هل الميزوثيرابي يرجع الشعر؟", "ar", "hair_growth"),
        ("does mesotherapy regrow hair", "en", "hair_growth"),
    ],
)
def test_an_efficacy_question_is_answered_in_its_language_with_its_note(
    stack: Stack, question: str, lang: str, topic: str
) -> None:
    [message] = rest_messages(stack, _sender(), question)
    envelope = message["custom"]["meso"]
    assert (envelope["kind"], envelope["topic"], envelope["lang"]) == ("answer", topic, lang)
    note = read_snapshot().topic(topic, lang).evidence_note.text
    assert envelope["disclaimer"] == note
    assert f"{reply_texts(lang).frame['evidence_note']} {note}" in message["text"]


def test_hinglish_is_answered_in_english_until_hindi_is_chosen(stack: Stack) -> None:
    sender = _sender()
    [first] = envelopes(rest_messages(stack, sender, "meso ka kitna kharcha hota hai"))
    assert (first["topic"], first["lang"]) == ("cost", "en")
    [chosen] = envelopes(rest_messages(stack, sender, "hindi mein batao please"))
    assert chosen["lang"] == "hi" and chosen["body"] == reply_texts("hi").language_chosen
    [after] = envelopes(rest_messages(stack, sender, "kitni sittings lagti hain"))
    assert (after["topic"], after["lang"]) == ("sessions", "hi")
    [greeting] = envelopes(rest_messages(stack, sender, "thank you"))
    assert greeting["lang"] == "hi"  # Rasa's own responses follow the choice too


def test_the_widget_switch_chooses_the_language(stack: Stack) -> None:
    sender = _sender()
    [answer] = envelopes(
        rest_messages(stack, sender, "how much does it cost", metadata={"lang": "ar"})
    )
    assert (answer["topic"], answer["lang"]) == ("cost", "ar")
    [later] = envelopes(rest_messages(stack, sender, "how many sessions do I need"))
    assert later["lang"] == "ar"  # the choice is kept for the conversation


def test_a_language_the_assistant_lacks_gets_the_list_of_its_languages(stack: Stack) -> None:
    [reply] = envelopes(rest_messages(stack, _sender(), "can you answer in french please"))
    assert "English, हिन्दी, العربية" in reply["body"]


def test_a_message_in_an_unsupported_language_gets_english_and_the_clinics_language(
    stack: Stack,
) -> None:
    [reply] = envelopes(
        rest_messages(stack, _sender(), "Combien coûte une séance de mésothérapie à Paris ?")
    )
    assert "English, हिन्दी, العربية" in reply["body"]
    assert "112" in reply["body"]


def test_an_emergency_in_arabic_after_choosing_english_still_gets_the_instruction(
    stack: Stack,
) -> None:
    sender = _sender()
    rest_messages(stack, sender, "english please")
    messages = rest_messages(stack, sender, "ما اقدر اتنفس وحلقي يتسكر")
    assert envelopes(messages)[0]["escalation"]["severity"] == "emergency"
    assert "112" in messages[0]["text"]
