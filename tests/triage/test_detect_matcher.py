"""The first pipeline pieces on their own: typo correction, normaliser, symptom matcher."""

from __future__ import annotations

import pytest
import spacy
from spacy.language import Language

import bot.triage.detect  # noqa: F401  (registers the meso_* factories)
from bot.paths import TRIAGE_DIR
from bot.triage.detect.typos import TypoCorrector, osa_distance


@pytest.fixture(scope="module")
def matcher_nlp() -> Language:
    """Normaliser, sentencizer and symptom matcher only, on the real data files."""
    nlp = spacy.blank("en")
    nlp.add_pipe("meso_normaliser")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("meso_symptom_matcher")
    return nlp


def concepts(nlp: Language, text: str) -> list[str]:
    return [ent.label_ for ent in nlp(text).ents]


def test_osa_distance_counts_swaps_and_stops_at_the_limit() -> None:
    assert osa_distance("swelling", "swelling", 1) == 0
    assert osa_distance("sweling", "swelling", 1) == 1
    assert osa_distance("itcy", "icty", 1) == 1  # one adjacent swap
    assert osa_distance("fever", "rash", 1) == 2  # limit + 1


def test_typo_corrector_corrects_near_misses_but_not_known_or_short_words() -> None:
    corrector = TypoCorrector(
        ["swelling", "bruising", "fever", "lump"], known=["fewer"], edit_limits=[(4, 1), (9, 2)]
    )
    assert corrector.correct("sweling") == "swelling"
    assert corrector.correct("BRUSING") == "bruising"
    assert corrector.correct("fevr") == "fever"
    assert corrector.correct("fewer") is None  # a real word
    assert corrector.correct("jump") is None  # first letter differs
    assert corrector.correct("lum") is None  # too short
    assert corrector.correct("swelling") is None  # already a vocabulary word
    assert corrector.correct("x" * 5000) is None  # longer than any entry: no work, no match


@pytest.mark.parametrize(
    ("text", "concept"),
    [
        ("my face is sweling", "swelling"),
        ("swolen cheeks", "swelling"),
        ("brusing on my arm", "bruising"),
        ("itchey scalp", "itching"),
        ("i have a fevr", "fever"),
        ("puss coming out", "pus_discharge"),
        ("feeling dizy", "dizziness"),
        ("there is an absess", "infection"),
        ("cant breath", "breathing_difficulty"),
        ("I CANT BREATHE", "breathing_difficulty"),
        ("MY LIPS ARE SWELLING", "lip_swelling"),
        ("THROAT CLOSING UP", "throat_swelling"),
        ("tongue swelling", "tongue_swelling"),
        ("breathless", "breathing_difficulty"),
        ("blacked out", "fainting"),
        ("fainted", "fainting"),
        ("hair falling out in patches", "patchy_hair_loss"),
        ("bald patches", "patchy_hair_loss"),
        ("dark patches on my cheek", "hyperpigmentation"),
        ("skin went white", "skin_colour_change"),
        ("skin turned grey", "skin_colour_change"),
        ("the area is mottled", "skin_colour_change"),
        ("blotchy and blue", "skin_colour_change"),
        ("blurry vision", "vision_change"),
        ("can't see properly", "vision_change"),
        ("chest pain", "chest_pain"),
        ("chest tight", "chest_pain"),
        ("hives", "hives"),
        ("a rash", "rash"),
        ("open sore", "open_sore"),
        ("nodules under the skin", "lump"),
        ("vomiting", "vomiting"),
        ("nauseous", "nausea"),
        ("headache", "headache"),
        ("burning", "burning"),
        ("it is sore", "pain"),
        ("redness", "redness"),
    ],
)
def test_matcher_finds_lay_terms_typos_and_capitals(
    matcher_nlp: Language, text: str, concept: str
) -> None:
    assert concept in concepts(matcher_nlp, text)


def test_longest_match_wins_over_the_general_concept(matcher_nlp: Language) -> None:
    assert concepts(matcher_nlp, "my lips are swelling") == ["lip_swelling"]
    assert concepts(matcher_nlp, "chest pain") == ["chest_pain"]


@pytest.mark.parametrize(
    "text",
    ["can I drink red wine after", "is meso used for pain relief", "a double blind study", ""],
)
def test_stop_phrases_and_ordinary_words_are_not_symptoms(matcher_nlp: Language, text: str) -> None:
    assert concepts(matcher_nlp, text) == []


def test_real_words_near_a_symptom_word_are_not_corrected(matcher_nlp: Language) -> None:
    doc = matcher_nlp("I am not sure, next time there will be fewer people")
    assert [t.norm_ for t in doc][:4] == ["i", "am", "not", "sure"]
    assert "next" in [t.norm_ for t in doc]
    assert "fewer" in [t.norm_ for t in doc]
    assert not doc.ents


def test_arabizi_words_keep_the_letters_after_their_digit(matcher_nlp: Language) -> None:
    """spaCy's English suffixes split a unit off a number; an Arabizi word is not a number."""
    words = [t.text for t in matcher_nlp("sma3t kwar ta7t el jild ma3ha, 9a7ee7? 2km at 5pm 38c")]
    assert words[:6] == ["sma3t", "kwar", "ta7t", "el", "jild", "ma3ha"]
    assert words[7:9] == ["9a7ee7", "?"]
    assert words[9:11] == ["2", "km"]


def test_normaliser_reads_from_the_configured_files(tmp_path) -> None:
    spelling = (TRIAGE_DIR / "spelling.yml").read_text()
    (tmp_path / "spelling.yml").write_text(
        spelling.replace("  m: am\n", "  m: am\n  pls: please\n")
    )
    nlp = spacy.blank("en")
    nlp.add_pipe("meso_normaliser", config={"spelling_path": str(tmp_path / "spelling.yml")})
    assert [t.norm_ for t in nlp("pls help")] == ["please", "help"]


def test_phrases_match_whatever_spelling_the_data_file_used(tmp_path) -> None:
    """A phrase goes through the normaliser like a message, so "ur" in a data file reads "your"."""
    symptoms = (TRIAGE_DIR / "symptoms.yml").read_text()
    (tmp_path / "symptoms.yml").write_text(
        symptoms.replace("stop_phrases:\n", "stop_phrases:\n  - pain in ur back pocket\n", 1)
    )
    nlp = spacy.blank("en")
    nlp.add_pipe("meso_normaliser")
    nlp.add_pipe(
        "meso_symptom_matcher",
        config={
            "symptoms_path": str(tmp_path / "symptoms.yml"),
            "languages_path": str(TRIAGE_DIR / "languages"),
        },
    )
    assert concepts(nlp, "a pain in ur back pocket") == []
    assert concepts(nlp, "a pain in your back pocket") == []
    assert concepts(nlp, "a pain in your back") != []


def test_context_cues_match_whatever_spelling_the_data_file_used(tmp_path) -> None:
    from bot.triage.detect.lexicon import phrase_norms

    nlp = spacy.blank("en")
    nlp.add_pipe("meso_normaliser")
    assert phrase_norms(nlp, ["ur NOT swollen"]) == ["your not swollen"]
    cant, can_not = phrase_norms(nlp, ["cant breathe", "can't breathe"])
    assert cant == can_not
