"""Scoring the triage pipeline against labelled messages (tests/triage_eval/messages.yml).

Used by scripts/eval_triage.py and by the goal test in tests/triage/. Severities are compared by
rank: none < routine < urgent < emergency.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.datafiles import safe_load
from bot.triage.result import MOST_SEVERE_FIRST, SEVERITY_ORDER, SymptomMention, TriageResult

ESCALATION_LEVELS = MOST_SEVERE_FIRST
LEVELS = (*ESCALATION_LEVELS, "none")

# The goals the triage must meet; --check and the goal test fail when one is missed.
GOALS = {
    "emergency_recall": 1.0,  # minimum
    "any_severity_recall": 0.97,  # minimum
    "under_triage_rate": 0.05,  # maximum
    "faq_false_escalation_rate": 0.03,  # maximum (FAQ-tagged items and the NLU questions)
    "false_escalation_rate": 0.03,  # maximum (every message labelled none)
}
LANGUAGES = ("en", "hinglish", "hi", "ar", "arabizi")


def rank(level: str | None) -> int:
    return SEVERITY_ORDER.get(level or "none", 0)


@dataclass(frozen=True)
class Item:
    text: str
    expected: str  # emergency | urgent | routine | none
    tag: str
    source: str = "triage_eval"
    lang: str = "en"
    history: tuple[str, ...] = ()  # earlier patient messages of the conversation, oldest first


@dataclass(frozen=True)
class Outcome:
    item: Item
    predicted: str
    result: TriageResult
    seconds: float

    @property
    def correct(self) -> bool:
        return self.predicted == self.item.expected


@dataclass
class Report:
    per_level: dict[str, dict[str, float | int]] = field(default_factory=dict)
    any_severity_recall: float = 1.0
    under_triage_rate: float = 0.0
    over_triage_rate: float = 0.0
    false_escalation: dict[str, dict[str, float | int]] = field(default_factory=dict)
    timing_ms: dict[str, float] = field(default_factory=dict)
    misclassified: list[dict[str, Any]] = field(default_factory=list)
    goals: dict[str, dict[str, Any]] = field(default_factory=dict)
    per_language: dict[str, Report] = field(default_factory=dict)

    @property
    def goals_met(self) -> bool:
        return all(goal["met"] for goal in self.goals.values())

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "goals_met": self.goals_met}

    @property
    def count(self) -> int:
        return int(sum(row["count"] for row in self.per_level.values()))


def load_items(path: Path) -> list[Item]:
    data = safe_load(path.read_text(encoding="utf-8"))
    return [
        Item(
            text=m["text"],
            expected=m["expected"],
            tag=m.get("tag", ""),
            lang=m.get("lang", "en"),
            history=tuple(m.get("history") or ()),
        )
        for m in data["messages"]
    ]


def load_nlu_questions(path: Path) -> list[Item]:
    """The ordinary questions of the NLU evaluation set: none of them may escalate."""
    if not path.exists():
        return []
    data = safe_load(path.read_text(encoding="utf-8")) or {}
    return [
        Item(
            text=q["text"],
            expected="none",
            tag="faq",
            source="nlu_eval",
            lang=q.get("lang", "en"),
            history=(q["previous"],) if q.get("previous") else (),
        )
        for q in data.get("questions") or ()
    ]


def run(items: Iterable[Item], triage: Callable[..., TriageResult]) -> list[Outcome]:
    """Triage every item with its history and time each call."""
    outcomes = []
    for item in items:
        started = time.perf_counter()
        result = triage(item.text, history=item.history)
        outcomes.append(
            Outcome(item, result.severity or "none", result, time.perf_counter() - started)
        )
    return outcomes


def _rate(hits: int, total: int, empty: float) -> float:
    return hits / total if total else empty


def _describe(mention: SymptomMention) -> str:
    extra = f"+{','.join(mention.modifiers)}" if mention.modifiers else ""
    return f"{mention.text}={mention.concept}/{mention.status}{extra}"


def score(outcomes: list[Outcome], by_language: bool = True) -> Report:
    """Every figure over all outcomes and, with `by_language`, for each language on its own."""
    report = Report()
    if by_language:
        for lang in LANGUAGES:
            group = [o for o in outcomes if o.item.lang == lang]
            if group:
                report.per_language[lang] = score(group, by_language=False)
    labelled = [o for o in outcomes if o.item.source == "triage_eval"]
    for level in LEVELS:
        group = [o for o in labelled if o.item.expected == level]
        exact = sum(o.predicted == level for o in group)
        at_least = sum(rank(o.predicted) >= rank(level) for o in group)
        report.per_level[level] = {
            "count": len(group),
            "exact_recall": _rate(exact, len(group), 1.0),
            "at_least_recall": _rate(at_least, len(group), 1.0),
        }
    escalations = [o for o in labelled if o.item.expected != "none"]
    report.any_severity_recall = _rate(
        sum(o.predicted != "none" for o in escalations), len(escalations), 1.0
    )
    report.under_triage_rate = _rate(
        sum(rank(o.predicted) < rank(o.item.expected) for o in escalations), len(escalations), 0.0
    )
    report.over_triage_rate = _rate(
        sum(rank(o.predicted) > rank(o.item.expected) for o in escalations), len(escalations), 0.0
    )
    nones = [o for o in outcomes if o.item.expected == "none"]
    splits = {
        "faq": [o for o in nones if o.item.tag == "faq" and o.item.source == "triage_eval"],
        "other_none": [o for o in nones if o.item.tag != "faq"],
        "nlu_questions": [o for o in nones if o.item.source == "nlu_eval"],
    }
    splits["faq_and_nlu"] = splits["faq"] + splits["nlu_questions"]
    splits["all_none"] = nones
    for name, group in splits.items():
        escalated = sum(o.predicted != "none" for o in group)
        report.false_escalation[name] = {
            "count": len(group),
            "escalated": escalated,
            "rate": _rate(escalated, len(group), 0.0),
        }
    times = sorted(o.seconds * 1000 for o in outcomes)
    if times:
        report.timing_ms = {
            "mean": sum(times) / len(times),
            "p95": times[int(0.95 * (len(times) - 1))],
            "max": times[-1],
        }
    report.misclassified = [
        {
            "text": o.item.text,
            "tag": o.item.tag,
            "lang": o.item.lang,
            "history": list(o.item.history),
            "source": o.item.source,
            "expected": o.item.expected,
            "predicted": o.predicted,
            "mentions": [_describe(m) for m in o.result.mentions],
        }
        for o in outcomes
        if not o.correct
    ]
    actual = {
        "emergency_recall": report.per_level["emergency"]["at_least_recall"],
        "any_severity_recall": report.any_severity_recall,
        "under_triage_rate": report.under_triage_rate,
        "faq_false_escalation_rate": report.false_escalation["faq_and_nlu"]["rate"],
        "false_escalation_rate": report.false_escalation["all_none"]["rate"],
    }
    for name, target in GOALS.items():
        maximum = name.endswith("_rate")
        met = actual[name] <= target if maximum else actual[name] >= target
        report.goals[name] = {"value": actual[name], "target": target, "met": met}
    return report
