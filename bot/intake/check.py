"""Classify a raw message as usable, or as one of the reasons the assistant cannot read it."""

from __future__ import annotations

import re
from typing import Literal

from bot.language import identify

IntakeVerdict = Literal["ok", "empty", "unreadable", "other_language", "too_long"]
MAX_QUESTION_CHARS = 2000
# Languages the FAQ understanding is trained on; other messages get a reply in their own language
# (Hindi, Arabic) or in English and the clinic's language, and symptom triage reads them all.
ANSWERED_LANGUAGES = frozenset({"en", "hinglish", "arabizi"})
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def check_message(text: str | None) -> IntakeVerdict:
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
    if identify(text).code not in ANSWERED_LANGUAGES:
        return "other_language"
    if len(text) > MAX_QUESTION_CHARS:
        return "too_long"
    return "ok"
