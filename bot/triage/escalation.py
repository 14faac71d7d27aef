"""What the patient is told when a symptom is escalated, and the texts of the callback flow.

Texts live in data/triage/replies.yml (English) and replies.<lang>.yml for every other reply
language of data/languages.yml (schema bot/schemas/triage_replies.yml); this module only picks
the patient's language and fills in clinic details and the ticket reference. Storing the
callback number is bot/tickets/callback.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.clinic import ClinicConfig
from bot.datafiles import ENGLISH, language_variant, load_checked
from bot.language.identify import language_settings
from bot.paths import TRIAGE_DIR
from bot.replies.fill import CLINIC_PLACEHOLDERS, check_placeholders, fill
from bot.replies.reply import Button, Escalation, Reply
from bot.tickets.records import ticket_reference
from bot.triage.result import SEVERITIES, Severity

REPLIES_FILE = TRIAGE_DIR / "replies.yml"
# The Rasa response giving the emergency instruction (a rule sends it, no action server needed).
EMERGENCY_INSTRUCTION_RESPONSE = "utter_emergency"
DEFAULT_LANGUAGE = ENGLISH
# Extra placeholders allowed per text, by key path.
EXTRA_FIELDS = {"reference": {"ticket"}, "saved": {"number"}}


def _allowed_placeholders(at: tuple[str, ...]) -> frozenset[str]:
    return CLINIC_PLACEHOLDERS | EXTRA_FIELDS.get(at[-1], frozenset())


# Most severe first, from the one severity order.


# --- texts -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplyTexts:
    data: dict[str, Any]

    def escalation(self, severity: str) -> dict[str, Any]:
        return self.data["escalation"][severity]

    def callback(self, key: str) -> str:
        return self.data["callback"][key]

    def callback_error(self, reason: str) -> str:
        return self.data["callback"]["errors"][reason]

    def text(self, key: str) -> str:
        """A top-level text: safety_line, turn_failed or describe_symptoms."""
        return self.data[key]

    @property
    def help_request(self) -> dict[str, Any]:
        return self.data["help_request"]

    def help_request_buttons(self) -> tuple[Button, ...]:
        return tuple(Button(b["title"], b["payload"]) for b in self.help_request["buttons"])


def replies_file(lang: str) -> Path:
    """The replies file of a reply language (English: replies.yml)."""
    return language_variant(REPLIES_FILE, lang)


def reply_languages() -> tuple[str, ...]:
    return language_settings().replies


def texts_for(lang: str | None) -> ReplyTexts:
    """The reply texts in `lang`; English for a language without a replies file."""
    if lang and lang != DEFAULT_LANGUAGE and lang in reply_languages():
        return reply_texts(replies_file(lang))
    return reply_texts()


def load_all_reply_texts() -> dict[str, ReplyTexts]:
    """Every reply language's texts, each file checked (what `bot check` calls)."""
    return {lang: load_reply_texts(replies_file(lang)) for lang in reply_languages()}


def load_reply_texts(path: Path = REPLIES_FILE) -> ReplyTexts:
    """Read and check the replies file, including that every placeholder is a known one."""
    data = load_checked(path, "triage_replies")
    check_placeholders(path, data, _allowed_placeholders, skip=frozenset({"payload"}))
    return ReplyTexts(data)


@cache
def reply_texts(path: Path = REPLIES_FILE) -> ReplyTexts:
    return load_reply_texts(path)


def callback_text(key: str, clinic: ClinicConfig, lang: str | None = None, **extra: str) -> str:
    """A callback-flow text: "ask_number", "saved" (needs number=...), or "declined"."""
    return fill(texts_for(lang).callback(key), clinic, **extra)


def callback_error_text(reason: str, clinic: ClinicConfig, lang: str | None = None) -> str:
    """Why a callback number was refused, in `lang`: `reason` is a key under callback.errors."""
    return fill(texts_for(lang).callback_error(reason), clinic)


def safety_line(clinic: ClinicConfig, lang: str | None = None) -> str:
    """ "If this is an emergency, call {emergency_number} now", in `lang`."""
    return fill(texts_for(lang).text("safety_line"), clinic)


def _labelled(lang: str | None) -> str:
    """The language a reply in `lang` is written in: English for one without a replies file."""
    return lang if lang in reply_languages() else DEFAULT_LANGUAGE


def turn_failed_reply(clinic: ClinicConfig, lang: str | None = None) -> Reply:
    """The apology of a channel whose turn the assistant could not run (a fault on our side),
    in `lang`; it gives the clinic's phone and the emergency number."""
    return Reply(
        kind="chitchat",
        lang=_labelled(lang),
        body=" ".join(fill(texts_for(lang).text("turn_failed"), clinic).split()),
    )


def help_request_reply(clinic: ClinicConfig, lang: str | None = None) -> Reply:
    """The answer to a cry for help that names no symptom, in `lang`: the emergency number and
    "are you unwell right now?" with quick replies (the domain's utter_help_request, filled)."""
    texts = texts_for(lang)
    return Reply(
        kind="clarify",
        lang=_labelled(lang),
        body=fill(texts.help_request["text"], clinic),
        buttons=texts.help_request_buttons(),
    )


# --- escalation reply ------------------------------------------------------------------------


def escalation_reply(
    severity: Severity,
    ticket_id: str | None,
    clinic: ClinicConfig,
    instruction_sent: bool = False,
    lang: str | None = None,
) -> Reply:
    """The reply for an escalated report. `ticket_id` is None when the report was spooled.

    emergency: emergency number first, then the clinic phone, nothing else; with
    `instruction_sent` (the domain's rule already gave the instruction) only the reference.
    urgent / routine: advice, the ticket reference, and a callback offer with buttons.
    """
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; expected one of {SEVERITIES}")
    texts = texts_for(lang).escalation(severity)
    reference = (
        fill(texts["reference"], clinic, ticket=ticket_reference(ticket_id))
        if ticket_id
        else fill(texts["no_reference"], clinic)
    )
    buttons: tuple[Button, ...] = ()
    if severity == "emergency":
        parts = [reference if instruction_sent else fill(texts["text"], clinic)]
    else:
        parts = [fill(texts["text"], clinic), reference, fill(texts["callback_offer"], clinic)]
        buttons = tuple(Button(title=b["title"], payload=b["payload"]) for b in texts["buttons"])
    return Reply(
        kind="escalation",
        lang=_labelled(lang),
        body="\n\n".join(parts),
        escalation=Escalation(
            severity=severity,
            ticket=ticket_id,
            emergency_number=clinic.emergency_number,
            clinic_phone=clinic.phone,
            reference=ticket_reference(ticket_id) if ticket_id else None,
        ),
        buttons=buttons,
    )
