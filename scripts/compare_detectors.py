"""Compare ways of building the statistical detector on the development sets.

For each named variant: train on the detector's training messages (the corpus and the NLU
examples, never a development set), choose both thresholds on the development sets as
scripts/tune_detector.py does (each set judged by its first-contact rules), and print the
thresholds, emergency recall (must stay 100%), any-severity recall and false escalations overall
and per language; the false escalations with today's rules as well (what the running bot would
do on the development sets); 5-fold cross-validation on the training messages (average
precision of both questions) as a second opinion; train time, vote time per message and model
size.

The rules' verdicts on the development sets do not depend on the detector: they are computed
once (about four minutes) and kept in --verdicts (a pickle) for the next run.

usage: python scripts/compare_detectors.py [--variants NAME ...] [--cv] [--verdicts PATH]
       [--markdown]
"""

from __future__ import annotations

import argparse
import io
import pickle
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import joblib
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.svm import LinearSVC

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from tune_detector import (  # noqa: E402
    Figures,
    Row,
    choose_thresholds,
    dev_items,
    figures_by_language,
)

from bot.triage.detect import triage_rules  # noqa: E402
from bot.triage.detect.evaluation import Item  # noqa: E402
from bot.triage.statistical import (  # noqa: E402
    SETTINGS_FILE,
    LabelledMessage,
    MemberSettings,
    ModelSettings,
    Thresholds,
    TrainedModels,
    detector_settings,
    features,
    prepare,
    train,
    training_messages,
)

Scores = tuple[np.ndarray, np.ndarray]  # P(report), P(emergency) per message


class Scorer:
    """A trained variant: scores prepared texts."""

    def scores(self, texts: list[str]) -> Scores:
        raise NotImplementedError


@dataclass
class Models(Scorer):
    """Features shared by a report and an emergency classifier of any sklearn kind."""

    union: object
    report: object
    emergency: object
    given_report: bool = False

    def scores(self, texts: list[str]) -> Scores:
        matrix = self.union.transform(texts)  # type: ignore[attr-defined]
        report = self.report.predict_proba(matrix)[:, 1]  # type: ignore[attr-defined]
        emergency = self.emergency.predict_proba(matrix)[:, 1]  # type: ignore[attr-defined]
        return report, report * emergency if self.given_report else emergency


@dataclass
class Adopted(Scorer):
    """bot/triage/statistical.py's own training with the given settings."""

    models: TrainedModels

    def scores(self, texts: list[str]) -> Scores:
        return self.models.scores(texts)


@dataclass
class Average(Scorer):
    """The mean of several variants' probabilities (an ensemble vote)."""

    members: list[Scorer]

    def scores(self, texts: list[str]) -> Scores:
        votes = [m.scores(texts) for m in self.members]
        return (
            np.mean([r for r, _ in votes], axis=0),
            np.mean([e for _, e in votes], axis=0),
        )


SENTENCE_END = re.compile(r"(?<=[.!?।؟\n])\s*")


@dataclass
class SentenceMax(Scorer):
    """The highest of the whole message's and each of its sentences' probabilities, so an
    emergency in one sentence of a long message is not diluted by the rest."""

    inner: Scorer

    def scores(self, texts: list[str]) -> Scores:
        owner, parts = [], []
        for n, text in enumerate(texts):
            pieces = [text, *(p for p in SENTENCE_END.split(text) if p.strip() and p != text)]
            owner += [n] * len(pieces)
            parts += pieces
        report, emergency = self.inner.scores(parts)
        best_r, best_e = np.zeros(len(texts)), np.zeros(len(texts))
        np.maximum.at(best_r, owner, report)
        np.maximum.at(best_e, owner, emergency)
        return best_r, best_e


def _labels(messages: list[LabelledMessage]) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.array([m.expected != "none" for m in messages]),
        np.array([m.expected == "emergency" for m in messages]),
    )


def adopted(model: ModelSettings) -> Callable[[list[LabelledMessage]], Scorer]:
    return lambda messages: Adopted(train(messages, model))


def generic(
    make: Callable[[], object],
    member: MemberSettings = MemberSettings(),
    given_report: bool = False,
    weights: Callable[[list[LabelledMessage]], np.ndarray] | None = None,
) -> Callable[[list[LabelledMessage]], Scorer]:
    """A variant with the statistical.py features and classifiers made by `make`."""

    def build(messages: list[LabelledMessage]) -> Scorer:
        union = features(member)
        matrix = union.fit_transform([prepare(m.text) for m in messages])
        is_report, is_emergency = _labels(messages)
        w = weights(messages) if weights else None
        report = make().fit(matrix, is_report, sample_weight=w)  # type: ignore[attr-defined]
        subset = is_report if given_report else np.ones(len(messages), bool)
        emergency = make().fit(  # type: ignore[attr-defined]
            matrix[subset], is_emergency[subset], sample_weight=None if w is None else w[subset]
        )
        return Models(union, report, emergency, given_report)

    return build


def report_like_none_weights(factor: float) -> Callable[[list[LabelledMessage]], np.ndarray]:
    """Weights that count `none` messages using a report-like word `factor` times, the
    report-like words learnt from the training messages themselves (no word list): words of
    at least three messages, at least 80% of them reports."""

    def weigh(messages: list[LabelledMessage]) -> np.ndarray:
        seen: dict[str, list[int]] = {}
        for m in messages:
            for word in set(prepare(m.text).split()):
                counts = seen.setdefault(word, [0, 0])
                counts[m.expected != "none"] += 1
        report_like = {w for w, (n, r) in seen.items() if n + r >= 3 and r >= 4 * n}
        return np.array(
            [
                factor
                if m.expected == "none" and report_like & set(prepare(m.text).split())
                else 1.0
                for m in messages
            ]
        )

    return weigh


def _lr(c: float = 32.0, class_weight: str | None = "balanced") -> Callable[[], object]:
    return lambda: LogisticRegression(C=c, class_weight=class_weight, max_iter=2000)


def _svc() -> object:
    return CalibratedClassifierCV(LinearSVC(C=0.5, class_weight="balanced"), cv=3)


def _nb() -> object:
    return ComplementNB(alpha=0.3)


LR = MemberSettings()  # the logistic regression on char_wb 2-5 and words 1-2
CHAR = replace(LR, char_analyzer="char")
SGD = replace(LR, classifier="modified_huber")
CHAR_SGD = replace(CHAR, classifier="modified_huber")


def voters(*members: MemberSettings, given_report: bool = False) -> ModelSettings:
    return ModelSettings(members=members, emergency_given_report=given_report)


VARIANTS: dict[str, Callable[[list[LabelledMessage]], Scorer]] = {
    "adopted": adopted(detector_settings().model),  # what data/triage/detector.yml says
    "lr": adopted(voters(LR)),  # the detector until round 15
    "char": adopted(voters(CHAR)),
    "char_wb 1-6": adopted(voters(replace(LR, char_ngrams=(1, 6)))),
    "char_wb 2-4": adopted(voters(replace(LR, char_ngrams=(2, 4)))),
    "words 1-3": adopted(voters(replace(LR, word_ngrams=(1, 3)))),
    "C=8": adopted(voters(replace(LR, c=8.0))),
    "C=128": adopted(voters(replace(LR, c=128.0))),
    "unweighted": generic(_lr(class_weight=None)),
    "emergency|report": adopted(voters(LR, given_report=True)),
    "char emergency|report": adopted(voters(CHAR, given_report=True)),
    "none weight 3": generic(_lr(), weights=report_like_none_weights(3.0)),
    "sgd modified_huber": adopted(voters(SGD)),
    "linearsvc calibrated": generic(_svc),
    "lr+complementnb": lambda messages: Average(
        [adopted(voters(LR))(messages), generic(_nb)(messages)]
    ),
    "sentence max": lambda messages: SentenceMax(adopted(voters(LR))(messages)),
    "ensemble lr+char": adopted(voters(LR, CHAR)),
    "ensemble lr+char+svc": lambda messages: Average(
        [adopted(voters(LR, CHAR))(messages), generic(_svc)(messages)]
    ),
    "ensemble lr+sgd": adopted(voters(LR, SGD)),
    "ensemble lr+sgd(1e-4)": adopted(voters(LR, replace(SGD, alpha=1e-4))),
    "ensemble lr+char+sgd": adopted(voters(LR, CHAR, SGD)),
    "ensemble lr+char+sgd+char sgd": adopted(voters(LR, CHAR, SGD, CHAR_SGD)),
    "ensemble C=128 lr+char+sgd": adopted(
        voters(replace(LR, c=128.0), replace(CHAR, c=128.0), SGD)
    ),
    "ensemble lr 1-6+char+sgd": adopted(voters(replace(LR, char_ngrams=(1, 6)), CHAR, SGD)),
    "ensemble lr+char+sgd+char 1-6 sgd": adopted(
        voters(LR, CHAR, SGD, replace(CHAR_SGD, char_ngrams=(1, 6)))
    ),
    "adopted, words min_df 2": adopted(
        voters(*(replace(m, words_min_df=2) for m in detector_settings().model.members))
    ),
    "adopted, word unigrams min_df 2": adopted(
        voters(
            *(
                replace(m, words_min_df=2, word_ngrams=(1, 1))
                for m in detector_settings().model.members
            )
        )
    ),
    "ensemble lr+char+sgd+svc": lambda messages: Average(
        [adopted(voters(LR, CHAR, SGD))(messages), generic(_svc)(messages)]
    ),
}


@dataclass
class Verdicts:
    """The rules' verdicts on every development message: at first contact (as tune_detector.py
    judges them) and today's (what the running bot does; a cry for help with no symptom the
    rules know keeps the detector out)."""

    items: list[Item]
    first_contact: list[str]
    today: list[str]
    cry: list[bool]


def compute_verdicts() -> Verdicts:
    items, first, today, cry = [], [], [], []
    for item, rules_dir in dev_items(Path(tempfile.mkdtemp())):
        items.append(item)
        first.append(triage_rules(item.text, rules_dir, history=item.history).severity or "none")
        now = triage_rules(item.text, history=item.history)
        today.append(now.severity or "none")
        cry.append(now.help_request)
    return Verdicts(items, first, today, cry)


def load_verdicts(path: Path | None) -> Verdicts:
    if path and path.exists():
        return Verdicts(**pickle.loads(path.read_bytes()))
    verdicts = compute_verdicts()
    if path:
        path.write_bytes(pickle.dumps(vars(verdicts)))
    return verdicts


@dataclass
class Result:
    name: str
    report_t: float
    emergency_t: float
    first_contact: dict[str, Figures]
    today: dict[str, Figures]
    cv_report_ap: float | None
    cv_emergency_ap: float | None
    train_seconds: float
    vote_ms: float
    size_mb: float


def cross_validate(
    build: Callable[[list[LabelledMessage]], Scorer], messages: list[LabelledMessage]
) -> tuple[float, float]:
    """Average precision of both questions, out of fold, 5 folds stratified by level."""
    report = np.zeros(len(messages))
    emergency = np.zeros(len(messages))
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    for train_idx, test_idx in folds.split(messages, [m.expected for m in messages]):
        scorer = build([messages[i] for i in train_idx])
        r, e = scorer.scores([prepare(messages[i].text) for i in test_idx])
        report[test_idx], emergency[test_idx] = r, e
    is_report, is_emergency = _labels(messages)
    return (
        float(average_precision_score(is_report, report)),
        float(average_precision_score(is_emergency, emergency)),
    )


def evaluate(
    name: str,
    build: Callable[[list[LabelledMessage]], Scorer],
    messages: list[LabelledMessage],
    verdicts: Verdicts,
    cv: bool,
) -> Result:
    start = time.perf_counter()
    scorer = build(messages)
    train_seconds = time.perf_counter() - start
    texts = [prepare(i.text) for i in verdicts.items]
    report, emergency = scorer.scores(texts)
    start = time.perf_counter()
    for text in texts[:200]:
        scorer.scores([text])
    vote_ms = (time.perf_counter() - start) / min(200, len(texts)) * 1000
    # The report and emergency questions only: the urgent one is left out (0.0, never lifting).
    first: list[Row] = [
        (i, r, float(p), float(e), 0.0)
        for i, r, p, e in zip(
            verdicts.items, verdicts.first_contact, report, emergency, strict=True
        )
    ]
    chosen = choose_thresholds(first)
    thresholds = Thresholds(chosen.report, chosen.emergency)
    # Today's rules; the detector is left out where the bot answers a cry for help instead.
    today: list[Row] = [
        (i, r, 0.0 if c else float(p), 0.0 if c else float(e), 0.0)
        for i, r, c, p, e in zip(
            verdicts.items, verdicts.today, verdicts.cry, report, emergency, strict=True
        )
    ]
    buffer = io.BytesIO()
    joblib.dump(scorer, buffer)
    ap = cross_validate(build, messages) if cv else (None, None)
    return Result(
        name=name,
        report_t=thresholds.report,
        emergency_t=thresholds.emergency,
        first_contact=figures_by_language(first, thresholds),
        today=figures_by_language(today, thresholds),
        cv_report_ap=ap[0],
        cv_emergency_ap=ap[1],
        train_seconds=train_seconds,
        vote_ms=vote_ms,
        size_mb=len(buffer.getvalue()) / 1e6,
    )


def _pct(hits: int, total: int) -> str:
    return f"{100 * hits / total:.1f}%" if total else "-"


def print_result(result: Result) -> None:
    f = result.first_contact["all"]
    t = result.today["all"]
    cv = (
        f"  cv AP report {result.cv_report_ap:.3f} emergency {result.cv_emergency_ap:.3f}"
        if result.cv_report_ap is not None
        else ""
    )
    print(
        f"{result.name}: thresholds report {result.report_t:.3f} emergency"
        f" {result.emergency_t:.3f}; train {result.train_seconds:.0f}s, vote"
        f" {result.vote_ms:.1f} ms, model {result.size_mb:.1f} MB{cv}"
    )
    print(
        f"  first-contact rules: emergency recall {f.emergencies_caught}/{f.emergencies},"
        f" any-severity {f.reports_caught}/{f.reports}, false escalations"
        f" {f.false_escalations}/{f.nones} {_pct(f.false_escalations, f.nones)}"
        f" (rules alone {f.false_escalations_by_rules})"
    )
    per_lang = ", ".join(
        f"{lang} {_pct(g.false_escalations, g.nones)}"
        for lang, g in result.today.items()
        if lang != "all"
    )
    print(
        f"  today's rules: emergency recall {t.emergencies_caught}/{t.emergencies},"
        f" any-severity {t.reports_caught}/{t.reports}, false escalations"
        f" {t.false_escalations}/{t.nones} {_pct(t.false_escalations, t.nones)}"
        f" (rules alone {t.false_escalations_by_rules}): {per_lang}",
        flush=True,
    )


def markdown(results: list[Result]) -> str:
    langs = [lang for lang in results[0].today if lang != "all"]
    head = (
        "| variant | thresholds (report, emergency) | emergency recall | any-severity recall |"
        " false esc. first-contact rules | false esc. today's rules | "
        + " | ".join(langs)
        + " | CV AP report, emergency | train, vote, size |"
    )
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        f, t = r.first_contact["all"], r.today["all"]
        cv = f"{r.cv_report_ap:.3f}, {r.cv_emergency_ap:.3f}" if r.cv_report_ap else "-"
        lines.append(
            f"| {r.name} | {r.report_t:.3f}, {r.emergency_t:.3f}"
            f" | {f.emergencies_caught}/{f.emergencies}"
            f" | {f.reports_caught}/{f.reports}"
            f" | {_pct(f.false_escalations, f.nones)}"
            f" | {_pct(t.false_escalations, t.nones)} | "
            + " | ".join(
                _pct(r.today[lang].false_escalations, r.today[lang].nones) for lang in langs
            )
            + f" | {cv} | {r.train_seconds:.0f} s, {r.vote_ms:.1f} ms, {r.size_mb:.1f} MB |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--cv", action="store_true", help="also 5-fold CV on the corpus")
    parser.add_argument("--verdicts", type=Path, help="cache of the rules' verdicts (pickle)")
    parser.add_argument("--markdown", action="store_true", help="end with a markdown table")
    parser.add_argument(
        "--settings",
        type=Path,
        default=SETTINGS_FILE,
        help="the detector settings whose corpus and NLU files to train on (default: %(default)s)",
    )
    args = parser.parse_args()
    messages = training_messages(detector_settings(args.settings))
    verdicts = load_verdicts(args.verdicts)
    print(f"{len(messages)} training messages, {len(verdicts.items)} development messages")
    results = []
    for name in args.variants:
        results.append(evaluate(name, VARIANTS[name], messages, verdicts, args.cv))
        print_result(results[-1])
    if args.markdown:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
