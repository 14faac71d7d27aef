"""The callback number a patient may leave on a ticket: validated, stored on the ticket only.

The patient-facing refusal texts are data (callback.errors in data/triage/replies*.yml, read
through bot/triage/escalation.py); this module decides which one applies.
"""

from __future__ import annotations

import logging

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError

from bot.clinic import ClinicConfig
from bot.storage.db import Database
from bot.storage.models import Ticket, utcnow
from bot.tickets import audit
from bot.tickets.spool import drain_spool
from bot.triage.escalation import callback_error_text

logger = logging.getLogger(__name__)

PATIENT_ACTOR = "patient"


class CallbackRefused(ValueError):
    """The number was not stored. `str(exc)` is a patient-facing explanation (never contains
    the number); `reason` is one of the keys under callback.errors in the replies file."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class InvalidCallbackNumber(CallbackRefused):
    """Unreadable, too short, too long, or not a number in use."""


class CallbackStorageUnavailable(CallbackRefused):
    """The database could not be reached; the patient is asked to call or try again."""


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
    The audit row (`callback_requested`, without the number) commits with it.

    A ticket whose report still waits in the spool (the database was down when it was made) is
    recorded from the spool first. Raises CallbackConsentMissing without consent,
    InvalidCallbackNumber for a bad number, UnknownTicket for an unknown ticket id, and
    CallbackStorageUnavailable when the database cannot be reached.
    """
    if not consent:
        raise _refusal(CallbackConsentMissing, "no_consent", clinic, lang)
    e164 = normalize_callback_number(raw_number, clinic, lang)
    try:
        stored = _store_number(db, ticket_id, e164)
        if not stored and drain_spool(db, clinic):
            stored = _store_number(db, ticket_id, e164)
    except (SQLAlchemyError, OSError) as exc:
        logger.error("ticket %s: callback number not stored (%s)", ticket_id, type(exc).__name__)
        raise _refusal(CallbackStorageUnavailable, "unavailable", clinic, lang) from None
    if not stored:
        raise _refusal(UnknownTicket, "unknown_ticket", clinic, lang)
    logger.info("ticket %s: callback number stored", ticket_id)
    return e164


def _store_number(db: Database, ticket_id: str, e164: str) -> bool:
    """Put the number on the ticket, with its audit row; False when there is no such ticket."""
    with db.session() as session:
        changed = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id)
            .values(callback_number=e164, callback_consent_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed != 1:
            return False
        audit.add(session, PATIENT_ACTOR, audit.CALLBACK_REQUESTED, ticket_id)
    return True


def _refusal(
    kind: type[CallbackRefused], reason: str, clinic: ClinicConfig, lang: str | None = None
) -> CallbackRefused:
    return kind(reason, callback_error_text(reason, clinic, lang))
