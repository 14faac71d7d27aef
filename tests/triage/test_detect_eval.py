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
    assert report.goals_met
