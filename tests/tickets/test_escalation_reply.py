"""The escalation reply texts (bot/triage/escalation.py), with the ticket reference."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.datafiles import DataFileError
from bot.tickets.records import ticket_reference
from bot.triage.escalation import (
    REPLIES_FILE,
    callback_text,
    escalation_reply,
    load_reply_texts,
)

from .helpers import make_clinic

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
    envelope = reply.rasa_message()["custom"]["meso"]
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
    text = reply.rasa_message()
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
