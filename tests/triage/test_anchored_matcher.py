"""AnchoredMatcher finds exactly what spaCy's Matcher finds, trying fewer patterns."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from spacy.errors import MatchPatternError
from spacy.matcher import Matcher

from bot.triage.detect.anchored import AnchoredMatcher, anchor
from bot.triage.detect.evaluation import load_items
from bot.triage.detect.files import TRIAGE_DIR
from bot.triage.detect.pipeline import pipeline

TESTS = Path(__file__).resolve().parents[1]


def test_the_anchor_is_the_fewest_words_of_a_token_that_cannot_be_skipped() -> None:
    pattern = [
        {"NORM": {"IN": ["a"]}, "OP": "?"},  # optional: no anchor
        {"NORM": {"IN": ["pehle", "pahle", "phle"]}},
        {"LOWER": "se", "OP": "+"},
        {"NORM": {"REGEX": "^x"}},
    ]
    assert anchor(pattern) == ("LOWER", frozenset({"se"}))
    assert anchor([{"NORM": {"REGEX": "^x"}}, {"IS_ALPHA": True}]) is None
    assert anchor([{"NORM": {"NOT_IN": ["a"]}}, {"NORM": "b", "OP": "*"}]) is None


def test_matches_are_spacys_on_made_up_patterns() -> None:
    nlp = spacy.blank("en")
    patterns = {
        "LIT": [[{"LOWER": "cant"}, {"LOWER": "breathe"}]],
        "IN": [[{"LOWER": {"IN": ["lips", "lip"]}}, {"IS_ALPHA": True, "OP": "*"}]],
        "FREE": [[{"LOWER": {"REGEX": "^swel"}}], [{"LIKE_NUM": True}, {"LOWER": "days"}]],
        "PLUS": [[{"LOWER": "very", "OP": "+"}, {"LOWER": "bad"}]],
    }
    plain, anchored = Matcher(nlp.vocab), AnchoredMatcher(nlp.vocab)
    for key, pats in patterns.items():
        plain.add(key, pats)
        anchored.add(key, pats)
    assert len(anchored) == len(plain) == 4
    for text in [
        "I cant breathe and my lips are swelling",
        "very very bad for 3 days",
        "nothing here",
        "LIPS LIPS",
        "",
    ]:
        doc = nlp(text)
        assert sorted(anchored(doc)) == sorted(plain(doc)), text


def test_a_bad_pattern_is_refused_as_spacy_refuses_it() -> None:
    matcher = AnchoredMatcher(spacy.blank("en").vocab, validate=True)
    with pytest.raises(MatchPatternError):
        matcher.add("BAD", [[{"NROM": "x"}]])


def test_len_counts_each_key_once() -> None:
    matcher = AnchoredMatcher(spacy.blank("en").vocab)
    matcher.add("A", [[{"LOWER": "lips"}], [{"LOWER": {"REGEX": "^sw"}}]])
    matcher.add("B", [[{"LOWER": "lips"}]])
    matcher.add("A", [[{"LOWER": "tongue"}]])
    assert len(matcher) == 2


@pytest.fixture(scope="module")
def triage_nlp():  # type: ignore[no-untyped-def]
    return pipeline(Path(TRIAGE_DIR))


def test_every_cue_pattern_matches_as_in_one_spacy_matcher(triage_nlp) -> None:  # type: ignore[no-untyped-def]
    cues = triage_nlp.get_pipe("meso_context").context._ConText__matcher
    rules = [(rid, r.pattern) for rid, r in cues.rule_map.items() if isinstance(r.pattern, list)]
    assert len(rules) > 300
    plain, anchored = Matcher(triage_nlp.vocab), AnchoredMatcher(triage_nlp.vocab)
    for rule_id, pattern in rules:
        plain.add(rule_id, [pattern])
        anchored.add(rule_id, [pattern])
    items = [
        i
        for name in ("messages.yml", "blind_ae.yml", "blind_af.yml")
        for i in load_items(TESTS / "triage_eval" / name)
    ]
    with triage_nlp.select_pipes(enable=["meso_normaliser", "sentencizer"]):
        docs = list(triage_nlp.pipe(i.text for i in items))
    found = 0
    for doc in docs:
        ours = anchored(doc)
        assert sorted(ours) == sorted(plain(doc)), doc.text
        found += len(ours)
    assert found > 500
