"""Evaluate symptom triage on tests/triage_eval/messages.yml (and the NLU questions, if present).

Prints per-severity recall (exact, and "at least as severe"), any-severity recall, under- and
over-triage rates, false escalations on messages expected to escalate nothing (FAQ-tagged vs
others, plus tests/nlu_eval/questions.yml), timings, and every misclassified message.

usage: python scripts/eval_triage.py [--messages PATH] [--json PATH] [--check]
  --messages  a labelled set other than the tuning set, e.g. tests/triage_eval/blind_messages.yml
  --check     exit 1 when a goal in bot.triage.detect.evaluation.GOALS is not met
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.triage.detect import triage  # noqa: E402
from bot.triage.detect.evaluation import (  # noqa: E402
    Report,
    load_items,
    load_nlu_questions,
    run,
    score,
)

MESSAGES = ROOT / "tests" / "triage_eval" / "messages.yml"
NLU_QUESTIONS = ROOT / "tests" / "nlu_eval" / "questions.yml"


def print_report(report: Report) -> None:
    print("severity    count  exact  at-least")
    for level, row in report.per_level.items():
        exact, at_least = row["exact_recall"], row["at_least_recall"]
        print(f"{level:<10} {row['count']:>6}  {exact:>5.1%}  {at_least:>7.1%}")
    print(f"any-severity recall      {report.any_severity_recall:.1%}")
    print(f"under-triage rate        {report.under_triage_rate:.1%}")
    print(f"over-triage rate         {report.over_triage_rate:.1%}")
    for name, row in report.false_escalation.items():
        print(f"false escalations {name:<14} {row['escalated']}/{row['count']} = {row['rate']:.1%}")
    if report.timing_ms:
        t = report.timing_ms
        print(f"time per message ms      mean {t['mean']:.2f}  p95 {t['p95']:.2f}", end="")
        print(f"  max {t['max']:.2f}")
    print(f"\nmisclassified ({len(report.misclassified)}):")
    for m in report.misclassified:
        print(f"  [{m['tag']}] expected {m['expected']}, got {m['predicted']}: {m['text']!r}")
        if m["mentions"]:
            print(f"      {'; '.join(m['mentions'])}")
    print("\ngoals:")
    for name, goal in report.goals.items():
        mark = "ok  " if goal["met"] else "MISS"
        print(f"  {mark} {name} = {goal['value']:.1%} (target {goal['target']:.0%})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=Path, default=MESSAGES, help="labelled messages")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    args = parser.parse_args()

    items = load_items(args.messages) + load_nlu_questions(NLU_QUESTIONS)
    triage("warm-up")  # build the pipeline before timing
    report = score(run(items, triage))
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    return 1 if args.check and not report.goals_met else 0


if __name__ == "__main__":
    sys.exit(main())
