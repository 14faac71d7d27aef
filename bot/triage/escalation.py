"""What the patient is told when a symptom is escalated, and the callback number they may leave.

Texts live in data/triage/replies.yml (English) and replies.<lang>.yml for every other reply
language of data/languages.yml (schema bot/schemas/triage_replies.yml); this module only picks
the patient's language and fills in clinic details and the ticket reference.
"""

from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from sqlalchemy import update

from bot.clinic import ClinicConfig
from bot.datafiles import DataFileError, load_checked
from bot.language.identify import language_settings
from bot.paths import TRIAGE_DIR
from bot.replies.reply import Button, Escalation, Reply, Severity
from bot.storage.db import Database
from bot.storage.models import AuditEntry, Ticket, utcnow

logger = logging.getLogger(__name__)

REPLIES_FILE = TRIAGE_DIR / "replies.yml"
DEFAULT_LANGUAGE = "en"
CLINIC_FIELDS = frozenset({"emergency_number", "clinic_phone", "clinic_name", "opening_hours"})
# Extra placeholders allowed per text, by key path.
EXTRA_FIELDS = {"reference": {"ticket"}, "saved": {"number"}}
REFERENCE_LENGTH = 8
SEVERITIES = ("emergency", "urgent", "routine")
PATIENT_ACTOR = "patient"


def ticket_reference(ticket_id: str) -> str:
    """The short reference a patient sees and can quote on the phone (the id's first 8 hex
    digits, upper case); the clinician inbox can find a ticket by it."""
    return ticket_id[:REFERENCE_LENGTH].upper()


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
        """A top-level text: safety_line, describe_symptoms or other_language."""
        return self.data[key]

    @property
    def help_request(self) -> dict[str, Any]:
        return self.data["help_request"]


def replies_file(lang: str) -> Path:
    """The replies file of a reply language (English: replies.yml)."""
    return REPLIES_FILE if lang == DEFAULT_LANGUAGE else TRIAGE_DIR / f"replies.{lang}.yml"


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
    _check_placeholders(data, path, [])
    return ReplyTexts(data)


@cache
def reply_texts(path: Path = REPLIES_FILE) -> ReplyTexts:
    return load_reply_texts(path)


def _check_placeholders(node: Any, path: Path, at: list[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _check_placeholders(value, path, [*at, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _check_placeholders(value, path, [*at, str(index)])
    elif isinstance(node, str) and at and at[-1] != "payload":
        allowed = CLINIC_FIELDS | EXTRA_FIELDS.get(at[-1], set())
        try:
            fields = {name for _, name, _, _ in string.Formatter().parse(node) if name is not None}
        except ValueError as exc:
            raise DataFileError(path, f"broken braces: {exc}", "/".join(at)) from exc
        unknown = fields - allowed
        if unknown:
            raise DataFileError(
                path,
                f"unknown placeholder(s) {sorted(unknown)}; allowed here: {sorted(allowed)}",
                "/".join(at),
            )


def _fill(text: str, clinic: ClinicConfig, **extra: str) -> str:
    return text.format(
        emergency_number=clinic.emergency_number,
        clinic_phone=clinic.phone,
        clinic_name=clinic.name,
        opening_hours=clinic.opening_hours,
        **extra,
    )


def callback_text(key: str, clinic: ClinicConfig, lang: str | None = None, **extra: str) -> str:
    """A callback-flow text: "ask_number", "saved" (needs number=...), or "declined"."""
    return _fill(texts_for(lang).callback(key), clinic, **extra)


def safety_line(clinic: ClinicConfig, lang: str | None = None) -> str:
    """ "If this is an emergency, call {emergency_number} now", in `lang`."""
    return _fill(texts_for(lang).text("safety_line"), clinic)


def other_language_text(clinic: ClinicConfig, lang: str | None = None) -> str:
    return _fill(texts_for(lang).text("other_language"), clinic)


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
        _fill(texts["reference"], clinic, ticket=ticket_reference(ticket_id))
        if ticket_id
        else _fill(texts["no_reference"], clinic)
    )
    buttons: tuple[Button, ...] = ()
    if severity == "emergency":
        parts = [reference if instruction_sent else _fill(texts["text"], clinic)]
    else:
        parts = [_fill(texts["text"], clinic), reference, _fill(texts["callback_offer"], clinic)]
        buttons = tuple(Button(title=b["title"], payload=b["payload"]) for b in texts["buttons"])
    return Reply(
        kind="escalation",
        lang=lang if lang in reply_languages() else DEFAULT_LANGUAGE,
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


# --- callback number -------------------------------------------------------------------------


class CallbackRefused(ValueError):
    """The number was not stored. `str(exc)` is a patient-facing explanation (never contains
    the number); `reason` is one of the keys under callback.errors in the replies file."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class InvalidCallbackNumber(CallbackRefused):
    """Unreadable, too short, too long, or not a number in use."""


class CallbackConsentMissing(CallbackRefused):
    """The patient did not agree to us keeping the number."""


class UnknownTicket(CallbackRefused, LookupError):
    """No ticket with that id."""


def normalize_callback_number(
    raw_number: str, clinic: ClinicConfig, lang: str | None = None
) -> str:
    """E.164 form of `raw_number` (national numbers read in clinic.region); raises
    InvalidCallbackNumber with the reason."""
    try:
        number = phonenumbers.parse(str(raw_number or "").strip(), clinic.region)
    except NumberParseException as exc:
        reason = {
            NumberParseException.TOO_SHORT_NSN: "too_short",
            NumberParseException.TOO_SHORT_AFTER_IDD: "too_short",
            NumberParseException.TOO_LONG: "too_long",
        }.get(exc.error_type, "unreadable")
        raise _refusal(InvalidCallbackNumber, reason, clinic, lang) from None
    possible = phonenumbers.is_possible_number_with_reason(number)
    if possible == ValidationResult.TOO_SHORT:
        raise _refusal(InvalidCallbackNumber, "too_short", clinic, lang)
    if possible == ValidationResult.TOO_LONG:
        raise _refusal(InvalidCallbackNumber, "too_long", clinic, lang)
    if not phonenumbers.is_valid_number(number):
        raise _refusal(InvalidCallbackNumber, "invalid", clinic, lang)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def save_callback_number(
    db: Database,
    ticket_id: str,
    raw_number: str,
    clinic: ClinicConfig,
    consent: bool,
    lang: str | None = None,
) -> str:
    """Validate and store the callback number on the ticket (and nowhere else); returns E.164.

    Raises CallbackConsentMissing without consent, InvalidCallbackNumber for a bad number,
    UnknownTicket for an unknown ticket id; database errors propagate.
    """
    if not consent:
        raise _refusal(CallbackConsentMissing, "no_consent", clinic, lang)
    e164 = normalize_callback_number(raw_number, clinic, lang)
    with db.session() as session:
        changed = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(callback_number=e164, callback_consent_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            raise _refusal(UnknownTicket, "unknown_ticket", clinic, lang)
        session.add(
            AuditEntry(actor=PATIENT_ACTOR, action="callback_requested", ticket_id=ticket_id)
        )
    logger.info("ticket %s: callback number stored", ticket_id)
    return e164


def _refusal(
    kind: type[CallbackRefused], reason: str, clinic: ClinicConfig, lang: str | None = None
) -> CallbackRefused:
    return kind(reason, _fill(texts_for(lang).callback_error(reason), clinic))
