"""The Rasa responses that must work without the action server, generated from the reply files.

utter_emergency, utter_help_request and utter_describe_symptoms are sent by rules on the NLU
result, so a patient gets them even when the action server or the database is down. Their texts
have one source, data/triage/replies*.yml: `python -m bot domain` writes them into domain.yml
between two marker lines, with one variation per reply language chosen by the `reply_lang` slot
(set by the triage component), and `python -m bot check` fails while domain.yml differs.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import yaml

from bot.datafiles import DataFileError
from bot.paths import PROJECT_ROOT
from bot.replies.reply import Button, Escalation, Reply
from bot.triage.escalation import DEFAULT_LANGUAGE, ReplyTexts, load_all_reply_texts

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
BEGIN = "  # BEGIN generated from data/triage/replies*.yml by `python -m bot domain`; edit those"
END = "  # END generated"
LANGUAGE_SLOT = "reply_lang"
# Slots the triage component fills from data/clinic.yml; the only placeholders allowed here.
SLOT_PLACEHOLDERS = frozenset({"emergency_number", "clinic_phone", "clinic_name"})


def _checked(text: str, where: str) -> str:
    names = {name for _, name, _, _ in string.Formatter().parse(text) if name}
    if unknown := names - SLOT_PLACEHOLDERS:
        raise DataFileError(
            "data/triage/replies*.yml",
            f"{sorted(unknown)} cannot be used in a text Rasa sends itself; "
            f"allowed: {sorted(SLOT_PLACEHOLDERS)}",
            where,
        )
    return text


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
    body = _checked(texts.escalation("emergency")["text"], f"{lang}: escalation/emergency/text")
    escalation = Escalation(
        severity="emergency",
        ticket=None,
        emergency_number="{emergency_number}",
        clinic_phone="{clinic_phone}",
    )
    return _response(Reply(kind="escalation", body=body, escalation=escalation, lang=lang))


def _help_request(texts: ReplyTexts, lang: str) -> dict[str, Any]:
    body = _checked(texts.help_request["text"], f"{lang}: help_request/text")
    buttons = tuple(Button(b["title"], b["payload"]) for b in texts.help_request["buttons"])
    return _response(Reply(kind="clarify", body=body, buttons=buttons, lang=lang))


def _describe(texts: ReplyTexts, lang: str) -> dict[str, Any]:
    body = _checked(texts.text("describe_symptoms"), f"{lang}: describe_symptoms")
    return _response(Reply(kind="clarify", body=body, lang=lang))


def generated_responses() -> dict[str, list[dict[str, Any]]]:
    texts = load_all_reply_texts()
    return {
        "utter_emergency": _variations(texts, _emergency),
        "utter_help_request": _variations(texts, _help_request),
        "utter_describe_symptoms": _variations(texts, _describe),
    }


def generated_block() -> str:
    body = yaml.safe_dump(
        generated_responses(), allow_unicode=True, sort_keys=False, width=100, indent=2
    )
    indented = "\n".join(f"  {line}" if line else line for line in body.splitlines())
    return f"{BEGIN}\n{indented}\n{END}\n"


def _split(domain: str, path: Path) -> tuple[str, str, str]:
    if BEGIN not in domain or END not in domain:
        raise DataFileError(path, f"the generated responses block is missing ({BEGIN.strip()!r})")
    head, rest = domain.split(BEGIN + "\n", 1)
    block, tail = rest.split(END + "\n", 1)
    return head, BEGIN + "\n" + block + END + "\n", tail


# Hand-written responses that are not confident answers: each must carry the English safety line.
WITH_SAFETY_LINE = ("utter_default",)


def check_domain(path: Path = DOMAIN_FILE) -> None:
    """Raise DataFileError when domain.yml's generated block differs from the reply files, or a
    response of WITH_SAFETY_LINE lacks the safety line of data/triage/replies.yml."""
    text = path.read_text(encoding="utf-8")
    line = load_all_reply_texts()[DEFAULT_LANGUAGE].text("safety_line")
    responses = (yaml.safe_load(text) or {}).get("responses") or {}
    for name in WITH_SAFETY_LINE:
        for variation in responses.get(name) or [{}]:
            if line not in str(variation.get("text", "")):
                raise DataFileError(path, f"must end with the safety line {line!r}", name)
    _, block, _ = _split(text, path)
    if block != generated_block():
        raise DataFileError(
            path,
            "the emergency, help and describe-symptoms responses differ from "
            "data/triage/replies*.yml: run `python -m bot domain` (then retrain)",
        )


def write_domain(path: Path = DOMAIN_FILE) -> bool:
    """Rewrite the generated block of domain.yml; True when it changed."""
    domain = path.read_text(encoding="utf-8")
    head, block, tail = _split(domain, path)
    fresh = generated_block()
    if block == fresh:
        return False
    path.write_text(head + fresh + tail, encoding="utf-8")
    return True
