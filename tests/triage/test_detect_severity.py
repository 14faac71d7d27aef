"""Severity rules and modifiers (rules.yml, modifiers.yml), and the checks on the data files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import spacy
import yaml

from bot.datafiles import DataFileError
from bot.paths import TRIAGE_DIR
from bot.triage.detect import build_pipeline
from bot.triage.detect import triage_rules as triage
from bot.triage.detect.severity import SeverityGrader, SeverityRule
from bot.triage.result import SymptomMention


def mention(concept: str, status: str = "affirmed", *modifiers: str) -> SymptomMention:
    return SymptomMention(concept, concept, 0, 1, status, tuple(modifiers))  # type: ignore[arg-type]


@pytest.fixture
def grader() -> SeverityGrader:
    rules = [
        SeverityRule("e", "emergency", "why", frozenset({"breathing_difficulty"})),
        SeverityRule("u", "urgent", "why", frozenset({"swelling"}), frozenset({"spreading"})),
        SeverityRule("r", "routine", "why", frozenset({"swelling", "bruising"})),
    ]
    return SeverityGrader("meso_severity", rules)


def test_rule_needs_its_modifier(grader: SeverityGrader) -> None:
    assert grader.grade((mention("swelling"),)).severity == "routine"
    spreading = grader.grade((mention("swelling", "affirmed", "spreading"),))
    assert spreading.severity == "urgent"
    assert spreading.rules == ("u", "r")


def test_highest_severity_wins(grader: SeverityGrader) -> None:
    result = grader.grade((mention("bruising"), mention("breathing_difficulty")))
    assert result.severity == "emergency"
    assert result.rules[0] == "e"


def test_non_escalating_mentions_do_not_grade(grader: SeverityGrader) -> None:
    result = grader.grade((mention("breathing_difficulty", "negated"), mention("bruising")))
    assert result.severity == "routine"
    assert grader.grade((mention("bruising", "other_absent"),)).severity is None
    assert grader.grade((mention("bruising", "other_present"),)).severity == "routine"


@pytest.mark.parametrize(
    ("text", "severity", "rule"),
    [
        ("my lips are swelling and I can't breathe", "emergency", "emergency_airway_swelling"),
        ("hives all over my body", "emergency", "emergency_widespread_hives"),
        ("the skin went white", "emergency", "emergency_skin_colour"),
        ("my vision is blurry", "emergency", "emergency_vision"),
        ("I fainted", "emergency", "emergency_fainting"),
        ("I have a fever", "urgent", "urgent_fever"),
        ("the redness is spreading", "urgent", "urgent_hot_or_spreading_skin"),
        ("my cheek is red and hot to touch", "urgent", "urgent_hot_or_spreading_skin"),
        ("the pain is getting worse", "urgent", "urgent_worsening_or_severe"),
        ("severe pain in my cheek", "urgent", "urgent_worsening_or_severe"),
        ("I keep vomiting and it won't stop", "urgent", "urgent_persistent_vomiting"),
        ("painful lump three weeks after", "urgent", "urgent_late_or_painful_nodules"),
        ("bald patches on my scalp", "urgent", "urgent_hair_loss"),
        ("pus from the injection site", "urgent", "urgent_pus_or_sores"),
        ("a little swelling", "routine", "routine_local_reaction"),
        ("I vomited once", "routine", "routine_general"),
    ],
)
def test_rules_on_the_real_data(text: str, severity: str, rule: str) -> None:
    result = triage(text)
    assert result.severity == severity
    assert rule in result.rules


def test_modifier_in_a_sentence_without_symptom_applies_to_the_message() -> None:
    assert triage("My cheek is red. It is getting worse.").severity == "urgent"


@pytest.mark.parametrize(
    "text", ["it's not spreading, just a little redness", "a bit red, what if it gets worse?"]
)
def test_cancelled_modifiers_do_not_raise_the_level(text: str) -> None:
    assert triage(text).severity == "routine"


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    for path in TRIAGE_DIR.glob("*.yml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _edit(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_schema_error_names_the_file(data_copy: Path) -> None:
    _edit(data_copy / "rules.yml", lambda d: d["rules"][0].pop("rationale"))
    with pytest.raises(DataFileError) as err:
        build_pipeline(data_copy)
    assert err.value.file == str(data_copy / "rules.yml")
    assert "rationale" in str(err.value)


def test_unknown_concept_in_a_rule_names_file_and_rule(data_copy: Path) -> None:
    _edit(data_copy / "rules.yml", lambda d: d["rules"][0]["concepts"].append("sneezing"))
    with pytest.raises(DataFileError, match="sneezing") as err:
        build_pipeline(data_copy)
    assert err.value.file == str(data_copy / "rules.yml")
    assert err.value.entry == "emergency_breathing"


def test_concept_without_an_unconditional_rule_is_rejected(data_copy: Path) -> None:
    _edit(
        data_copy / "symptoms.yml", lambda d: d["concepts"].update(sneezing={"phrases": ["sneeze"]})
    )
    with pytest.raises(DataFileError, match="sneezing"):
        build_pipeline(data_copy)


def test_bad_token_pattern_names_file_and_concept(data_copy: Path) -> None:
    _edit(
        data_copy / "symptoms.yml",
        lambda d: d["concepts"]["fever"].update(patterns=[[{"NORM": {"IN": [True]}}]]),
    )
    nlp = spacy.blank("en")
    with pytest.raises(DataFileError) as err:
        nlp.add_pipe(
            "meso_symptom_matcher", config={"symptoms_path": str(data_copy / "symptoms.yml")}
        )
    assert err.value.file == str(data_copy / "symptoms.yml")
    assert err.value.entry == "fever"


def test_bad_context_rule_names_the_file(data_copy: Path) -> None:
    _edit(data_copy / "context_rules.yml", lambda d: d["context_rules"][0].update(direction="UP"))
    nlp = spacy.blank("en")
    with pytest.raises(DataFileError) as err:
        nlp.add_pipe("meso_context", config={"context_path": str(data_copy / "context_rules.yml")})
    assert err.value.file == str(data_copy / "context_rules.yml")


def test_a_changed_rule_file_changes_the_grading(data_copy: Path) -> None:
    def bruising_urgent(d: dict) -> None:  # type: ignore[type-arg]
        d["rules"].append(
            {
                "id": "urgent_any_bruise",
                "severity": "urgent",
                "rationale": "A test rule here.",
                "concepts": ["bruising"],
            }
        )

    _edit(data_copy / "rules.yml", bruising_urgent)
    assert triage("a small bruise", data_copy).severity == "urgent"
    assert triage("a small bruise").severity == "routine"
