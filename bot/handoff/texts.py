"""What a patient sees of a handoff, in their language: the notices come from the `handoff`
texts of data/replies*.yml; a clinician's message goes as typed, after their name."""

from __future__ import annotations

import re

from bot.clinic import ClinicConfig
from bot.handoff.store import HANDED_BACK, JOINED, ThreadLine
from bot.replies.fill import fill
from bot.replies.texts import reply_texts

_SEPARATORS = re.compile(r"[._\-]+")


def display_name(username: str | None) -> str:
    """The name a patient is shown for a staff username: "nurse.anna" -> "Nurse Anna"."""
    words = _SEPARATORS.sub(" ", username or "").split()
    return " ".join(w[:1].upper() + w[1:] for w in words) or "A clinician"


def patient_text(line: ThreadLine, lang: str, clinic: ClinicConfig) -> str:
    """The words the patient gets for a clinician line."""
    name = display_name(line.author)
    if line.kind in (JOINED, HANDED_BACK):
        return fill(reply_texts(lang).handoff[line.kind], clinic, name=name)
    return f"{name}: {line.text}"
