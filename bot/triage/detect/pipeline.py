"""Building the triage pipeline and the `triage(text, history)` entry point.

The pipeline is a blank English spaCy model with the meso_* components and spaCy's rule-based
sentencizer; every component reads its own data file from the triage data folder, plus the
per-language files of data/triage/languages/. `triage` combines it with the statistical detector
(bot.triage.statistical): a message either flags is escalated, at the higher of the two levels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from bot.language import identify
from bot.paths import TRIAGE_DIR
from bot.triage.help_cry import help_cries
from bot.triage.result import SEVERITY_ORDER, TriageResult
from bot.triage.statistical import StatisticalDetector, combine, load_detector

# Importing the modules registers their factories with spaCy.
from . import context, modifiers, normaliser, severity, status, symptom_matcher  # noqa: F401
from .extensions import DOC_TRIAGE, context_modifiers

# Longer input is cut here: a chat message is far shorter, and the cut bounds the time per call.
MAX_CHARS = 20_000
# How many earlier patient messages, and how much of each, a message is read together with.
CONTEXT_TURNS = 3
CONTEXT_CHARS = 300
PRESENT_CATEGORY = "OTHER_PRESENT"  # context_rules.yml: the other person is with the patient now
# ConText compares every cue with every cue and mention of a Doc, so long text is graded in
# passages of about this many characters, cut after a sentence end (or at a space).
PASSAGE_CHARS = 600
_SENTENCE_END = re.compile(r"[.!?\n]\s+")


def build_pipeline(data_dir: Path = TRIAGE_DIR) -> Language:
    """A new triage pipeline reading its rules and word lists from `data_dir`."""
    files = {
        "spelling_path": data_dir / "spelling.yml",
        "symptoms_path": data_dir / "symptoms.yml",
        "modifiers_path": data_dir / "modifiers.yml",
        "context_path": data_dir / "context_rules.yml",
        "statuses_path": data_dir / "statuses.yml",
        "rules_path": data_dir / "rules.yml",
        "languages_path": data_dir / "languages",
    }
    paths = {key: str(path) for key, path in files.items()}
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "meso_normaliser", config=_pick(paths, "spelling", "symptoms", "modifiers", "languages")
    )
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("meso_symptom_matcher", config=_pick(paths, "symptoms", "languages"))
    nlp.add_pipe("meso_context", config=_pick(paths, "context", "languages"))
    nlp.add_pipe("meso_mention_status", config=_pick(paths, "statuses"))
    nlp.add_pipe("meso_modifiers", config=_pick(paths, "modifiers", "languages"))
    nlp.add_pipe("meso_severity", config=_pick(paths, "rules", "symptoms", "modifiers"))
    return nlp


def _pick(paths: dict[str, str], *names: str) -> dict[str, str]:
    return {f"{name}_path": paths[f"{name}_path"] for name in names}


@lru_cache(maxsize=4)
def pipeline(data_dir: Path = TRIAGE_DIR) -> Language:
    """The shared, cached pipeline for `data_dir`."""
    return build_pipeline(data_dir)


def clean_text(text: object) -> str:
    """Any input as bounded, valid text: bytes are decoded, lone surrogates and NULs dropped."""
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray):
        text = bytes(text).decode("utf-8", errors="replace")
    text = str(text)[:MAX_CHARS]
    return text.encode("utf-8", errors="ignore").decode("utf-8").replace("\x00", " ")


def passages(text: str, size: int = PASSAGE_CHARS) -> list[tuple[int, str]]:
    """`text` cut into (offset, passage) pieces of at most about `size` characters."""
    pieces: list[tuple[int, str]] = []
    start = 0
    while len(text) - start > size:
        window = text[start : start + size]
        ends = [m.end() for m in _SENTENCE_END.finditer(window)]
        cut = ends[-1] if ends else window.rfind(" ") + 1 or size
        pieces.append((start, text[start : start + cut]))
        start += cut
    pieces.append((start, text[start:]))
    return pieces


def _grade_alone(nlp: Language, text: str) -> TriageResult:
    if len(text) <= PASSAGE_CHARS:
        return nlp(text)._.get(DOC_TRIAGE)
    mentions = tuple(
        replace(m, start=m.start + offset, end=m.end + offset)
        for offset, passage in passages(text)
        for m in nlp(passage)._.get(DOC_TRIAGE).mentions
    )
    return nlp.get_pipe("meso_severity").grade(mentions)


def grade_rules(nlp: Language, text: str, history: Sequence[str] = ()) -> TriageResult:
    """The rules' decision on `text`, read together with the last few earlier messages.

    Earlier messages lend their context (when the treatment was, who is affected, modifiers such
    as "it is spreading now") but never escalate on their own: the message escalates for its own
    mentions, or when it raises the level that the earlier messages already had ("it's hot and
    spreading now" after "my cheek is red"). Offsets of the result refer to `text`.
    """
    earlier = [clean_text(h)[-CONTEXT_CHARS:] for h in history[-CONTEXT_TURNS:] if h]
    if not earlier or len(text) > PASSAGE_CHARS:
        return _grade_alone(nlp, text)
    prefix = "".join(f"{h} .\n" for h in earlier)
    grader = nlp.get_pipe("meso_severity")
    doc = nlp(prefix + text)
    whole: TriageResult = doc._.get(DOC_TRIAGE)
    present = _someone_present_before(doc, len(prefix))
    own = tuple(
        replace(
            m,
            start=m.start - len(prefix),
            end=m.end - len(prefix),
            status="other_present" if present and m.status == "other_absent" else m.status,
        )
        for m in whole.mentions
        if m.end > len(prefix)
    )
    before: TriageResult = nlp(prefix)._.get(DOC_TRIAGE)
    result = grader.grade(own)
    raised = _rank(whole.severity) > max(_rank(before.severity), _rank(result.severity))
    if raised or (_rank(whole.severity) > _rank(result.severity) and _progressed(before, whole)):
        return TriageResult(severity=whole.severity, mentions=own, rules=whole.rules)
    return result


def _progressed(before: TriageResult, whole: TriageResult) -> bool:
    """Whether the new message adds a modifier ("getting bigger", "now spreading") to a symptom
    the earlier messages reported: a report that the symptom is progressing."""
    earlier = {(m.start, m.concept): set(m.modifiers) for m in before.mentions if m.escalates}
    return any(
        set(m.modifiers) - earlier[(m.start, m.concept)]
        for m in whole.mentions
        if m.escalates and (m.start, m.concept) in earlier
    )


def _someone_present_before(doc: Doc, end_char: int) -> bool:
    """Whether an earlier message said someone is with the patient now ("my wife is with me")."""
    return any(
        modifier.category == PRESENT_CATEGORY and doc[modifier.modifier_span[0]].idx < end_char
        for modifier in context_modifiers(doc)
    )


def _rank(level: str | None) -> int:
    return SEVERITY_ORDER.get(level or "", 0)


_DEFAULT = object()


def triage(
    text: object,
    data_dir: Path = TRIAGE_DIR,
    history: Sequence[str] = (),
    detector: StatisticalDetector | None | object = _DEFAULT,
) -> TriageResult:
    """Grade `text` (with the conversation's earlier patient messages, oldest first) by the rules
    and by the statistical detector; escalate when either flags it, at the higher level."""
    cleaned = clean_text(text)
    if not cleaned.strip():
        return TriageResult(severity=None)
    language = identify(cleaned)
    rules = grade_rules(pipeline(Path(data_dir)), cleaned, history)
    model = load_detector() if detector is _DEFAULT else detector
    vote = model.vote(cleaned) if isinstance(model, StatisticalDetector) else None
    # A cry for help that names no symptom the rules know gets the emergency number and the
    # question "are you unwell now?" (help_request), not a guess from the detector.
    cry = rules.severity is None and help_cries().is_cry(cleaned)
    level, lifted = combine(rules.severity, None if cry else vote)
    caught_by = tuple(
        name
        for name, found in (
            ("rules", rules.severity),
            ("statistical", level and vote and (vote.severity or lifted)),
        )
        if found
    )
    return replace(
        rules,
        severity=level,
        caught_by=caught_by,
        detector=vote.as_dict() if vote else None,
        language=language.code,
        reply_language=language.reply,
        help_request=cry,
    )


def triage_rules(
    text: object, data_dir: Path = TRIAGE_DIR, history: Sequence[str] = ()
) -> TriageResult:
    """`triage` by the rules alone (the statistical detector left out)."""
    return triage(text, data_dir, history=history, detector=None)
