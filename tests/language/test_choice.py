"""The reply language: a choice in words or by switch, else the message's own language."""

from __future__ import annotations

import pytest

from bot.language.choice import LanguageRequest, language_request, reply_language
from bot.language.identify import identify


@pytest.mark.parametrize(
    ("text", "lang", "only"),
    [
        ("in hindi please", "hi", True),
        ("Hindi mein batao", "hi", True),
        ("हिंदी में बताइए", "hi", True),
        ("بالعربي لو سمحت", "ar", True),
        ("Arabic", "ar", True),
        ("can you answer in english", "en", True),
        ("how much does it cost, in hindi please", "hi", False),
        ("kitna kharcha hoga meso ka hindi mein batao", "hi", False),
    ],
)
def test_a_language_named_as_a_choice_is_a_request(text: str, lang: str, only: bool) -> None:
    assert language_request(text) == LanguageRequest(lang, None, only)


@pytest.mark.parametrize(
    "text",
    ["french please", "can you reply in urdu", "can you answer in french please", "اردو", "Urdu?"],
)
def test_a_language_the_assistant_lacks_is_named(text: str) -> None:
    request = language_request(text)
    assert request is not None and request.lang is None and request.unavailable
    assert request.only_request


@pytest.mark.parametrize(
    "text",
    [
        "how much does meso cost",
        "मेसो की कीमत क्या है",
        "كم سعر الميزو",
        "is it safe",
        "",
        # Devanagari vowel signs once split words into fragments that matched language names
        "मेसोथेरेपी के इंजेक्शन में क्या क्या डालते हैं",
        "आँखों के किनारे और माथे पे फाइन लाइंस हैं इससे कम होंगी",
        # a language the assistant lacks, named as a nationality
        "is meso french?",
        "الميزو فرنسي؟",
    ],
)
def test_ordinary_messages_request_nothing(text: str) -> None:
    assert language_request(text) is None


def _reply(text: str, **kwargs: object) -> str:
    return reply_language(identify(text), len(text.split()), **kwargs)  # type: ignore[arg-type]


def test_the_message_language_decides_without_a_choice() -> None:
    assert _reply("how much does mesotherapy cost in dubai") == "en"
    assert _reply("मेसोथेरेपी की कीमत क्या है") == "hi"
    assert _reply("كم سعر الميزوثيرابي في دبي") == "ar"


def test_hinglish_and_arabizi_get_english_unless_chosen() -> None:
    assert _reply("meso ka kitna kharcha hota hai bhai") == "en"
    assert _reply("meso ka kitna kharcha hota hai bhai", chosen="hi") == "hi"
    assert _reply("kam si3r el meso 3indkom ya akhi") == "en"


def test_a_choice_wins_over_the_message_language() -> None:
    assert _reply("how many sessions will I need", chosen="ar") == "ar"
    request = language_request("how many sessions, in hindi please")
    assert _reply("how many sessions, in hindi please", request=request, chosen="ar") == "hi"


def test_a_short_message_keeps_the_conversations_language() -> None:
    assert _reply("ok thanks", previous="ar") == "ar"
    assert _reply("ok", page_default="hi") == "hi"
    assert _reply("ok") == "en"


def test_an_unknown_choice_is_ignored() -> None:
    assert _reply("how much is it", chosen="fr") == "en"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("هَلْ الميزوثيرابي آمِنٌ؟", "ar"),  # diacritics
        ("كـــم سعــر الميـــزو", "ar"),  # tatweel
        ("मेसो की कीमत क्या है, and how many sessions?", "hi"),  # switches halfway
        ("how much is meso, मेसो की कीमत क्या है बताइए", "hi"),
        ("meso ka price kya hai bhai aur kitne sessions", "en"),  # Hinglish
    ],
)
def test_awkward_messages_get_a_sensible_reply_language(text: str, expected: str) -> None:
    assert _reply(text) == expected
