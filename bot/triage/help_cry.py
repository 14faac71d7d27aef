"""Cries for help that name no symptom: "help", "ambulance", "بموت", an SOS emoji.

The phrase lists and word limits are data (data/triage/help_cries.yml). A cry gets the emergency
number and a question whether someone is unwell now; it does not make a ticket by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.datafiles import load_checked
from bot.language import normalise_text
from bot.paths import TRIAGE_DIR

HELP_CRIES_FILE = TRIAGE_DIR / "help_cries.yml"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(normalise_text(text).lower()))


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    return any(words[i : i + n] == phrase for i in range(len(words) - n + 1))


@dataclass(frozen=True)
class HelpCryDetector:
    urgent: tuple[tuple[str, ...], ...]
    help: tuple[tuple[str, ...], ...]
    fillers: frozenset[str]
    emoji: tuple[str, ...]
    max_words_help: int
    max_words_urgent: int

    def is_cry(self, text: str) -> bool:
        words = _words(text)
        if not words:
            return any(e in text for e in self.emoji)
        if len(words) <= self.max_words_urgent and any(_contains(words, p) for p in self.urgent):
            return True
        if len(words) > self.max_words_help or not any(_contains(words, p) for p in self.help):
            return False
        allowed = self.fillers.union(*self.help)
        return all(word in allowed for word in words)


def load_help_cries(path: Path = HELP_CRIES_FILE) -> HelpCryDetector:
    data = load_checked(path, "triage_help_cries")

    def phrases(key: str) -> tuple[tuple[str, ...], ...]:
        return tuple(_words(p) for entries in data[key].values() for p in entries if _words(str(p)))

    return HelpCryDetector(
        urgent=phrases("urgent_words"),
        help=phrases("help_words"),
        fillers=frozenset(w for p in data["filler_words"] for w in _words(str(p))),
        emoji=tuple(data["distress_emoji"]),
        max_words_help=data["max_words_help"],
        max_words_urgent=data["max_words_urgent"],
    )


@cache
def help_cries() -> HelpCryDetector:
    return load_help_cries()
