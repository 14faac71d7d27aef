"""Evaluate symptom triage on labelled messages, overall and for each language.

Prints per-severity recall (exact, and "at least as severe"), any-severity recall, under- and
over-triage rates and false escalations (FAQ-tagged, every message labelled none, and the NLU
evaluation questions), then the same figures for each language (en, hinglish, hi, ar, arabizi),
timings, and every misclassified message.

usage: python scripts/eval_triage.py [--messages PATH ...] [--questions PATH ...] [--no-nlu]
                                     [--json PATH] [--check] [--summary]
  --messages  labelled sets (default: the tuning set tests/triage_eval/messages.yml)
  --questions NLU evaluation files (tests/nlu_eval/...; each question with its `previous` as
              history) counted as ordinary questions, which must not escalate (default: the NLU
              tuning set tests/nlu_eval/questions.yml); `--messages` with no file and
              `--questions tests/nlu_eval/blind_n/*.yml` measures an NLU blind set alone
  --no-nlu    leave out the NLU evaluation questions from the false-escalation count
  --summary   figures only, without the list of misclassified messages
  --rules-only  the rules alone, without the statistical detector
  --check     exit 1 when a goal in bot.triage.detect.evaluation.GOALS is missed, overall or
              in any language
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.triage.detect import triage, triage_rules  # noqa: E402
from bot.triage.detect.evaluation import (  # noqa: E402
    Report,
    load_items,
    load_nlu_questions,
    run,
    score,
)

MESSAGES = ROOT / "tests" / "triage_eval" / "messages.yml"
NLU_QUESTIONS = ROOT / "tests" / "nlu_eval" / "questions.yml"


def print_figures(report: Report, indent: str = "") -> None:
    print(f"{indent}severity    count  exact  at-least")
    for level, row in report.per_level.items():
        exact, at_least = row["exact_recall"], row["at_least_recall"]
        print(f"{indent}{level:<10} {row['count']:>6}  {exact:>5.1%}  {at_least:>7.1%}")
    print(f"{indent}any-severity recall      {report.any_severity_recall:.1%}")
    print(f"{indent}under-triage rate        {report.under_triage_rate:.1%}")
    print(f"{indent}over-triage rate         {report.over_triage_rate:.1%}")
    for name, row in report.false_escalation.items():
        if row["count"]:
            print(
                f"{indent}false escalations {name:<14} {row['escalated']}/{row['count']}"
                f" = {row['rate']:.1%}"
            )
    for name, goal in report.goals.items():
        mark = "ok  " if goal["met"] else "MISS"
        print(f"{indent}  {mark} {name} = {goal['value']:.1%} (target {goal['target']:.0%})")


def print_report(report: Report, summary: bool = False) -> None:
    print(f"ALL LANGUAGES ({report.count} labelled messages)")
    print_figures(report)
    for lang, sub in report.per_language.items():
        print(f"\n{lang} ({sub.count} messages)")
        print_figures(sub, indent="  ")
    if report.timing_ms:
        t = report.timing_ms
        print(f"\ntime per message ms      mean {t['mean']:.2f}  p95 {t['p95']:.2f}", end="")
        print(f"  max {t['max']:.2f}")
    if summary:
        return
    print(f"\nmisclassified ({len(report.misclassified)}):")
    for m in report.misclassified:
        history = f" after {m['history']!r}" if m["history"] else ""
        print(
            f"  [{m['lang']}/{m['tag']}] expected {m['expected']}, got {m['predicted']}:"
            f" {m['text']!r}{history}"
        )
        if m["mentions"]:
            print(f"      {'; '.join(m['mentions'])}")


def goals_met(report: Report) -> bool:
    return report.goals_met and all(
        goal["met"]
        for sub in report.per_language.values()
        for name, goal in sub.goals.items()
        if name != "faq_false_escalation_rate" or sub.false_escalation["faq_and_nlu"]["count"]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=Path, nargs="*", default=[MESSAGES])
    parser.add_argument("--no-nlu", action="store_true", help="leave out the NLU questions")
    parser.add_argument(
        "--questions",
        type=Path,
        nargs="+",
        default=[NLU_QUESTIONS],
        help="NLU evaluation files whose questions (ordinary questions, none may escalate) join"
        " the messages; default the NLU tuning set",
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--summary", action="store_true", help="no list of misclassified")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--rules-only", action="store_true", help="leave the detector out")
    args = parser.parse_args()

    items = [item for path in args.messages for item in load_items(path)]
    if not args.no_nlu:
        items += [item for path in args.questions for item in load_nlu_questions(path)]
    decide = triage_rules if args.rules_only else triage
    decide("warm-up")  # build the pipeline (and load the detector) before timing
    report = score(run(items, decide))
    print_report(report, summary=args.summary)
    if args.json:
        args.json.write_text(json.dumps(report.as_dict(), indent=2), encoding="utf-8")
    return 1 if args.check and not goals_met(report) else 0


if __name__ == "__main__":
    sys.exit(main())
