"""Building the triage pipeline and the `triage(text)` entry point.

The pipeline is a blank English spaCy model with the meso_* components and spaCy's rule-based
sentencizer; every component reads its own data file from the triage data folder.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import spacy
from spacy.language import Language

from bot.paths import TRIAGE_DIR
from bot.triage.result import TriageResult

# Importing the modules registers their factories with spaCy.
from . import context, modifiers, normaliser, severity, status, symptom_matcher  # noqa: F401
from .extensions import DOC_TRIAGE

# Longer input is cut here: a chat message is far shorter, and the cut bounds the time per call.
MAX_CHARS = 20_000
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
    }
    paths = {key: str(path) for key, path in files.items()}
    nlp = spacy.blank("en")
    nlp.add_pipe("meso_normaliser", config=_pick(paths, "spelling", "symptoms", "modifiers"))
    nlp.add_pipe("sentencizer")
    nlp.add_pipe("meso_symptom_matcher", config=_pick(paths, "symptoms"))
    nlp.add_pipe("meso_context", config=_pick(paths, "context"))
    nlp.add_pipe("meso_mention_status", config=_pick(paths, "statuses"))
    nlp.add_pipe("meso_modifiers", config=_pick(paths, "modifiers"))
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


def triage(text: object, data_dir: Path = TRIAGE_DIR) -> TriageResult:
    """Find the symptom mentions in `text`, decide their status and grade the message."""
    cleaned = clean_text(text)
    if not cleaned.strip():
        return TriageResult(severity=None)
    nlp = pipeline(Path(data_dir))
    if len(cleaned) <= PASSAGE_CHARS:
        return nlp(cleaned)._.get(DOC_TRIAGE)
    mentions = tuple(
        replace(m, start=m.start + offset, end=m.end + offset)
        for offset, passage in passages(cleaned)
        for m in nlp(passage)._.get(DOC_TRIAGE).mentions
    )
    return nlp.get_pipe("meso_severity").grade(mentions)
