"""After a hand-off below emergency level, the question that came with the symptom is answered:
bot.replies.standard.question_topic, with the question signals of data/languages.yml."""

from __future__ import annotations

import pytest

from bot.replies.standard import question_topic, reads_as_question, topic_after_handoff

RANKING = [
    {"name": "report_symptom", "confidence": 0.6},
    {"name": "ask_downtime", "confidence": 0.35},
]


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("my face is swollen, how long does it last", True),
        ("my face is swollen. will it go by Friday", True),
        ("الكدمة تحت عيني، تطول كم يوم؟", True),  # the Arabic question mark
        ("الكدمة تحت عيني تطول كم يوم", True),  # an Arabic question word
        ("meso ke baad sujan hai kitne din rahegi", True),  # Hinglish, the word mid-sentence
        ("चेहरे पर सूजन है, कितने दिन रहेगी", True),
        ("my lips are swelling", False),
        ("gaal pe neela pad gaya", False),
        ("وجهي منتفخ", False),
    ],
)
def test_reads_as_question(text: str, question: bool) -> None:
    assert reads_as_question(text) is question


def test_question_topic_is_the_first_topic_intent_of_the_ranking() -> None:
    assert question_topic("الكدمة تحت عيني، تطول كم يوم؟", RANKING) == "downtime"
    assert question_topic("my lips are swelling", RANKING) is None
    assert (
        question_topic("how long will it last?", [{"name": "ask_downtime", "confidence": 0.2}])
        is None
    )


def test_an_emergency_hand_off_answers_no_question() -> None:
    text = "my lips are swelling, how long does swelling last?"
    assert topic_after_handoff("emergency", text, RANKING) is None
    assert topic_after_handoff("routine", text, RANKING) == "downtime"
