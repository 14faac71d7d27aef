"""A message judged together with the last turns of its conversation (rules alone)."""

from __future__ import annotations

import pytest

from bot.triage.detect import triage_rules


@pytest.mark.parametrize(
    ("history", "text", "severity"),
    [
        (["had meso on my lips yesterday"], "now my lips are swelling", "emergency"),
        (["my wife is with me, she had meso an hour ago"], "she can't breathe", "emergency"),
        (["my cheek is a bit red after meso"], "now it is hot and spreading", "urgent"),
        (["had meso 3 weeks ago"], "and now there are painful lumps", "urgent"),
        (["my face was swollen yesterday"], "it's completely gone now, when can I book?", None),
        (["my lips are swelling"], "thanks", None),
        (["how much does it cost?"], "ok and how many sessions?", None),
    ],
)
def test_context(history: list[str], text: str, severity: str | None) -> None:
    assert triage_rules(text, history=history).severity == severity


def test_history_never_escalates_on_its_own_and_offsets_refer_to_the_message() -> None:
    result = triage_rules("my lips are swelling", history=["my cheek is red"])
    assert [m.concept for m in result.mentions] == ["lip_swelling"]
    assert result.mentions[0].start == 3
