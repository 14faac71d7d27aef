#!/usr/bin/env python3
"""Score a trained Rasa NLU model on the held-out questions in tests/nlu_eval/questions.yml.

usage: python scripts/eval_nlu.py [--model PATH] [--min-accuracy X] [--json PATH] [--workers N]

Figures printed:
- topic accuracy: share of ask_* questions whose predicted intent is exactly the expected one
  (a prediction of nlu_fallback counts as wrong; how many there were is reported separately);
- out-of-scope recall: share of out_of_scope questions predicted as out_of_scope,
  nlu_fallback or unusable_message (the pipeline's input guard: other language, unreadable);
  all of them lead to a polite refusal or a clarification rather than a wrong answer, and
  each count is printed;
- in-scope questions predicted as out_of_scope (how often a real question gets refused);
- the ten most frequent (expected, predicted) confusions;
- per language (with more than one language or follow-ups): also the reply language, the
  evidence note on efficacy questions, follow-ups, and "answered": the share of ask_* questions
  whose topic answer the patient gets, either as the predicted intent or, when triage handed the
  message to a clinician below emergency level, after the hand-off (the question that came with
  the symptom is answered too; topic accuracy counts those as wrong).

Before anything is parsed the script checks that no evaluation text also appears in
data/nlu.yml (case-insensitive, whitespace-normalised) and exits 2 if one does.
Exit 1 when --min-accuracy is given and topic accuracy is below it; otherwise 0.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import sys
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Custom pipeline components (e.g. bot.*) are imported by dotted path from the project root.
sys.path.insert(0, str(ROOT))

from bot.datafiles import read_nlu_examples  # noqa: E402
from bot.rasa.topics import nlu_files  # noqa: E402

DEFAULT_QUESTIONS = ROOT / "tests" / "nlu_eval" / "questions.yml"
DEFAULT_NLU = ROOT / "data" / "nlu.yml"
DEFAULT_MODELS = ROOT / "models"
OUT_OF_SCOPE = "out_of_scope"
FALLBACK = "nlu_fallback"
UNUSABLE = "unusable_message"
HANDLED_AS_REFUSAL = (OUT_OF_SCOPE, FALLBACK, UNUSABLE)
TOPIC_PREFIX = "ask_"


@dataclass
class Question:
    """One held-out question and the intent it should get."""

    text: str
    intent: str
    lang: str = "en"
    previous: str | None = None


@dataclass
class Prediction:
    """A question together with the model's answer."""

    text: str
    expected: str
    predicted: str
    confidence: float
    lang: str = "en"
    reply_lang: str = "en"
    follow_up: bool = False
    # The topic intent whose answer the patient gets: the predicted one, or, after a non-emergency
    # hand-off, the topic of the question that came with the symptom (bot.replies.standard).
    answered: str | None = None


@dataclass
class Report:
    """The figures the script prints (and optionally writes as JSON)."""

    model: str
    topic_total: int = 0
    topic_correct: int = 0
    topic_accuracy: float = 0.0
    topic_fallbacks: int = 0
    topic_unusable: int = 0
    oos_total: int = 0
    oos_as_out_of_scope: int = 0
    oos_as_fallback: int = 0
    oos_as_unusable: int = 0
    oos_recall: float = 0.0
    in_scope_total: int = 0
    in_scope_as_out_of_scope: int = 0
    in_scope_as_out_of_scope_rate: float = 0.0
    other_total: int = 0
    other_correct: int = 0
    per_intent_accuracy: dict[str, float] = field(default_factory=dict)
    top_confusions: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def normalise(text: str) -> str:
    """Lower-case and collapse whitespace, for comparing texts across files."""
    return " ".join(text.lower().split())


def load_questions(path: Path) -> list[Question]:
    """Read the evaluation set."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items = data.get("questions") or []
    questions = [
        Question(
            text=str(item["text"]),
            intent=str(item["intent"]),
            lang=str(item.get("lang") or "en"),
            previous=item.get("previous"),
        )
        for item in items
    ]
    if not questions:
        raise SystemExit(f"no questions in {path}")
    return questions


def training_texts(nlu_path: Path) -> set[str]:
    """Every example text of a Rasa NLU YAML file (or of every data/nlu*.yml beside it when
    given data/nlu.yml), normalised."""
    paths = nlu_files(nlu_path.parent) if nlu_path == DEFAULT_NLU else [nlu_path]
    return {normalise(text) for path in paths for _, text in read_nlu_examples(path)}


def leaked_questions(questions: list[Question], nlu_path: Path) -> list[str]:
    """Evaluation texts that also appear in the training data."""
    train = training_texts(nlu_path)
    return [q.text for q in questions if normalise(q.text) in train]


def newest_model(models_dir: Path) -> Path:
    """The most recently modified models/*.tar.gz."""
    candidates = sorted(models_dir.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not candidates:
        raise SystemExit(f"no trained model in {models_dir}; pass --model")
    return candidates[-1]


def predict_in_processes(
    model_path: Path, questions: list[Question], workers: int
) -> list[Prediction]:
    """predict_all in `workers` processes, each with its own copy of the model and a contiguous
    share of the questions; the predictions come back in the order of `questions`. Each
    message is parsed on its own (bot.rasa.parse), so the split changes no prediction."""
    workers = max(1, min(workers, len(questions)))
    if workers == 1:
        return asyncio.run(predict_all(model_path, questions))
    size = -(-len(questions) // workers)
    shares = [questions[i : i + size] for i in range(0, len(questions), size)]
    # spawn, not fork: the parent may already hold TensorFlow and thread pools.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(shares), mp_context=context) as pool:
        parts = pool.map(_predict_share, [model_path] * len(shares), shares)
        return [p for part in parts for p in part]


def _predict_share(model_path: Path, questions: list[Question]) -> list[Prediction]:
    quiet_rasa()
    return asyncio.run(predict_all(model_path, questions))


async def predict_all(model_path: Path, questions: list[Question]) -> list[Prediction]:
    """Load the model once and parse every question (in batches: bot.rasa.parse)."""
    from rasa.core.agent import Agent

    from bot.rasa.parse import parse_texts

    agent = Agent.load(str(model_path))
    predictions: list[Prediction] = []
    all_parsed = await parse_texts(agent, [q.text for q in questions])
    for q, parsed in zip(questions, all_parsed, strict=True):
        intent = parsed.get("intent") or {}
        predicted = str(intent.get("name"))
        predictions.append(
            Prediction(
                text=q.text,
                expected=q.intent,
                predicted=predicted,
                answered=answered_topic(q.text, predicted, parsed),
                confidence=float(intent.get("confidence") or 0.0),
                lang=q.lang,
                reply_lang=str((parsed.get("language") or {}).get("reply") or "en"),
                follow_up=q.previous is not None,
            )
        )
    return predictions


def answered_topic(text: str, predicted: str, parsed: dict[str, Any]) -> str | None:
    """The topic intent the patient is answered with (see Prediction.answered): the predicted
    topic, or the one action_escalate answers after a hand-off (bot.replies.standard)."""
    from bot.rasa.components.triage import TRIAGE_KEY
    from bot.replies.standard import topic_after_handoff

    if predicted.startswith(TOPIC_PREFIX):
        return predicted
    severity = (parsed.get(TRIAGE_KEY) or {}).get("severity")
    if severity and (
        topic := topic_after_handoff(severity, text, parsed.get("intent_ranking") or [])
    ):
        return f"{TOPIC_PREFIX}{topic}"
    return None


def ratio(part: int, whole: int) -> float:
    """part / whole, or 0.0 when whole is 0."""
    return part / whole if whole else 0.0


def build_report(model_path: Path, predictions: list[Prediction]) -> Report:
    """Compute every figure from the predictions."""
    report = Report(model=str(model_path))
    per_intent_total: Counter[str] = Counter()
    per_intent_ok: Counter[str] = Counter()
    confusions: Counter[tuple[str, str]] = Counter()
    for p in predictions:
        ok = p.predicted == p.expected
        if p.expected == OUT_OF_SCOPE:
            ok = p.predicted in HANDLED_AS_REFUSAL
        per_intent_total[p.expected] += 1
        per_intent_ok[p.expected] += ok
        if p.expected.startswith(TOPIC_PREFIX):
            report.topic_total += 1
            report.topic_correct += ok
            report.topic_fallbacks += p.predicted == FALLBACK
            report.topic_unusable += p.predicted == UNUSABLE
        elif p.expected == OUT_OF_SCOPE:
            report.oos_total += 1
            report.oos_as_out_of_scope += p.predicted == OUT_OF_SCOPE
            report.oos_as_fallback += p.predicted == FALLBACK
            report.oos_as_unusable += p.predicted == UNUSABLE
        else:
            report.other_total += 1
            report.other_correct += ok
        if p.expected != OUT_OF_SCOPE:
            report.in_scope_total += 1
            report.in_scope_as_out_of_scope += p.predicted == OUT_OF_SCOPE
        if not ok:
            confusions[(p.expected, p.predicted)] += 1
            report.errors.append(asdict(p))
    report.topic_accuracy = ratio(report.topic_correct, report.topic_total)
    handled = report.oos_as_out_of_scope + report.oos_as_fallback + report.oos_as_unusable
    report.oos_recall = ratio(handled, report.oos_total)
    report.in_scope_as_out_of_scope_rate = ratio(
        report.in_scope_as_out_of_scope, report.in_scope_total
    )
    report.per_intent_accuracy = {
        name: round(ratio(per_intent_ok[name], total), 3)
        for name, total in sorted(per_intent_total.items())
    }
    report.top_confusions = [
        {"expected": e, "predicted": pr, "count": n} for (e, pr), n in confusions.most_common(10)
    ]
    return report


def print_report(report: Report, verbose: bool) -> None:
    """Human-readable summary."""
    print(f"model: {report.model}")
    print(
        f"topic accuracy: {report.topic_accuracy:.1%} "
        f"({report.topic_correct}/{report.topic_total}; "
        f"{report.topic_fallbacks} predicted {FALLBACK}, {report.topic_unusable} {UNUSABLE}; "
        "counted wrong)"
    )
    print(
        f"out-of-scope recall: {report.oos_recall:.1%} "
        f"({report.oos_as_out_of_scope} as {OUT_OF_SCOPE} + {report.oos_as_fallback} as "
        f"{FALLBACK} + {report.oos_as_unusable} as {UNUSABLE}, of {report.oos_total})"
    )
    print(
        f"in-scope predicted {OUT_OF_SCOPE}: {report.in_scope_as_out_of_scope}/"
        f"{report.in_scope_total} ({report.in_scope_as_out_of_scope_rate:.1%})"
    )
    if report.other_total:
        print(f"small-talk intents correct: {report.other_correct}/{report.other_total}")
    print("most confused (expected -> predicted):")
    if not report.top_confusions:
        print("  none")
    for c in report.top_confusions:
        print(f"  {c['count']:3d}  {c['expected']} -> {c['predicted']}")
    if verbose:
        print("errors:")
        for e in report.errors:
            print(f"  [{e['expected']} -> {e['predicted']} {e['confidence']:.2f}] {e['text']}")


# The reply language each written language should get (Hinglish and Arabizi: English).
EXPECTED_REPLY = {"en": "en", "hinglish": "en", "hi": "hi", "ar": "ar", "arabizi": "en"}


def efficacy_topics() -> set[str]:
    """The intents of the topics about whether the treatment works (they carry a note)."""
    from bot.knowledge import read_knowledge_files

    files = read_knowledge_files(seeds_dir=None, languages=())
    return {f"{TOPIC_PREFIX}{t}" for t, topic in files.topics.items() if topic["efficacy"]}


def print_languages(predictions: list[Prediction]) -> None:
    """One row per language: topic accuracy, out-of-scope recall, reply language, evidence
    note on efficacy questions (answered with any efficacy topic: the note is shown), and
    follow-up accuracy."""
    efficacy = efficacy_topics()
    langs = sorted({p.lang for p in predictions})
    if len(langs) < 2 and langs == ["en"] and not any(p.follow_up for p in predictions):
        return
    print(
        "\nper language  n    topic acc  oos recall  reply lang  note on efficacy  follow-ups"
        "  answered (also after a hand-off)"
    )
    for lang in langs:
        rows = [p for p in predictions if p.lang == lang]
        report = build_report(Path("-"), rows)
        expected = EXPECTED_REPLY.get(lang, lang)
        reply_ok = ratio(sum(p.reply_lang == expected for p in rows), len(rows))
        asked = [p for p in rows if p.expected in efficacy]
        noted = ratio(sum(p.predicted in efficacy for p in asked), len(asked))
        follow = [p for p in rows if p.follow_up]
        follow_ok = ratio(sum(p.predicted == p.expected for p in follow), len(follow))
        topics = [p for p in rows if p.expected.startswith(TOPIC_PREFIX)]
        answered = ratio(sum(p.answered == p.expected for p in topics), len(topics))
        print(
            f"  {lang:<10} {len(rows):4d}   {report.topic_accuracy:7.1%}   "
            f"{report.oos_recall:8.1%}   {reply_ok:8.1%}   {noted:10.1%} ({len(asked)})"
            f"   {follow_ok:6.1%} ({len(follow)})   {answered:6.1%}"
        )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, help="model .tar.gz (default: newest models/*.tar.gz)")
    ap.add_argument(
        "--min-accuracy", type=float, help="exit 1 if topic accuracy is below this (0.85 or 85)"
    )
    ap.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    ap.add_argument("--questions", type=Path, nargs="+", default=[DEFAULT_QUESTIONS])
    ap.add_argument("--nlu", type=Path, default=DEFAULT_NLU, help="training data to check")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every wrong prediction")
    ap.add_argument(
        "--drop-overlap",
        action="store_true",
        help="score without questions that the training data also has (independent writers "
        "sometimes write the same short question), instead of refusing to score",
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes that parse in parallel, each loading the model (about 1 GB each)",
    )
    return ap.parse_args(argv)


def quiet_rasa() -> None:
    """Keep TensorFlow and Rasa start-up chatter (and per-message debug logs) out of the report."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    warnings.filterwarnings("ignore")
    logging.basicConfig(level=logging.ERROR)
    for name in ("rasa", "tensorflow", "absl", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    questions = [q for path in args.questions for q in load_questions(path)]
    leaked = leaked_questions(questions, args.nlu)
    if leaked and args.drop_overlap:
        print(f"left out {len(leaked)} question(s) also written in the training data:")
        for text in leaked:
            print(f"  {text}")
        questions = [q for q in questions if q.text not in set(leaked)]
        leaked = []
    if leaked:
        print(f"{len(leaked)} evaluation question(s) also appear in {args.nlu}:", file=sys.stderr)
        for text in leaked:
            print(f"  {text}", file=sys.stderr)
        return 2
    model = args.model or newest_model(DEFAULT_MODELS)
    if not model.is_file():
        raise SystemExit(f"model not found: {model}")
    quiet_rasa()
    predictions = predict_in_processes(model, questions, args.workers)
    report = build_report(model, predictions)
    print_report(report, args.verbose)
    print_languages(predictions)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False) + "\n")
    threshold = args.min_accuracy
    if threshold is not None and threshold > 1:
        threshold /= 100  # accept 85 as well as 0.85
    if threshold is not None and report.topic_accuracy < threshold:
        print(
            f"topic accuracy {report.topic_accuracy:.1%} is below {threshold:.1%}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
