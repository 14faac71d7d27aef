"""The Rasa responses that must work without the action server, generated from the reply files.

utter_emergency, utter_help_request and utter_describe_symptoms are sent by rules on the NLU
result, so a patient gets them even when the action server or the database is down. Their texts
have one source, data/triage/replies*.yml: `python -m bot domain` writes them into domain.yml
between two marker lines, with one variation per reply language chosen by the `reply_lang` slot
(set by the triage component), and `python -m bot check` fails while domain.yml differs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.datafiles import DataFileError, safe_load
from bot.language.choice import REPLY_SLOT
from bot.paths import PROJECT_ROOT
from bot.rasa.generated import GeneratedBlock, yaml_lines
from bot.replies.fill import check_placeholders
from bot.replies.reply import Escalation, Reply
from bot.replies.texts import RASA_SLOT_PLACEHOLDERS, chitchat_texts
from bot.triage.escalation import (
    DEFAULT_LANGUAGE,
    EMERGENCY_INSTRUCTION_RESPONSE,
    ReplyTexts,
    load_all_reply_texts,
    replies_file,
)

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
REPLIES_SOURCE = "data/triage/replies*.yml and data/chitchat*.yml"
LANGUAGE_SLOT = REPLY_SLOT


def _checked(text: str, lang: str, at: tuple[str, ...]) -> str:
    """`text`, after checking it uses only placeholders Rasa can fill (DataFileError naming the
    replies file and entry otherwise)."""
    check_placeholders(replies_file(lang), _nest(at, text), lambda _at: RASA_SLOT_PLACEHOLDERS)
    return text


def _nest(at: tuple[str, ...], text: str) -> dict[str, Any]:
    node: Any = text
    for key in reversed(at):
        node = {key: node}
    return node


def _response(reply: Reply) -> dict[str, Any]:
    """One response variation carrying `reply` exactly as the action server sends it: one
    message with its text, any buttons and the `meso` envelope (`Reply.rasa_message()`)."""
    return reply.rasa_message()


def _variations(texts: dict[str, ReplyTexts], build: Any) -> list[dict[str, Any]]:
    """One variation per language, the default language last and without a condition."""
    ordered = [lang for lang in texts if lang != DEFAULT_LANGUAGE] + [DEFAULT_LANGUAGE]
    variations = []
    for lang in ordered:
        variation = build(texts[lang], lang)
        if lang != DEFAULT_LANGUAGE:
            condition = [{"type": "slot", "name": LANGUAGE_SLOT, "value": lang}]
            variation = {"condition": condition, **variation}
        variations.append(variation)
    return variations


def _emergency(texts: ReplyTexts, lang: str) -> dict[str, Any]:
    body = _checked(
        texts.escalation("emergency")["text"], lang, ("escalation", "emergency", "text")
    )
    escalation = Escalation(
        severity="emergency",
        ticket=None,
        emergency_number="{emergency_number}",
        clinic_phone="{clinic_phone}",
    )
    return _response(Reply(kind="escalation", body=body, escalation=escalation, lang=lang))


def _help_request(texts: ReplyTexts, lang: str) -> dict[str, Any]:
    body = _checked(texts.help_request["text"], lang, ("help_request", "text"))
    return _response(
        Reply(kind="clarify", body=body, buttons=texts.help_request_buttons(), lang=lang)
    )


def _describe(texts: ReplyTexts, lang: str) -> dict[str, Any]:
    body = _checked(texts.text("describe_symptoms"), lang, ("describe_symptoms",))
    return _response(Reply(kind="clarify", body=body, lang=lang))


CHITCHAT = ("greet", "thank", "goodbye", "iamabot", "deny_ok")


def _chitchat(key: str) -> Any:
    def build(texts: ReplyTexts, lang: str) -> dict[str, Any]:
        body = chitchat_texts(lang)[key]
        if key == "default":  # not a confident answer: the emergency line follows
            body = f"{body}\n\n{texts.text('safety_line')}"
        return _response(Reply(kind="chitchat", body=body, lang=lang))

    return build


def generated_responses() -> dict[str, list[dict[str, Any]]]:
    texts = load_all_reply_texts()
    return {
        EMERGENCY_INSTRUCTION_RESPONSE: _variations(texts, _emergency),
        "utter_help_request": _variations(texts, _help_request),
        "utter_describe_symptoms": _variations(texts, _describe),
        **{f"utter_{key}": _variations(texts, _chitchat(key)) for key in CHITCHAT},
        "utter_default": _variations(texts, _chitchat("default")),
    }


def responses_yaml() -> str:
    return yaml_lines(generated_responses(), "  ")


def responses_block(path: Path = DOMAIN_FILE) -> GeneratedBlock:
    return GeneratedBlock(path, REPLIES_SOURCE, "  ", responses_yaml)


# Responses that are not confident answers: each must carry the English safety line.
WITH_SAFETY_LINE = ("utter_default",)


def check_domain(path: Path = DOMAIN_FILE) -> None:
    """Raise DataFileError when domain.yml's generated block differs from the reply files, or a
    response of WITH_SAFETY_LINE lacks the safety line of its language."""
    text = path.read_text(encoding="utf-8")
    texts = load_all_reply_texts()
    responses = (safe_load(text) or {}).get("responses") or {}
    for name in WITH_SAFETY_LINE:
        for variation in responses.get(name) or [{}]:
            lang = (variation.get("condition") or [{"value": DEFAULT_LANGUAGE}])[0]["value"]
            line = texts.get(lang, texts[DEFAULT_LANGUAGE]).text("safety_line")
            if line not in str(variation.get("text", "")):
                raise DataFileError(path, f"must end with the safety line {line!r}", name)
    responses_block(path).check()


def write_domain(path: Path = DOMAIN_FILE) -> bool:
    """Rewrite the generated responses of domain.yml; True when it changed."""
    return responses_block(path).write()
