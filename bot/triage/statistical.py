"""The second, independent symptom-report detector: character n-grams and logistic regression.

It shares nothing with the rules but the text: no word list, no spaCy. Trained on the labelled
corpus of data/triage/corpus/ (every supported language) plus the FAQ examples of the Rasa
training data as ordinary questions; settings and thresholds in data/triage/detector.yml.

    detector = load_detector()          # models/triage_detector.joblib, built by `make`
    detector.vote("mere hoth sooj gaye")  # DetectorVote(report=0.93, emergency=0.71, ...)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from bot.datafiles import DataFileError, load_checked, read_nlu_examples
from bot.language import normalise_text
from bot.paths import TRIAGE_DETECTOR_MODEL, TRIAGE_DIR
from bot.triage.result import Severity

logger = logging.getLogger(__name__)

SETTINGS_FILE = TRIAGE_DIR / "detector.yml"


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    expected: str  # emergency | urgent | routine | none
    lang: str


@dataclass(frozen=True)
class DetectorVote:
    """Probabilities of "reports a current symptom" and "may be an emergency", and the level
    they imply (None: the detector does not escalate)."""

    report: float
    emergency: float
    severity: Severity | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": round(self.report, 4),
            "emergency": round(self.emergency, 4),
            "severity": self.severity,
        }


@dataclass(frozen=True)
class ModelSettings:
    """How the models are built (detector.yml `model`; scripts/compare_detectors.py compares
    the choices on the development sets)."""

    char_analyzer: str = "char_wb"  # char_wb: n-grams inside words; char: across word boundaries
    char_ngrams: tuple[int, int] = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)
    c: float = 32.0  # inverse regularisation strength of both logistic regressions
    # True: emergency = P(report) x P(emergency | report), the second learnt on reports only, so
    # it does not have to tell an emergency from a mere mention of one by itself.
    emergency_given_report: bool = False

    @classmethod
    def from_yaml(cls, data: dict[str, Any] | None) -> ModelSettings:
        data = dict(data or {})
        for key in ("char_ngrams", "word_ngrams"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass(frozen=True)
class DetectorSettings:
    corpus_dir: Path
    nlu_negatives: tuple[Path, ...]  # Rasa NLU files whose examples are ordinary questions
    excluded_intents: frozenset[str]
    report_threshold: float
    emergency_threshold: float
    model: ModelSettings = ModelSettings()


def detector_settings(path: Path = SETTINGS_FILE) -> DetectorSettings:
    data = load_checked(path, "triage_detector")
    nlu = data.get("nlu_negatives")
    return DetectorSettings(
        corpus_dir=(path.parent / data["corpus"]).resolve(),
        nlu_negatives=_nlu_files(path.parent, nlu) if nlu else (),
        excluded_intents=frozenset(data.get("nlu_negative_intents_exclude") or ()),
        report_threshold=data["thresholds"]["report"],
        emergency_threshold=data["thresholds"]["emergency"],
        model=ModelSettings.from_yaml(data.get("model")),
    )


def _nlu_files(base: Path, pattern: str) -> tuple[Path, ...]:
    """The NLU files `pattern` (relative to `base`, may use * as in "../nlu*.yml") names."""
    where = (base / pattern).parent.resolve()
    return tuple(sorted(where.glob(Path(pattern).name)))


def _nlu_language(path: Path) -> str:
    """nlu.yml holds English; nlu.<lang>.yml that language."""
    parts = path.name.split(".")
    return parts[1] if len(parts) == 3 else "en"


def read_corpus(corpus_dir: Path) -> list[LabelledMessage]:
    """Every labelled message of the corpus folder, each file checked against its schema."""
    files = sorted(corpus_dir.glob("*.yml"))
    if not files:
        raise DataFileError(corpus_dir, "no corpus files (*.yml)")
    return [
        LabelledMessage(m["text"], m["expected"], m["lang"])
        for path in files
        for m in load_checked(path, "triage_corpus")["messages"]
    ]


def read_nlu_negatives(path: Path, excluded: frozenset[str]) -> list[LabelledMessage]:
    """The examples of the Rasa NLU file's intents (ordinary questions), labelled none."""
    return [
        LabelledMessage(text, "none", _nlu_language(path))
        for intent, text in read_nlu_examples(path)
        if intent not in excluded
    ]


def training_messages(settings: DetectorSettings) -> list[LabelledMessage]:
    messages = read_corpus(settings.corpus_dir)
    for path in settings.nlu_negatives:
        messages += read_nlu_negatives(path, settings.excluded_intents)
    return messages


def prepare(text: str) -> str:
    """The detector's view of a message: normalised script, lower case, bounded length."""
    return normalise_text(text[:4000]).lower()


def features(model: ModelSettings) -> FeatureUnion:
    """Character n-grams and words of the prepared text, TF-IDF weighted."""
    return FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer=model.char_analyzer,
                    ngram_range=model.char_ngrams,
                    min_df=2,
                    sublinear_tf=True,
                    max_features=200_000,
                ),
            ),
            ("words", TfidfVectorizer(ngram_range=model.word_ngrams, min_df=1, sublinear_tf=True)),
        ]
    )


def classifier(model: ModelSettings) -> LogisticRegression:
    return LogisticRegression(C=model.c, class_weight="balanced", max_iter=2000)


@dataclass
class TrainedModels:
    """One set of features, computed once per message, and the two classifiers that read it."""

    features: FeatureUnion
    report: LogisticRegression
    emergency: LogisticRegression
    emergency_given_report: bool = False  # emergency's probability is conditional on a report

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """P(report) and P(emergency) of each text (already `prepare`d)."""
        matrix = self.features.transform(texts)
        report = self.report.predict_proba(matrix)[:, 1]
        emergency = self.emergency.predict_proba(matrix)[:, 1]
        return report, report * emergency if self.emergency_given_report else emergency


def train(messages: list[LabelledMessage], model: ModelSettings = ModelSettings()) -> TrainedModels:
    """Fit the features and both classifiers on `messages`."""
    union = features(model)
    matrix = union.fit_transform([prepare(m.text) for m in messages])
    is_report = np.array([m.expected != "none" for m in messages])
    is_emergency = np.array([m.expected == "emergency" for m in messages])
    report = classifier(model).fit(matrix, is_report)
    if model.emergency_given_report:
        emergency = classifier(model).fit(matrix[is_report], is_emergency[is_report])
    else:
        emergency = classifier(model).fit(matrix, is_emergency)
    return TrainedModels(union, report, emergency, model.emergency_given_report)


class StatisticalDetector:
    """Votes on one message with the trained models and the thresholds of detector.yml."""

    def __init__(self, models: TrainedModels, settings: DetectorSettings) -> None:
        self.models = models
        self.settings = settings

    def probabilities(self, text: str) -> tuple[float, float]:
        report, emergency = self.models.scores([prepare(text)])
        return float(report[0]), float(emergency[0])

    def vote(self, text: str) -> DetectorVote:
        report, emergency = self.probabilities(text)
        severity: Severity | None = None
        if emergency >= self.settings.emergency_threshold:
            severity = "emergency"
        elif report >= self.settings.report_threshold:
            severity = "routine"
        return DetectorVote(report=report, emergency=emergency, severity=severity)


def build_model(
    model_path: Path = TRIAGE_DETECTOR_MODEL, settings_path: Path = SETTINGS_FILE
) -> int:
    """Train on the corpus and save the models; returns the number of training messages."""
    settings = detector_settings(settings_path)
    messages = training_messages(settings)
    models = train(messages, settings.model)
    model_path.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(models, model_path)
    return len(messages)


@cache
def load_detector(
    model_path: Path = TRIAGE_DETECTOR_MODEL, settings_path: Path = SETTINGS_FILE
) -> StatisticalDetector | None:
    """The trained detector, or None (logged) when its model has not been built: the rules then
    decide alone. `make run` and `make test` build it when it is missing."""
    settings = detector_settings(settings_path)
    if not model_path.exists():
        logger.error("statistical triage detector missing (%s): run `make detector`", model_path)
        return None
    return StatisticalDetector(joblib.load(model_path), settings)
