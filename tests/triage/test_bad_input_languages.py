"""Bad input of the kinds patients send, in every supported language: each gets a decision."""

from __future__ import annotations

import pytest

from bot.triage.detect import triage


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        # mixed scripts in one message
        ("मेरे lips सूज गए हैं और saans नहीं आ रही", "emergency"),
        ("شفايفي swelling وما اقدر اتنفس", "emergency"),
        # voice-to-text without punctuation
        (
            "i had meso this morning and now my lips are swelling and i cant breathe properly help",
            "emergency",
        ),
        ("mujhe kal se bukhar hai aur injection wali jagah se pus nikal raha hai", "urgent"),
        # letters repeated for emphasis
        ("I CANT BREATHEEEE", "emergency"),
        ("ما اقدر اتنفففس", "emergency"),
        # ordinary questions stay ordinary
        ("how much does one session cost", None),
        ("ek session ka kitna kharcha hoga", None),
        ("एक सेशन की कीमत कितनी है?", None),
        ("كم سعر الجلسة الواحدة؟", None),
        ("kam si3r el jalsa?", None),
    ],
)
def test_decision(text: str, severity: str | None) -> None:
    assert triage(text).severity == severity


def test_emoji_only_distress_is_a_cry_for_help() -> None:
    result = triage("🆘🆘😭")
    assert result.severity is None and result.help_request


def test_five_thousand_characters_with_the_symptom_in_the_middle() -> None:
    filler = "We drove to the clinic in the morning and parked near the market. " * 38
    story = f"{filler}Now my lips are swelling up fast. {filler}"[:5000]
    result = triage(story)
    assert result.severity == "emergency"
    assert any(story[m.start : m.end] == m.text for m in result.mentions)


@pytest.mark.parametrize("text", ["Mi cara está muy hinchada y no puedo respirar", "Привет"])
def test_unsupported_language_still_gets_a_decision_and_its_language(text: str) -> None:
    result = triage(text)
    assert result.language not in {"en", "hinglish", "hi", "ar", "arabizi"}
    assert result.reply_language == "en"
