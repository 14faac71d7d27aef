"""Classify a raw message as usable, or as one of the reasons the assistant cannot read it."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from bot.datafiles import load_checked
from bot.paths import DATA_DIR

IntakeVerdict = Literal["ok", "empty", "unreadable", "other_language", "too_long"]
MAX_QUESTION_CHARS = 2000
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


@dataclass(frozen=True)
class LanguageMarkers:
    min_hits: int
    english: frozenset[str]
    other: dict[str, frozenset[str]]

    @classmethod
    def from_file(cls, path: Path) -> LanguageMarkers:
        data = load_checked(path, "languages")
        return cls(
            min_hits=data["min_hits"],
            english=frozenset(w.lower() for w in data["english"]),
            other={k: frozenset(w.lower() for w in v) for k, v in data["other"].items()},
        )


@cache
def language_markers(path: Path = DATA_DIR / "intake" / "languages.yml") -> LanguageMarkers:
    return LanguageMarkers.from_file(path)


def _latin_share(letters: list[str]) -> float:
    latin = sum(1 for ch in letters if ch.isascii() or "LATIN" in unicodedata.name(ch, ""))
    return latin / len(letters)


def _looks_foreign(words: list[str], markers: LanguageMarkers) -> bool:
    lowered = [w.lower() for w in words]
    english_hits = sum(w in markers.english for w in lowered)
    for vocabulary in markers.other.values():
        hits = sum(w in vocabulary for w in lowered)
        if hits >= markers.min_hits and hits > english_hits:
            return True
    return False


def check_message(text: str | None, markers: LanguageMarkers | None = None) -> IntakeVerdict:
    """'ok' for a message worth classifying; otherwise why the assistant cannot use it.

    A long message is 'too_long' only as a question: symptom triage still reads all of it.
    """
    if text is None or not text.strip():
        return "empty"
    letters = [ch for ch in text if ch.isalpha()]
    words = _WORD.findall(text)
    if not words or len(letters) < 2:
        return "unreadable"
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t\r")
    if printable / len(text) < 0.9:
        return "unreadable"
    if _latin_share(letters) < 0.5 or _looks_foreign(words, markers or language_markers()):
        return "other_language"
    if len(text) > MAX_QUESTION_CHARS:
        return "too_long"
    return "ok"
