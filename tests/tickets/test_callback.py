"""The callback number (bot/tickets/callback.py): validated, stored on the ticket only, audited."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.storage.db import Database
from bot.storage.models import AuditEntry, Ticket
from bot.tickets.callback import (
    CallbackConsentMissing,
    InvalidCallbackNumber,
    UnknownTicket,
    save_callback_number,
)
from bot.tickets.records import record_report

from .helpers import make_clinic, make_report


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
