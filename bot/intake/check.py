"""Classify a raw message as usable, or as one of the reasons the assistant cannot read it."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

from bot.language import identify
from bot.language.identify import language_settings

IntakeVerdict = Literal["ok", "empty", "unreadable", "other_language", "too_long"]
MAX_QUESTION_CHARS = 2000


def answered_languages() -> frozenset[str]:
    """The reply languages and the varieties written in their letters (Hinglish, Arabizi);
    any other language gets a reply in English and the clinic's language (symptom triage
    still reads it)."""
    settings = language_settings()
    return frozenset(settings.replies) | {v.name for v in settings.varieties}


_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def check_message(text: str | None) -> IntakeVerdict:
    """'ok' for a message worth classifying; otherwise why the assistant cannot use it.

    A long message is 'too_long' only as a question: symptom triage still reads all of it.
    """
    if text is None or not text.strip():
        return "empty"
    # Vowel signs and other combining marks count: "हाँ" (yes) is one letter and two marks.
    letters = [ch for ch in text if ch.isalpha() or unicodedata.category(ch).startswith("M")]
    words = _WORD.findall(text)
    if not words or len(letters) < 2:
        return "unreadable"
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\n\t\r")
    if printable / len(text) < 0.9:
        return "unreadable"
    if identify(text).code not in answered_languages():
        return "other_language"
    if len(text) > MAX_QUESTION_CHARS:
        return "too_long"
    return "ok"
