"""The second, independent symptom-report detector: character n-grams and logistic regression.

It shares nothing with the rules but the text: no word list, no spaCy. Trained on the labelled
corpus of data/triage/corpus/ (every supported language) plus the FAQ examples of the Rasa
training data as ordinary questions; settings and thresholds in data/triage/detector.yml.

    detector = load_detector()          # models/triage_detector.joblib, built by `make`
    detector.vote("mere hoth sooj gaye")  # DetectorVote(report=0.93, emergency=0.71, ...)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from scipy import sparse
from scipy.special import expit
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import normalize

from bot.datafiles import DataFileError, load_checked, read_nlu_examples
from bot.language import normalise_text
from bot.paths import TRIAGE_DETECTOR_MODEL, TRIAGE_DIR
from bot.triage.result import Severity, higher

logger = logging.getLogger(__name__)

SETTINGS_FILE = TRIAGE_DIR / "detector.yml"


@dataclass(frozen=True)
class LabelledMessage:
    text: str
    expected: str  # emergency | urgent | routine | none
    lang: str


@dataclass(frozen=True)
class DetectorVote:
    """Probabilities of "reports a current symptom", "may be an emergency" and "urgent or
    worse", and the level they imply (None: the detector does not escalate). `urgent_likely`:
    a report found by either detector is urgent rather than routine."""

    report: float
    emergency: float
    severity: Severity | None
    urgent: float = 0.0
    urgent_likely: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "report": round(self.report, 4),
            "emergency": round(self.emergency, 4),
            "urgent": round(self.urgent, 4),
            "severity": self.severity,
        }


@dataclass(frozen=True)
class MemberSettings:
    """One voter of the detector: its features and its kind of linear classifier."""

    char_analyzer: str = "char_wb"  # char_wb: n-grams inside words; char: across word boundaries
    char_ngrams: tuple[int, int] = (2, 5)
    word_ngrams: tuple[int, int] = (1, 2)
    words_min_df: int = 1  # words and word n-grams of fewer training messages are left out
    classifier: str = "logistic"  # logistic (regression) | modified_huber (SGD, a linear SVM
    # with probabilities that reach 0 and 1: a sharper voter)
    c: float = 32.0  # logistic: inverse regularisation strength
    alpha: float = 2e-5  # modified_huber: regularisation strength

    @classmethod
    def from_yaml(cls, data: dict[str, Any]) -> MemberSettings:
        data = dict(data)
        for key in ("char_ngrams", "word_ngrams"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)

    @property
    def feature_key(self) -> tuple[str, tuple[int, int], tuple[int, int], int]:
        return (self.char_analyzer, self.char_ngrams, self.word_ngrams, self.words_min_df)


@dataclass(frozen=True)
class ModelSettings:
    """How the models are built (detector.yml `model`; scripts/compare_detectors.py compares
    the choices on the development sets): the voters, whose probabilities are averaged."""

    members: tuple[MemberSettings, ...] = (MemberSettings(),)
    # True: emergency = P(report) x P(emergency | report), the second learnt on reports only, so
    # it does not have to tell an emergency from a mere mention of one by itself.
    emergency_given_report: bool = False

    @classmethod
    def from_yaml(cls, data: dict[str, Any] | None) -> ModelSettings:
        data = dict(data or {})
        if "members" in data:
            data["members"] = tuple(MemberSettings.from_yaml(m) for m in data["members"])
        return cls(**data)


@dataclass(frozen=True)
class Thresholds:
    """Where the detector's three probabilities become a vote (detector.yml `thresholds`)."""

    report: float
    emergency: float
    urgent: float = 1.0  # 1.0: never "urgent or worse"


@dataclass(frozen=True)
class DetectorSettings:
    corpus_dir: Path
    nlu_negatives: tuple[Path, ...]  # Rasa NLU files whose examples are ordinary questions
    excluded_intents: frozenset[str]
    thresholds: Thresholds
    model: ModelSettings = ModelSettings()


def detector_settings(path: Path = SETTINGS_FILE) -> DetectorSettings:
    data = load_checked(path, "triage_detector")
    nlu = data.get("nlu_negatives")
    return DetectorSettings(
        corpus_dir=(path.parent / data["corpus"]).resolve(),
        nlu_negatives=_nlu_files(path.parent, nlu) if nlu else (),
        excluded_intents=frozenset(data.get("nlu_negative_intents_exclude") or ()),
        thresholds=Thresholds(**data["thresholds"]),
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


def features(member: MemberSettings) -> FeatureUnion:
    """Character n-grams and words of the prepared text, TF-IDF weighted."""
    return FeatureUnion(
        [
            (
                "chars",
                TfidfVectorizer(
                    analyzer=member.char_analyzer,
                    ngram_range=member.char_ngrams,
                    min_df=2,
                    sublinear_tf=True,
                    max_features=200_000,
                ),
            ),
            (
                "words",
                TfidfVectorizer(
                    ngram_range=member.word_ngrams, min_df=member.words_min_df, sublinear_tf=True
                ),
            ),
        ]
    )


def classifier(member: MemberSettings) -> LogisticRegression | SGDClassifier:
    if member.classifier == "modified_huber":
        return SGDClassifier(
            loss="modified_huber",
            alpha=member.alpha,
            class_weight="balanced",
            max_iter=50,
            random_state=0,
        )
    return LogisticRegression(C=member.c, class_weight="balanced", max_iter=2000)


@dataclass
class TrainedModels:
    """The feature sets (each computed once per message) and the voters that read them: for
    each voter, the index of its feature set and its report and emergency classifiers, and
    (`urgent_voters`) the same feature set's classifier of "urgent or emergency"."""

    features: list[FeatureUnion]
    voters: list[tuple[int, Any, Any]]
    emergency_given_report: bool = False  # emergency's probability is conditional on a report
    urgent_voters: list[tuple[int, Any]] = field(default_factory=list)

    def scores(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """P(report) and P(emergency) of each text (already `prepare`d), the voters' mean."""
        report, emergency, _ = self.all_scores(texts, urgent=False)
        return report, emergency

    def all_scores(
        self, texts: list[str], urgent: bool = True
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """P(report), P(emergency) and P(urgent or emergency) of each text, the voters' means
        (zeros for the last without urgent voters, or with `urgent` False)."""
        matrices = _transform_each_once(self.features, texts)
        probability: dict[int, np.ndarray] = {}  # id(classifier) -> P(True) of each text
        for index, stack in enumerate(self._stacks()):
            probability.update(stack.probabilities(matrices[index]))
        report = np.mean([probability[id(r)] for _, r, _ in self.voters], axis=0)
        emergency = np.mean([probability[id(e)] for _, _, e in self.voters], axis=0)
        if self.emergency_given_report:
            emergency = report * emergency
        worse = np.zeros(len(texts))
        if urgent and self.urgent_voters:
            worse = np.mean([probability[id(u)] for _, u in self.urgent_voters], axis=0)
        return report, emergency, worse

    def _stacks(self) -> list[StackedClassifiers]:
        """For each feature set, the classifiers that read it (built once, never pickled)."""
        stacks = self.__dict__.get("_stacked")
        if stacks is None:
            readers: list[list[Any]] = [[] for _ in self.features]
            for index, report, emergency in self.voters:
                readers[index] += [report, emergency]
            for index, urgent in self.urgent_voters:
                readers[index].append(urgent)
            stacks = [StackedClassifiers(classifiers) for classifiers in readers]
            self.__dict__["_stacked"] = stacks
        return stacks

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_stacked"}


class StackedClassifiers:
    """Binary linear classifiers that read the same features, as one weight matrix: a batch's
    decision values in one product, then each classifier's own link (the logistic function, or
    modified Huber's clipped line), which is what `predict_proba(X)[:, 1]` computes, without
    sklearn's checks on every call (most of the time of one message)."""

    def __init__(self, classifiers: list[Any]) -> None:
        for fitted in classifiers:
            if list(fitted.classes_) != [False, True]:
                raise ValueError(f"not a binary classifier of False/True: {fitted!r}")
        self.ids = [id(fitted) for fitted in classifiers]
        self.huber = np.array(
            [getattr(fitted, "loss", None) == "modified_huber" for fitted in classifiers]
        )
        self.weights = (
            np.hstack([fitted.coef_.T for fitted in classifiers]) if classifiers else None
        )
        self.intercepts = np.array([fitted.intercept_[0] for fitted in classifiers])

    def probabilities(self, matrix: sparse.csr_matrix) -> dict[int, np.ndarray]:
        """id(classifier) -> P(True) for each row of `matrix`."""
        if self.weights is None:
            return {}
        decisions = np.asarray(matrix @ self.weights) + self.intercepts
        linear = (np.clip(decisions, -1, 1) + 1) / 2
        logistic = expit(decisions)
        chosen = np.where(self.huber, linear, logistic)
        return {key: chosen[:, column] for column, key in enumerate(self.ids)}


def _tfidf(vectorizer: TfidfVectorizer, texts: list[str]) -> sparse.csr_matrix:
    """`vectorizer.transform(texts)`, the same arithmetic in the same order, without the
    per-call fitted check that rebuilds the whole IDF vector."""
    counts = CountVectorizer.transform(vectorizer, texts)
    weighted = counts.astype(np.float64)
    if vectorizer.sublinear_tf:
        np.log(weighted.data, weighted.data)
        weighted.data += 1
    if vectorizer.use_idf:
        weighted = weighted * vectorizer._tfidf._idf_diag
    return normalize(weighted, norm=vectorizer.norm, copy=False) if vectorizer.norm else weighted


def _transform_each_once(unions: list[FeatureUnion], texts: list[str]) -> list[sparse.csr_matrix]:
    """What `union.transform(texts)` gives for each union, with a vectorizer that several unions
    share (see `_compact`) run once instead of once per union."""
    outputs: dict[int, sparse.spmatrix] = {}
    for union in unions:
        for _, vectorizer in union.transformer_list:
            if id(vectorizer) not in outputs:
                outputs[id(vectorizer)] = _tfidf(vectorizer, texts)
    return [
        sparse.hstack([outputs[id(v)] for _, v in union.transformer_list]).tocsr()
        for union in unions
    ]


def train(messages: list[LabelledMessage], model: ModelSettings = ModelSettings()) -> TrainedModels:
    """Fit the feature sets and every voter's two classifiers on `messages`."""
    texts = [prepare(m.text) for m in messages]
    is_report = np.array([m.expected != "none" for m in messages])
    is_emergency = np.array([m.expected == "emergency" for m in messages])
    is_urgent = np.array([m.expected in ("urgent", "emergency") for m in messages])
    # emergency given report: learnt on the reports only
    subset = is_report if model.emergency_given_report else np.ones(len(messages), bool)
    unions: list[FeatureUnion] = []
    matrices: dict[tuple, tuple[int, Any]] = {}
    voters = []
    urgent_voters = []
    for member in model.members:
        if member.feature_key not in matrices:
            unions.append(features(member))
            matrices[member.feature_key] = (len(unions) - 1, unions[-1].fit_transform(texts))
        index, matrix = matrices[member.feature_key]
        report = classifier(member).fit(matrix, is_report)
        emergency = classifier(member).fit(matrix[subset], is_emergency[subset])
        voters.append((index, report, emergency))
        urgent_voters.append((index, classifier(member).fit(matrix, is_urgent)))
    _compact(unions)
    trained = TrainedModels(unions, voters, model.emergency_given_report, urgent_voters)
    _single_precision(trained)
    return trained


def _single_precision(models: TrainedModels) -> None:
    """Hold every classifier's weights as float32 (half the memory; a message's features stay
    float64, so its probabilities move by about 1e-7, far inside the thresholds' margin)."""
    classifiers = [c for _, r, e in models.voters for c in (r, e)]
    classifiers += [u for _, u in models.urgent_voters]
    for fitted in classifiers:
        fitted.coef_ = fitted.coef_.astype(np.float32)


def _compact(unions: list[FeatureUnion]) -> None:
    """Leave the fitted features' outputs as they are but hold them in less memory (the model is
    loaded in the Rasa server; 132 MB resident before, 58 MB after): drop each vectorizer's
    `stop_words_` (the n-grams that min_df/max_features cut, kept by sklearn for introspection
    only), give its vocabulary plain ints instead of numpy scalar objects, and let feature sets
    share one fitted vectorizer where two were fitted with the same settings on the same texts,
    and the vocabularies one string per distinct n-gram (the two character analyzers share most)."""
    fitted: dict[str, TfidfVectorizer] = {}
    terms: dict[str, str] = {}  # one object per distinct n-gram; pickle keeps the sharing
    for union in unions:
        for position, (name, vectorizer) in enumerate(union.transformer_list):
            vectorizer.stop_words_ = None
            vectorizer.vocabulary_ = {
                terms.setdefault(term, term): int(i) for term, i in vectorizer.vocabulary_.items()
            }
            key = repr(sorted(vectorizer.get_params().items()))
            union.transformer_list[position] = (name, fitted.setdefault(key, vectorizer))


def _share_indices(models: TrainedModels) -> TrainedModels:
    """Let the vocabularies share one int object per index (unpickling gives each entry its
    own): the same lookups in about 4 MB less."""
    vocabularies = [v.vocabulary_ for u in models.features for _, v in u.transformer_list]
    shared = list(range(max((len(v) for v in vocabularies), default=0)))
    for union in models.features:
        for _, vectorizer in union.transformer_list:
            vocabulary = vectorizer.vocabulary_
            vectorizer.vocabulary_ = dict(
                zip(vocabulary, map(shared.__getitem__, vocabulary.values()), strict=True)
            )
    return models


class StatisticalDetector:
    """Votes on one message with the trained models and the thresholds of detector.yml."""

    def __init__(self, models: TrainedModels, settings: DetectorSettings) -> None:
        self.models = models
        self.settings = settings

    def probabilities(self, text: str) -> tuple[float, float, float]:
        """P(report), P(emergency) and P(urgent or emergency) of `text`."""
        report, emergency, urgent = self.models.all_scores([prepare(text)])
        return float(report[0]), float(emergency[0]), float(urgent[0])

    def vote(self, text: str) -> DetectorVote:
        return verdict(*self.probabilities(text), self.settings.thresholds)


def verdict(report: float, emergency: float, urgent: float, thresholds: Thresholds) -> DetectorVote:
    """The detector's vote for these probabilities at these thresholds."""
    urgent_likely = urgent >= thresholds.urgent
    severity: Severity | None = None
    if emergency >= thresholds.emergency:
        severity = "emergency"
    elif report >= thresholds.report:
        severity = "urgent" if urgent_likely else "routine"
    return DetectorVote(report, emergency, severity, urgent, urgent_likely)


def combine(rules: Severity | None, vote: DetectorVote | None) -> tuple[Severity | None, bool]:
    """The level of a message the rules grade `rules` and the detector votes `vote` on (None:
    not asked), and whether the detector's "urgent or worse" lifted it: the higher of the two
    levels, and a report at routine is urgent when the detector finds that likely (the rules
    grade by the words they know for "spreading", "worse", "pus", which misses more than the
    words for the symptom itself)."""
    level = higher(rules, vote.severity if vote else None)
    lifted = level == "routine" and vote is not None and vote.urgent_likely
    return ("urgent" if lifted else level), lifted


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
    """The trained detector, or None (logged) when its model has not been built or was built by
    older code: the rules then decide alone. `make run` and `make test` build it when it is
    missing or its inputs changed."""
    settings = detector_settings(settings_path)
    if not model_path.exists():
        logger.error("statistical triage detector missing (%s): run `make detector`", model_path)
        return None
    models = joblib.load(model_path)
    # A model pickled before the urgent question lacks its voters; voting with it would fail
    # on every message.
    if not isinstance(models, TrainedModels) or not hasattr(models, "urgent_voters"):
        logger.error(
            "statistical triage detector out of date (%s): run `make detector`", model_path
        )
        return None
    return StatisticalDetector(_share_indices(models), settings)
