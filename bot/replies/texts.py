"""The assistant's own wording, in each reply language: data/replies.yml (English) and
data/replies.<lang>.yml. Out of scope, "did you mean", unusable input, the frame around a
knowledge answer, and what is said when a patient picks a language."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.datafiles import ENGLISH, language_variant, load_checked
from bot.language.identify import language_settings
from bot.paths import DATA_DIR
from bot.replies.fill import CLINIC_PLACEHOLDERS, check_placeholders

# Placeholders some texts have besides the clinic's, by key.
EXTRA_PLACEHOLDERS = {
    "sources_differ": {"point"},
    "price_line": {"treatment", "price", "per"},
    "language_chosen": {"language"},
    "language_not_available": {"languages"},
    "other_language": {"languages"},
    "joined": {"name"},
    "handed_back": {"name"},
}


@dataclass(frozen=True)
class ReplyTexts:
    out_of_scope: str
    clarify: str
    clarify_none: str
    unusable: dict[str, str]
    frame: dict[str, str]  # answer_frame: own_prices, price_line, …, evidence_note, sources
    language_chosen: str
    language_not_available: str
    suggested_topics: tuple[str, ...]  # English file only; the same topics in every language
    handoff: dict[str, str]  # joined, handed_back: what a patient is told in a live handoff


def replies_path(lang: str) -> Path:
    return language_variant(DATA_DIR / "replies.yml", lang)


def _allowed(at: tuple[str, ...]) -> frozenset[str]:
    return CLINIC_PLACEHOLDERS | EXTRA_PLACEHOLDERS.get(at[-1], frozenset())


def read_reply_texts(path: Path, suggested_topics: tuple[str, ...] | None = None) -> ReplyTexts:
    """Read and check one replies file (schema and placeholders); DataFileError names the
    file and entry. `suggested_topics` is taken from the English file for other languages."""
    data: dict[str, Any] = load_checked(path, "replies")
    check_placeholders(path, data, _allowed, skip=frozenset({"suggested_topics"}))
    return ReplyTexts(
        out_of_scope=data["out_of_scope"],
        clarify=data["clarify"],
        clarify_none=data["clarify_none"],
        unusable=dict(data["unusable"]),
        frame=dict(data["answer_frame"]),
        language_chosen=data["language_chosen"],
        language_not_available=data["language_not_available"],
        suggested_topics=tuple(data.get("suggested_topics") or suggested_topics or ()),
        handoff=dict(data["handoff"]),
    )


@cache
def reply_texts(lang: str = ENGLISH) -> ReplyTexts:
    """The texts in `lang`; English for a language that is not a reply language."""
    if lang == ENGLISH:
        return read_reply_texts(replies_path(ENGLISH))
    if lang not in language_settings().replies:
        return reply_texts(ENGLISH)
    return read_reply_texts(replies_path(lang), reply_texts(ENGLISH).suggested_topics)


def all_reply_texts() -> dict[str, ReplyTexts]:
    """Every reply language's texts, each file checked (what `bot check` calls)."""
    return {lang: reply_texts(lang) for lang in language_settings().replies}


def chitchat_path(lang: str) -> Path:
    return language_variant(DATA_DIR / "chitchat.yml", lang)


@cache
def chitchat_texts(lang: str = ENGLISH) -> dict[str, str]:
    """Small talk in `lang` (greet, thank, goodbye, iamabot, deny_ok, default), checked; the
    placeholders allowed are those Rasa fills from slots in a response it sends itself."""
    path = chitchat_path(lang)
    data: dict[str, str] = load_checked(path, "chitchat")
    check_placeholders(path, data, lambda _at: RASA_SLOT_PLACEHOLDERS)
    return data


# Slots the triage component fills from data/clinic.yml: in a response Rasa sends itself, Rasa
# fills these, and only these.
RASA_SLOT_PLACEHOLDERS = frozenset({"emergency_number", "clinic_phone", "clinic_name"})
