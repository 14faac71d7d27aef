"""The triage goals on the held-out evaluation set (tests/triage_eval/messages.yml)."""

from __future__ import annotations

from pathlib import Path

from bot.triage.detect import triage
from bot.triage.detect.evaluation import load_items, load_nlu_questions, run, score

TESTS = Path(__file__).resolve().parents[1]


def test_eval_set_is_large_and_covers_every_kind() -> None:
    items = load_items(TESTS / "triage_eval" / "messages.yml")
    assert len(items) >= 160
    by_level = {
        level: sum(i.expected == level for i in items)
        for level in ("emergency", "urgent", "routine")
    }
    assert min(by_level.values()) >= 35
    assert sum(i.tag == "faq" for i in items) >= 40
    tags = {i.tag for i in items}
    assert {"negated", "hypothetical", "risk_question", "other_present", "other_absent"} <= tags
    assert {"typo", "caps", "no_punct", "multi", "with_question", "long"} <= tags


def test_triage_meets_its_goals() -> None:
    items = load_items(TESTS / "triage_eval" / "messages.yml")
    items += load_nlu_questions(TESTS / "nlu_eval" / "questions.yml")
    report = score(run(items, triage))
    misses = "\n".join(
        f"{m['expected']} -> {m['predicted']}: {m['text']}" for m in report.misclassified
    )
    assert report.per_level["emergency"]["at_least_recall"] == 1.0, misses
    assert report.any_severity_recall >= 0.97, misses
    assert report.under_triage_rate <= 0.05, misses
    assert report.false_escalation["faq"]["rate"] <= 0.03, misses
    assert report.false_escalation["faq_and_nlu"]["rate"] <= 0.03, misses
    assert all(g["met"] for n, g in report.goals.items() if n != "false_escalation_rate")


# The regression set: the tuning set, then every blind set (committed with its first contact).
REGRESSION_SETS = (
    "messages.yml",
    "blind_messages.yml",
    *sorted(
        p.name
        for p in (TESTS / "triage_eval").glob("blind_*.yml")
        if p.name != "blind_messages.yml"
    ),
)
# Per-language floors and ceilings the regression set must keep. Emergency recall and
# under-triage are the goals; any-severity recall and false escalations are guards at
# today's level, short of the goals (97% and 3%): see README "Measured figures".
LANGUAGE_FLOORS = {"emergency_recall": 1.0, "any_severity_recall": 0.96}
LANGUAGE_CEILINGS = {"under_triage_rate": 0.05, "false_escalation_rate": 0.12}


def test_every_language_keeps_its_figures_on_the_regression_set() -> None:
    items = [i for name in REGRESSION_SETS for i in load_items(TESTS / "triage_eval" / name)]
    report = score(run(items, triage))
    assert set(report.per_language) == {"en", "hinglish", "hi", "ar", "arabizi"}
    problems = []
    for lang, sub in report.per_language.items():
        figures = {name: goal["value"] for name, goal in sub.goals.items()}
        problems += [
            f"{lang}: {name} {figures[name]:.1%} < {floor:.0%}"
            for name, floor in LANGUAGE_FLOORS.items()
            if figures[name] < floor
        ]
        problems += [
            f"{lang}: {name} {figures[name]:.1%} > {ceiling:.0%}"
            for name, ceiling in LANGUAGE_CEILINGS.items()
            if figures[name] > ceiling
        ]
    misses = "\n".join(
        f"[{m['lang']}] {m['expected']} -> {m['predicted']}: {m['text'][:100]}"
        for m in report.misclassified
        if m["expected"] == "emergency" or m["predicted"] == "none"
    )
    assert not problems, "\n".join(problems) + "\n" + misses


def test_blind_sets_cover_every_language_and_level() -> None:
    for name in REGRESSION_SETS[2:]:
        items = load_items(TESTS / "triage_eval" / name)
        assert len(items) >= 300
        for lang in ("en", "hinglish", "hi", "ar", "arabizi"):
            levels = {i.expected for i in items if i.lang == lang}
            assert levels == {"emergency", "urgent", "routine", "none"}, (name, lang)
        # Set I's writers gave 20 messages earlier turns; the others gave 40 or more.
        assert sum(bool(i.history) for i in items) >= 20
