"""The assistant's own replies: out of scope, "did you mean", and unusable input, in the
patient's reply language.

Texts come from data/replies*.yml (bot/replies/texts.py); this module only fills in clinic
details and buttons. None of these is a confident answer, so each ends with the emergency line
("If this is an emergency, call … now") in the patient's language (data/triage/replies*.yml,
`safety_line`).
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from bot.clinic import ClinicConfig
from bot.knowledge.answers import topic_button
from bot.knowledge.snapshot import KnowledgeSnapshot
from bot.language.identify import language_settings
from bot.language.normalise import normalise_word, split_words
from bot.replies.fill import fill
from bot.replies.payloads import topic_of_intent
from bot.replies.reply import Reply
from bot.replies.texts import reply_texts
from bot.triage.escalation import reply_languages, safety_line


def _suggestions(kb: KnowledgeSnapshot, topic_ids: list[str], lang: str) -> tuple[Any, ...]:
    entries = [kb.topic(t, lang) for t in topic_ids]
    return tuple(topic_button(e) for e in entries if e is not None)


def _with_safety_line(body: str, clinic: ClinicConfig, lang: str = "en") -> str:
    return f"{body}\n\n{safety_line(clinic, lang)}"


def out_of_scope_reply(kb: KnowledgeSnapshot, clinic: ClinicConfig, lang: str = "en") -> Reply:
    texts = reply_texts(lang)
    return Reply(
        kind="out_of_scope",
        body=_with_safety_line(fill(texts.out_of_scope, clinic), clinic, lang),
        buttons=_suggestions(kb, list(texts.suggested_topics[:3]), lang),
        knowledge_version=kb.version,
        lang=lang,
    )


def clarify_reply(
    kb: KnowledgeSnapshot,
    clinic: ClinicConfig,
    intent_ranking: list[dict[str, Any]],
    lang: str = "en",
    most: int = 3,
    min_confidence: float = 0.05,
) -> Reply:
    """'Did you mean' with buttons for the likeliest topics in the NLU ranking."""
    texts = reply_texts(lang)
    likely = [
        topic
        for item in intent_ranking
        if (topic := topic_of_intent(item.get("name")))
        and item.get("confidence", 0) >= min_confidence
    ][:most]
    buttons = _suggestions(kb, likely, lang)
    if not buttons:
        return Reply(
            kind="clarify",
            body=_with_safety_line(fill(texts.clarify_none, clinic), clinic, lang),
            buttons=_suggestions(kb, list(texts.suggested_topics[:3]), lang),
            knowledge_version=kb.version,
            lang=lang,
        )
    body = _with_safety_line(fill(texts.clarify, clinic), clinic, lang)
    return Reply(
        kind="clarify", body=body, buttons=buttons, knowledge_version=kb.version, lang=lang
    )


def unusable_reply(verdict: str, clinic: ClinicConfig, lang: str | None = None) -> Reply:
    """Why the message could not be used, in the patient's reply language `lang`. A language
    the assistant does not have gets English, plus the same text and emergency line in the
    clinic's local language."""
    if verdict == "other_language":
        english = _unusable_text(verdict, clinic, "en")
        local = clinic.local_language
        if local == "en" or local not in reply_languages():
            return Reply(kind="clarify", body=english)
        return Reply(kind="clarify", body=f"{english}\n\n{_unusable_text(verdict, clinic, local)}")
    lang = lang if lang in reply_languages() else "en"
    return Reply(kind="clarify", body=_unusable_text(verdict, clinic, lang), lang=lang)


def _unusable_text(verdict: str, clinic: ClinicConfig, lang: str) -> str:
    texts = reply_texts(lang)
    text = texts.unusable.get(verdict, texts.unusable["unreadable"])
    return _with_safety_line(fill(text, clinic, languages=_language_names()), clinic, lang)


def _language_names() -> str:
    """The reply languages, each named in itself: "English, हिन्दी, العربية"."""
    return ", ".join(language_settings().names.get(code, code) for code in reply_languages())


def language_chosen_reply(clinic: ClinicConfig, lang: str) -> Reply:
    """The patient picked `lang` (a reply language): confirm it, in that language."""
    return Reply(kind="chitchat", body=fill(reply_texts(lang).language_chosen, clinic), lang=lang)


def language_not_available_reply(clinic: ClinicConfig, lang: str) -> Reply:
    """The patient asked for a language the assistant does not have: say which it has, in the
    current reply language `lang`."""
    text = fill(reply_texts(lang).language_not_available, clinic, languages=_language_names())
    return Reply(kind="clarify", body=text, lang=lang)


@cache
def _question_signals() -> tuple[frozenset[str], re.Pattern[str], frozenset[str]]:
    """The question marks, the clause-start pattern and the anywhere words of data/languages.yml."""
    questions = language_settings().questions
    starts = "|".join(re.escape(w) for w in questions.get("clause_start", ())) or r"(?!)"
    clause_start = re.compile(
        rf"(?:^|[.!?\n]\s*|,\s*|\b(?:and|but|also|so)\s+)({starts})\b", re.IGNORECASE
    )
    anywhere = frozenset(normalise_word(w) for w in questions.get("anywhere", ()))
    return frozenset(questions.get("marks", ())), clause_start, anywhere


def reads_as_question(text: str) -> bool:
    """Whether `text` asks something: a question mark, an English question word at the start of
    a clause, or a question word of another language anywhere (data/languages.yml `questions`)."""
    marks, clause_start, anywhere = _question_signals()
    if any(mark in text for mark in marks) or clause_start.search(text):
        return True
    return any(normalise_word(word) in anywhere for word in split_words(text))


def question_topic(
    text: str, intent_ranking: list[dict[str, Any]], min_confidence: float = 0.3
) -> str | None:
    """The FAQ topic a message also asked about, when it reads as a question; else None.

    Used after an escalation: "my face is swollen, how long does swelling last?" gets the
    escalation first and then this topic's answer.
    """
    if not reads_as_question(text):
        return None
    for item in intent_ranking:
        topic = topic_of_intent(item.get("name"))
        if topic and item.get("confidence", 0) >= min_confidence:
            return topic
    return None


def topic_after_handoff(
    severity: str | None, text: str, intent_ranking: list[dict[str, Any]]
) -> str | None:
    """The topic answered after a hand-off at `severity`: the question's topic (question_topic)
    below emergency level; none for an emergency, whose only reply is the instruction."""
    if severity == "emergency":
        return None
    return question_topic(text, intent_ranking)
