"""Mention statuses from ConText and statuses.yml: whose symptom, and is it real and current."""

from __future__ import annotations

import pytest

from bot.triage.detect import triage_rules as triage


def statuses(text: str) -> dict[str, str]:
    return {m.concept: m.status for m in triage(text).mentions}


@pytest.mark.parametrize(
    ("text", "concept", "status"),
    [
        ("my face is swollen", "swelling", "affirmed"),
        ("is it normal that my face is swollen?", "swelling", "affirmed"),
        ("I have bruising, is that normal?", "bruising", "affirmed"),
        ("no swelling", "swelling", "negated"),
        ("not swollen", "swelling", "negated"),
        ("without any fever", "fever", "negated"),
        ("my face isn't swollen at all", "swelling", "negated"),
        ("I've never had swelling like this before", "swelling", "affirmed"),
        ("what if I get a fever", "fever", "hypothetical"),
        ("in case of swelling should I use ice?", "swelling", "hypothetical"),
        ("if I bruise, how long does it take to go?", "bruising", "hypothetical"),
        ("can it cause swelling?", "swelling", "risk_question"),
        ("is bruising normal after meso?", "bruising", "risk_question"),
        ("does it give fever", "fever", "risk_question"),
        ("can meso help with dark spots", "hyperpigmentation", "risk_question"),
        ("my sister has a fever", "fever", "other_absent"),
        ("what if my wife faints after it?", "fainting", "hypothetical"),
        ("my friend next to me can't breathe", "breathing_difficulty", "other_present"),
        ("my mum who just had it is dizzy", "dizziness", "other_present"),
        ("I had a bruise last year, it went away", "bruising", "historical"),
        # a cue on "وطلع لها" with the kin word's types once cut the kin word's reach (round 19)
        ("صديقتي سوت ميزو في مكان ثاني وطلع لها صديد", "pus_discharge", "other_absent"),
        # someone else's emergency happening now, nothing saying where: as if present (round 37);
        # not so for what is not an emergency, nor for someone said to be elsewhere
        ("my brother is having a seizure right now", "seizure", "other_present"),
        ("my brother has a rash right now", "rash", "other_absent"),
        ("my brother back home in Pune is having a seizure right now", "seizure", "other_absent"),
        ("اخوي عنده نوبة صرع الحين", "seizure", "other_present"),
    ],
)
def test_status_of_a_mention(text: str, concept: str, status: str) -> None:
    assert statuses(text)[concept] == status


def test_a_question_about_risks_beside_a_report_keeps_both_readings() -> None:
    result = triage("my face is swollen, how long does swelling last?")
    assert [m.status for m in result.mentions] == ["affirmed", "risk_question"]
    assert result.severity == "routine"


def test_but_ends_a_negation() -> None:
    assert statuses("I'm not dizzy but my throat feels tight") == {
        "dizziness": "negated",
        "throat_swelling": "affirmed",
    }


def test_only_escalating_statuses_grade_the_message() -> None:
    assert triage("my sister has a fever").severity is None
    assert triage("my friend next to me can't breathe").severity == "emergency"
    assert triage("what if my lips swell after treatment").severity is None


def test_two_cue_rules_on_the_same_words_both_apply(tmp_path) -> None:
    """medspaCy keeps one of two cue matches on the very same words (a pattern rule before a
    literal); bot.triage.detect.context keeps both, so a narrow pattern cannot switch off a
    general cue ("is it ... painful?" was read as a report while "was it an infection" matched
    "is it" too)."""
    import spacy

    import bot.triage.detect  # noqa: F401  (registers the meso_* factories)

    (tmp_path / "context_rules.yml").write_text(
        "context_rules:\n"
        '  - {literal: "is it", category: RISK_QUESTION, direction: FORWARD, max_scope: 3}\n'
        '  - literal: "is it about an infection"\n'
        "    category: HYPOTHETICAL\n"
        "    direction: FORWARD\n"
        "    max_scope: 3\n"
        "    allowed_types: [infection]\n"
        "    pattern: [{NORM: {IN: [was, is]}}, {NORM: {IN: [it, that]}}]\n"
    )
    nlp = spacy.blank("en")
    nlp.add_pipe("meso_normaliser")
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("meso_symptom_matcher")
    nlp.add_pipe(
        "meso_context",
        config={
            "context_path": str(tmp_path / "context_rules.yml"),
            "languages_path": str(tmp_path / "no_languages"),
        },
    )
    painful = nlp("is it painful?").ents[0]
    assert [m.category for m in painful._.modifiers] == ["RISK_QUESTION"]
    infection = nlp("is it infection").ents[0]
    assert sorted(m.category for m in infection._.modifiers) == ["HYPOTHETICAL", "RISK_QUESTION"]


def test_a_question_about_a_list_of_side_effects_asks_about_each() -> None:
    assert set(
        statuses("how long do bruising, redness, itching and swelling last after meso?").values()
    ) == {"risk_question"}
    assert statuses("هل الميزو يسبب تساقط شعر او حبوب او ورم؟")["swelling"] == "risk_question"


def test_a_question_about_a_list_never_passes_to_an_emergency() -> None:
    found = statuses("how long do bruising, swelling, redness, itching and swollen lips last?")
    assert found["itching"] == "risk_question"
    assert found["lip_swelling"] == "affirmed"


def test_an_example_of_a_risk_asked_about_is_asked_about_too() -> None:
    """A "like" alone between a question's mention and the next makes the next its example, also
    for an emergency sign; "like my throat" is the patient's own throat."""
    found = statuses("is it possible to get an allergic reaction like throat swelling?")
    assert found["throat_swelling"] == "risk_question"
    found = statuses("can meso cause an allergic reaction like my throat is swelling now?")
    assert found["throat_swelling"] == "affirmed"


def test_a_statuses_file_with_one_list_entry_alone_still_loads(tmp_path) -> None:
    """Files written before lists of entries gave `carry_across_lists` as one mapping; the
    detector tuner still reads them at the revisions of the older blind sets."""
    import spacy
    import yaml

    import bot.triage.detect  # noqa: F401  (registers the meso_* factories)
    from bot.paths import DATA_DIR

    data = yaml.safe_load((DATA_DIR / "triage" / "statuses.yml").read_text())
    data["carry_across_lists"] = {"joiners": ["or"], "categories": ["NEGATED_EXISTENCE"]}
    (tmp_path / "statuses.yml").write_text(yaml.safe_dump(data, allow_unicode=True))
    nlp = spacy.blank("en")
    status = nlp.add_pipe(
        "meso_mention_status", config={"statuses_path": str(tmp_path / "statuses.yml")}
    )
    assert [(c.joiners, c.categories) for c in status.carries] == [
        (frozenset({"or"}), frozenset({"NEGATED_EXISTENCE"}))
    ]
