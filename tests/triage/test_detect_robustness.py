"""Odd input never breaks triage, and long input is read in pieces of bounded size."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from spacy.language import Language
from spacy.tokens import Doc

from bot.triage.detect import triage_rules as triage
from bot.triage.detect.pipeline import PASSAGE_CHARS, grade_rules, passages, pipeline

MESSAGES = Path(__file__).resolve().parents[1] / "triage_eval" / "messages.yml"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        None,
        "😀😀😀 🙏",
        "\x00\x01\x02\x7f",
        b"\xff\xfe\x00binary",
        "\ud800 lone surrogate",
        "<script>alert(1)</script><b>bold</b>",
        "a" * 10_000,
        "no " * 5_000,
        "?!.,;" * 1000,
        12345,
    ],
)
def test_odd_input_gives_a_result(text: object) -> None:
    result = triage(text)
    assert result.severity is None
    assert result.as_dict()["mentions"] == []


def test_symptom_inside_html_emoji_or_junk_is_still_found() -> None:
    assert triage("<p>my lips are swelling</p>").severity == "emergency"
    assert triage("my lips are swelling 😭😭").severity == "emergency"
    assert triage(b"\xff my lips are swelling").severity == "emergency"


def test_mention_offsets_point_into_the_text() -> None:
    text = "Hello. I can't breathe!"
    [mention] = triage(text).mentions
    assert text[mention.start : mention.end] == mention.text == "can't breathe"


def test_long_text_is_graded_in_passages_with_true_offsets() -> None:
    filler = "I would like to know more about the prices and the sessions please. " * 40
    text = filler + "Also my lips are swelling."
    assert len(passages(text)) > 1
    result = triage(text)
    assert result.severity == "emergency"
    [mention] = result.mentions
    assert text[mention.start : mention.end] == "lips are swelling"


def test_passages_cover_the_text_exactly() -> None:
    text = "word " * 700 + "end. " * 100
    pieces = passages(text, 300)
    assert "".join(p for _, p in pieces) == text
    assert all(text[offset : offset + len(p)] == p for offset, p in pieces)


class _RecordingPipeline:
    """The real pipeline, recording the length of every text it is called on."""

    def __init__(self, nlp: Language) -> None:
        self.nlp = nlp
        self.lengths: list[int] = []

    def __call__(self, text: str) -> Doc:
        self.lengths.append(len(text))
        return self.nlp(text)

    def get_pipe(self, name: str) -> object:
        return self.nlp.get_pipe(name)


@pytest.mark.parametrize("history", [(), ("I had meso on my cheek yesterday",)])
def test_a_long_message_is_read_in_passages_of_bounded_size(history: tuple[str, ...]) -> None:
    # ConText compares every cue with every cue and mention of a Doc, so the cost of one Doc
    # grows faster than its length; bounding the Doc bounds the cost per character. The time this
    # takes is a figure of bench/triage_cost.py, not a test: timings move with the machine's load.
    texts = [m["text"] for m in yaml.safe_load(MESSAGES.read_text())["messages"]]
    long_text = " ".join(texts)[:10_000] + " Also my lips are swelling."
    recording = _RecordingPipeline(pipeline())
    result = grade_rules(recording, long_text, history)  # type: ignore[arg-type]
    assert result.severity == "emergency"
    assert len(recording.lengths) >= len(long_text) // PASSAGE_CHARS
    assert max(recording.lengths) <= PASSAGE_CHARS


# Every word of every lexicon pattern joins the typo corrector's vocabulary, so a new pattern word
# can pull an everyday word one edit away onto itself ("read" once turned "real" into "read" and
# broke "a real pain in the neck"; "goo" turned "good" into fluid). These must stay as written.
@pytest.mark.parametrize(
    "word", ["good", "real", "ready", "head", "fewer", "fine", "bored", "later", "sweet", "tired"]
)
def test_everyday_words_are_not_corrected_onto_lexicon_words(word: str) -> None:
    assert [t.norm_ for t in pipeline()(f"all {word} now")][1] == word
