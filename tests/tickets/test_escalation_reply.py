"""The escalation reply texts and the callback number."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.datafiles import DataFileError
from bot.storage.db import Database
from bot.storage.models import AuditEntry, Ticket
from bot.tickets.records import record_report
from bot.triage.escalation import (
    REPLIES_FILE,
    CallbackConsentMissing,
    InvalidCallbackNumber,
    UnknownTicket,
    callback_text,
    escalation_reply,
    load_reply_texts,
    save_callback_number,
    ticket_reference,
)

from .helpers import make_clinic, make_report

TICKET = "0123456789abcdef0123456789abcdef"
CALLBACK_BUTTONS = [
    {"title": "Yes, call me back", "payload": "/request_callback"},
    {"title": "No, thanks", "payload": "/deny"},
]


def test_emergency_sends_to_emergency_services_first_and_nothing_else() -> None:
    clinic = make_clinic()
    reply = escalation_reply("emergency", TICKET, clinic)
    body = reply.body
    assert body.startswith(f"Call emergency services now on {clinic.emergency_number}")
    assert clinic.phone in body
    assert body.index(clinic.emergency_number) < body.index(clinic.phone)
    assert reply.buttons == ()
    assert ticket_reference(TICKET) not in body
    envelope = reply.rasa_messages()[1]["custom"]["meso"]
    assert envelope["kind"] == "escalation"
    assert envelope["escalation"] == {
        "severity": "emergency",
        "ticket": TICKET,
        "reference": ticket_reference(TICKET),
        "emergency_number": clinic.emergency_number,
        "clinic_phone": clinic.phone,
    }
    assert envelope["buttons"] == []


def test_urgent_says_today_with_phone_hours_alert_and_reference() -> None:
    clinic = make_clinic()
    reply = escalation_reply("urgent", TICKET, clinic)
    text = reply.rasa_messages()[0]
    assert "today" in reply.body
    assert clinic.phone in reply.body and clinic.opening_hours in reply.body
    assert "clinician has been alerted" in reply.body
    assert "Your reference: 01234567." in reply.body
    assert text["buttons"] == CALLBACK_BUTTONS
    assert reply.escalation is not None and reply.escalation.severity == "urgent"


def test_routine_explains_what_is_expected_and_when_to_worry() -> None:
    clinic = make_clinic()
    body = escalation_reply("routine", TICKET, clinic).body.lower()
    for expected in ("mild", "few days", "spreads", "fever", "pus", "worse", "breathing"):
        assert expected in body, expected
    assert f"call emergency services on {clinic.emergency_number}" in body
    assert "follow up" in body
    assert ticket_reference(TICKET).lower() in body
    assert [b.as_dict() for b in escalation_reply("routine", None, clinic).buttons] == (
        CALLBACK_BUTTONS
    )


def test_spooled_report_gets_a_reply_without_reference() -> None:
    reply = escalation_reply("urgent", None, make_clinic())
    assert "Your reference" not in reply.body
    assert "saved for the clinical team" in reply.body
    assert reply.escalation is not None and reply.escalation.ticket is None


def test_no_placeholder_is_left_unfilled() -> None:
    clinic = make_clinic()
    for severity in ("emergency", "urgent", "routine"):
        for ticket in (TICKET, None):
            assert "{" not in escalation_reply(severity, ticket, clinic).body  # type: ignore[arg-type]
    assert "{" not in callback_text("saved", clinic, number="+919876543210")


def test_unknown_severity_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown severity 'mild'"):
        escalation_reply("mild", None, make_clinic())  # type: ignore[arg-type]


def test_unknown_placeholder_in_replies_file_is_a_clear_error(tmp_path: Path) -> None:
    data = yaml.safe_load(REPLIES_FILE.read_text())
    data["escalation"]["urgent"]["callback_offer"] = "Call {clinic_fone}?"
    broken = tmp_path / "replies.yml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match=r"escalation/urgent/callback_offer.*clinic_fone"):
        load_reply_texts(broken)


def test_emergency_text_must_name_the_emergency_number(tmp_path: Path) -> None:
    data = yaml.safe_load(REPLIES_FILE.read_text())
    data["escalation"]["emergency"]["text"] = "Please call {clinic_phone}."
    broken = tmp_path / "replies.yml"
    broken.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match="emergency_number"):
        load_reply_texts(broken)


# --- callback number -------------------------------------------------------------------------


@pytest.fixture
def ticket_id(db: Database) -> str:
    return record_report(db, make_report(), make_clinic())


def stored(db: Database, ticket_id: str) -> Ticket:
    with db.session() as session:
        return session.get(Ticket, ticket_id)


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("98765 43210", "IN", "+919876543210"),
        ("+91 98765-43210", "IN", "+919876543210"),
        ("+971 50 123 4567", "IN", "+971501234567"),
        ("050 123 4567", "AE", "+971501234567"),
    ],
)
def test_valid_numbers_are_stored_as_e164(
    db: Database,
    ticket_id: str,
    raw: str,
    region: str,
    e164: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG):
        saved = save_callback_number(db, ticket_id, raw, make_clinic(region=region), consent=True)
    assert saved == e164
    ticket = stored(db, ticket_id)
    assert ticket.callback_number == e164 and ticket.callback_consent_at is not None
    assert e164 not in caplog.text and raw not in caplog.text
    with db.session() as session:
        details = [
            (a.action, a.detail) for a in session.execute(select(AuditEntry)).scalars().all()
        ]
    assert ("callback_requested", None) in details
    assert not any(e164[3:] in (d or "") for _, d in details)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("call me maybe", "unreadable"),
        ("", "unreadable"),
        (None, "unreadable"),
        ("98765", "too_short"),
        ("+91 98765 43210 12345 678", "too_long"),
        ("+91 0000 000000", "invalid"),
    ],
)
def test_bad_numbers_are_refused_with_a_clear_message(
    db: Database, ticket_id: str, raw: str | None, reason: str
) -> None:
    with pytest.raises(InvalidCallbackNumber) as refused:
        save_callback_number(db, ticket_id, raw, make_clinic(), consent=True)  # type: ignore[arg-type]
    assert refused.value.reason == reason
    assert str(refused.value) and "{" not in str(refused.value)
    assert stored(db, ticket_id).callback_number is None


def test_no_consent_stores_nothing(db: Database, ticket_id: str) -> None:
    with pytest.raises(CallbackConsentMissing) as refused:
        save_callback_number(db, ticket_id, "98765 43210", make_clinic(), consent=False)
    assert make_clinic().phone in str(refused.value)
    ticket = stored(db, ticket_id)
    assert ticket.callback_number is None and ticket.callback_consent_at is None


def test_unknown_ticket_is_refused(db: Database) -> None:
    with pytest.raises(UnknownTicket):
        save_callback_number(db, "f" * 32, "98765 43210", make_clinic(), consent=True)
