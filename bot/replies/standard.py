"""The assistant's own replies: out of scope, "did you mean", and unusable input.

Texts come from data/replies.yml; this module only fills in clinic details and buttons. None of
these is a confident answer, so each ends with the emergency line ("If this is an emergency, call
… now") in the patient's language (data/triage/replies*.yml, `safety_line`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.clinic import ClinicConfig
from bot.datafiles import load_checked
from bot.knowledge.answers import topic_button
from bot.knowledge.snapshot import KnowledgeSnapshot
from bot.paths import DATA_DIR
from bot.replies.fill import check_placeholders, fill
from bot.replies.payloads import topic_of_intent
from bot.replies.reply import Reply
from bot.triage.escalation import other_language_text, reply_languages, safety_line


@dataclass(frozen=True)
class ReplyTexts:
    out_of_scope: str
    clarify: str
    clarify_none: str
    unusable: dict[str, str]
    suggested_topics: tuple[str, ...]


@cache
def reply_texts(path: Path = DATA_DIR / "replies.yml") -> ReplyTexts:
    data = load_checked(path, "replies")
    check_placeholders(path, data)
    return ReplyTexts(
        out_of_scope=data["out_of_scope"],
        clarify=data["clarify"],
        clarify_none=data["clarify_none"],
        unusable=dict(data["unusable"]),
        suggested_topics=tuple(data["suggested_topics"]),
    )


def _suggestions(kb: KnowledgeSnapshot, topic_ids: list[str]) -> tuple[Any, ...]:
    entries = [kb.topic(t) for t in topic_ids]
    return tuple(topic_button(e) for e in entries if e is not None)


def _with_safety_line(body: str, clinic: ClinicConfig, lang: str = "en") -> str:
    return f"{body}\n\n{safety_line(clinic, lang)}"


def out_of_scope_reply(kb: KnowledgeSnapshot, clinic: ClinicConfig) -> Reply:
    texts = reply_texts()
    return Reply(
        kind="out_of_scope",
        body=_with_safety_line(fill(texts.out_of_scope, clinic), clinic),
        buttons=_suggestions(kb, list(texts.suggested_topics[:3])),
        knowledge_version=kb.version,
    )


def clarify_reply(
    kb: KnowledgeSnapshot,
    clinic: ClinicConfig,
    intent_ranking: list[dict[str, Any]],
    most: int = 3,
    min_confidence: float = 0.05,
) -> Reply:
    """'Did you mean' with buttons for the likeliest topics in the NLU ranking."""
    texts = reply_texts()
    likely = [
        topic
        for item in intent_ranking
        if (topic := topic_of_intent(item.get("name")))
        and item.get("confidence", 0) >= min_confidence
    ][:most]
    buttons = _suggestions(kb, likely)
    if not buttons:
        return Reply(
            kind="clarify",
            body=_with_safety_line(fill(texts.clarify_none, clinic), clinic),
            buttons=_suggestions(kb, list(texts.suggested_topics[:3])),
            knowledge_version=kb.version,
        )
    body = _with_safety_line(fill(texts.clarify, clinic), clinic)
    return Reply(kind="clarify", body=body, buttons=buttons, knowledge_version=kb.version)


def unusable_reply(verdict: str, clinic: ClinicConfig, lang: str | None = None) -> Reply:
    """Why the message could not be used, in the patient's reply language `lang` when the
    assistant has one for it; a language it does not know gets English plus the emergency line
    in the clinic's local language too."""
    texts = reply_texts()
    if verdict == "other_language" and lang in reply_languages() and lang != "en":
        body = _with_safety_line(other_language_text(clinic, lang), clinic, lang)
        return Reply(kind="clarify", body=body, lang=lang)
    body = _with_safety_line(
        fill(texts.unusable.get(verdict, texts.unusable["unreadable"]), clinic), clinic
    )
    if verdict == "other_language" and clinic.local_language != "en":
        body = f"{body}\n{safety_line(clinic, clinic.local_language)}"
    return Reply(kind="clarify", body=body)


_QUESTION_START = re.compile(
    r"(?:^|[.!?\n]\s*|,\s*|\b(?:and|but|also|so)\s+)"
    r"(how|what|when|why|which|will|would|should|can|could|is|are|does|do|did|may|shall)\b",
    re.IGNORECASE,
)


def question_topic(
    text: str, intent_ranking: list[dict[str, Any]], min_confidence: float = 0.3
) -> str | None:
    """The FAQ topic a message also asked about, when it reads as a question; else None.

    Used after an escalation: "my face is swollen, how long does swelling last?" gets the
    escalation first and then this topic's answer.
    """
    if "?" not in text and not _QUESTION_START.search(text):
        return None
    for item in intent_ranking:
        topic = topic_of_intent(item.get("name"))
        if topic and item.get("confidence", 0) >= min_confidence:
            return topic
    return None
