"""Records of live handoffs: who holds a conversation, its thread, WhatsApp return addresses.

Contracts:
- `take` is atomic: the hold's primary key is the conversation id, so of two clinicians taking
  one conversation at once exactly one insert succeeds; the other gets `AlreadyHeld` naming
  the holder (SQLite and PostgreSQL alike).
- Every clinician line (message, joined, handed back) is stored before anything is sent, as
  `pending` (or `no_return_channel` on a channel that cannot be written to, e.g. the kiosk).
  The Rasa server's relay (bot/rasa/handoff.py) claims pending lines with one conditional
  UPDATE each, so exactly one process sends a line (one a relay took and never finished, it
  having died, is taken again after CLAIM_TIMEOUT), and records how it went: `delivered`,
  `template` (WhatsApp's 24-hour window had closed: the approved template went instead) or
  `undelivered` (the patient has left); the text is never dropped.
- Patient replies and what the assistant said meanwhile are stored as `received` lines.
- Take, message and hand-back each write an audit row in the same transaction. Audit details
  name the line, never its text: the audit trail is never erased, the thread can be.
- `erase_conversation`, `expire_before` and `export_conversation` are this room's part of
  retention and erasure (bot/privacy registers them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.db import Database
from bot.storage.models import (
    HandoffContact,
    HandoffHold,
    HandoffMessage,
    as_utc,
    utcnow,
)
from bot.tickets import audit

# Who wrote a line.
CLINICIAN = "clinician"
PATIENT = "patient"
ASSISTANT = "assistant"
# What a clinician line is.
MESSAGE = "message"
JOINED = "joined"
HANDED_BACK = "handed_back"
# Delivery states.
PENDING = "pending"
SENDING = "sending"
DELIVERED = "delivered"
TEMPLATE = "template"
UNDELIVERED = "undelivered"
NO_RETURN_CHANNEL = "no_return_channel"
RECEIVED = "received"
FINAL_STATES = frozenset({DELIVERED, TEMPLATE, UNDELIVERED, NO_RETURN_CHANNEL, RECEIVED})

# Channels a clinician can write back to (ticket.channel values); the kiosk has no return path.
RETURN_CHANNELS = frozenset({"socketio", "whatsapp"})
MESSAGE_MAX = 8000  # characters a clinician may type; the channel splits what it must
BATCH_SIZE = 20
CLAIM_TIMEOUT = timedelta(seconds=60)  # a relay that took a line this long ago has died
_TAKE_ATTEMPTS = 3


@dataclass(frozen=True)
class Hold:
    conversation_id: str
    ticket_id: str | None
    channel: str
    clinician: str
    started_at: datetime


@dataclass(frozen=True)
class ThreadLine:
    id: int
    conversation_id: str
    channel: str
    at: datetime
    sender: str
    kind: str
    author: str | None
    text: str
    lang: str | None
    delivery: str
    detail: str | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


class AlreadyHeld(Exception):
    """Someone else holds the conversation (`holder`)."""

    def __init__(self, holder: Hold | None) -> None:
        super().__init__(f"held by {holder.clinician if holder else 'another clinician'}")
        self.holder = holder


class NotHeld(Exception):
    """The conversation is not held by the one who tried to write in it (`holder` is who does,
    or None when nobody does)."""

    def __init__(self, holder: Hold | None) -> None:
        super().__init__(f"held by {holder.clinician}" if holder else "not held")
        self.holder = holder


def can_write_back(channel: str) -> bool:
    return channel in RETURN_CHANNELS


def _hold(row: HandoffHold) -> Hold:
    return Hold(
        row.conversation_id, row.ticket_id, row.channel, row.clinician, as_utc(row.started_at)
    )


def _line(row: HandoffMessage) -> ThreadLine:
    return ThreadLine(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        at=as_utc(row.at),
        sender=row.sender,
        kind=row.kind,
        author=row.author,
        text=row.text,
        lang=row.lang,
        delivery=row.delivery,
        detail=row.detail,
    )


def holder(db: Database, conversation_id: str) -> Hold | None:
    with db.session() as session:
        row = session.get(HandoffHold, conversation_id)
        return _hold(row) if row is not None else None


def _clinician_line(
    session: Session, hold: Hold | HandoffHold, clinician: str, kind: str, text: str
) -> HandoffMessage:
    row = HandoffMessage(
        conversation_id=hold.conversation_id,
        ticket_id=hold.ticket_id,
        channel=hold.channel,
        sender=CLINICIAN,
        kind=kind,
        author=clinician,
        text=text,
        delivery=PENDING if can_write_back(hold.channel) else NO_RETURN_CHANNEL,
    )
    session.add(row)
    session.flush()
    return row


def take(
    db: Database, conversation_id: str, ticket_id: str | None, channel: str, clinician: str
) -> Hold:
    """Hold the conversation for `clinician` and queue the "has joined" notice (its words are
    chosen in the patient's language when it is sent). Raises AlreadyHeld when another
    clinician holds it; taking one's own again is a no-op that returns the hold."""
    for _ in range(_TAKE_ATTEMPTS):
        try:
            with db.session() as session:
                row = HandoffHold(
                    conversation_id=conversation_id,
                    ticket_id=ticket_id,
                    channel=channel,
                    clinician=clinician,
                )
                session.add(row)
                session.flush()
                line = _clinician_line(session, row, clinician, JOINED, "")
                audit.add(
                    session,
                    clinician,
                    audit.HANDOFF_TAKEN,
                    ticket_id,
                    f"conversation on {channel}; notice {line.id}",
                )
                return _hold(row)
        except IntegrityError:
            current = holder(db, conversation_id)
            if current is None:
                continue  # handed back in between: try again
            if current.clinician == clinician:
                return current
            raise AlreadyHeld(current) from None
    raise AlreadyHeld(holder(db, conversation_id))


def send(db: Database, conversation_id: str, clinician: str, text: str) -> ThreadLine:
    """Queue `clinician`'s message to the patient. Raises NotHeld unless they hold the
    conversation; ValueError for an empty text. The text is kept as typed (cut at
    MESSAGE_MAX): pages show it as text, channels split it as they split replies."""
    text = text.strip()[:MESSAGE_MAX]
    if not text:
        raise ValueError("empty message")
    with db.session() as session:
        row = session.get(HandoffHold, conversation_id, with_for_update=True)
        if row is None or row.clinician != clinician:
            raise NotHeld(_hold(row) if row is not None else None)
        line = _clinician_line(session, row, clinician, MESSAGE, text)
        audit.add(
            session,
            clinician,
            audit.HANDOFF_MESSAGE,
            row.ticket_id,
            f"message {line.id} to the patient on {row.channel} ({len(text)} characters)",
        )
        return _line(line)


def hand_back(db: Database, conversation_id: str, clinician: str) -> Hold:
    """End the handoff (any signed-in clinician may: the holder may have gone home) and queue
    the notice that the assistant answers again. Raises NotHeld when nobody holds it."""
    with db.session() as session:
        row = session.get(HandoffHold, conversation_id, with_for_update=True)
        if row is None:
            raise NotHeld(None)
        hold = _hold(row)
        session.delete(row)
        session.flush()
        line = _clinician_line(session, hold, clinician, HANDED_BACK, "")
        detail = f"notice {line.id}" + (
            f"; {hold.clinician} held it" if hold.clinician != clinician else ""
        )
        audit.add(session, clinician, audit.HANDOFF_RETURNED, hold.ticket_id, detail)
        return hold


def thread(db: Database, conversation_id: str, after: int = 0) -> list[ThreadLine]:
    """The conversation's handoff lines with id > `after`, oldest first."""
    with db.session() as session:
        rows = session.execute(
            select(HandoffMessage)
            .where(HandoffMessage.conversation_id == conversation_id)
            .where(HandoffMessage.id > after)
            .order_by(HandoffMessage.id)
        ).scalars()
        return [_line(row) for row in rows]


def lines(db: Database, ids: Sequence[int]) -> list[ThreadLine]:
    if not ids:
        return []
    with db.session() as session:
        rows = session.execute(
            select(HandoffMessage).where(HandoffMessage.id.in_(list(ids)))
        ).scalars()
        return [_line(row) for row in rows]


# --- the Rasa server's side -----------------------------------------------------------------


def _sendable(now: datetime) -> Any:
    """Pending lines, and lines a relay took more than CLAIM_TIMEOUT ago without recording an
    outcome (it died mid-send: sent again, so a line may arrive twice but is never lost)."""
    return or_(
        HandoffMessage.delivery == PENDING,
        and_(HandoffMessage.delivery == SENDING, HandoffMessage.claimed_at < now - CLAIM_TIMEOUT),
    )


def pending(db: Database, limit: int = BATCH_SIZE) -> list[ThreadLine]:
    """Clinician lines waiting to be sent, oldest first."""
    with db.session() as session:
        rows = session.execute(
            select(HandoffMessage)
            .where(_sendable(utcnow()))
            .order_by(HandoffMessage.id)
            .limit(limit)
        ).scalars()
        return [_line(row) for row in rows]


def claim(db: Database, line_id: int) -> bool:
    """Take a line for sending: one conditional UPDATE, so exactly one relay wins."""
    now = utcnow()
    with db.session() as session:
        result = session.execute(
            update(HandoffMessage)
            .where(HandoffMessage.id == line_id)
            .where(_sendable(now))
            .values(delivery=SENDING, claimed_at=now)
        )
        return result.rowcount == 1


def claim_pending(db: Database, limit: int = BATCH_SIZE) -> list[ThreadLine]:
    """Every pending line this relay could claim, oldest first (see `claim`)."""
    return [line for line in pending(db, limit) if claim(db, line.id)]


def finish(
    db: Database,
    line_id: int,
    delivery: str,
    detail: str | None = None,
    text: str | None = None,
    lang: str | None = None,
) -> None:
    """Record how a claimed line went (and, for a notice, the words the patient got: a notice
    is stored without text, since its words depend on the patient's language)."""
    values: dict[str, Any] = {"delivery": delivery, "detail": (detail or None)}
    if delivery in (DELIVERED, TEMPLATE):
        values["delivered_at"] = utcnow()
    if text is not None:
        values["text"] = text
    if lang is not None:
        values["lang"] = lang
    with db.session() as session:
        session.execute(update(HandoffMessage).where(HandoffMessage.id == line_id).values(**values))


def record_received(db: Database, conversation_id: str, sender: str, texts: Sequence[str]) -> int:
    """Add the patient's message (or what the assistant said) to a held conversation's thread;
    nothing when nobody holds it. Returns the lines added."""
    texts = [t for t in texts if t]
    if not texts:
        return 0
    with db.session() as session:
        hold = session.get(HandoffHold, conversation_id)
        if hold is None:
            return 0
        for text in texts:
            session.add(
                HandoffMessage(
                    conversation_id=conversation_id,
                    ticket_id=hold.ticket_id,
                    channel=hold.channel,
                    sender=sender,
                    kind=MESSAGE,
                    text=text,
                    delivery=RECEIVED,
                )
            )
        return len(texts)


def save_contact(db: Database, channel: str, conversation_id: str, phone: str) -> None:
    """Remember the number behind a pseudonym (a conversation that raised a ticket)."""
    with db.session() as session:
        row = session.get(HandoffContact, (channel, conversation_id))
        if row is None:
            session.add(
                HandoffContact(channel=channel, conversation_id=conversation_id, phone=phone)
            )
        else:
            row.phone = phone
            row.updated_at = utcnow()


def contact(db: Database, channel: str, conversation_id: str) -> str | None:
    with db.session() as session:
        row = session.get(HandoffContact, (channel, conversation_id))
        return row.phone if row is not None else None


# --- retention and erasure (registered by bot/privacy) ---------------------------------------


def erase_conversation(db: Database, conversation_id: str) -> int:
    """Delete the conversation's thread, hold and return address; returns the rows removed."""
    removed = 0
    with db.session() as session:
        for table in (HandoffMessage, HandoffHold, HandoffContact):
            result = session.execute(delete(table).where(table.conversation_id == conversation_id))
            removed += result.rowcount or 0
    return removed


def expire_before(db: Database, cutoff: datetime) -> int:
    """Delete thread lines written, and return addresses last used, before `cutoff`."""
    with db.session() as session:
        removed = session.execute(delete(HandoffMessage).where(HandoffMessage.at < cutoff)).rowcount
        removed += session.execute(
            delete(HandoffContact).where(HandoffContact.updated_at < cutoff)
        ).rowcount
    return removed or 0


def export_conversation(db: Database, conversation_id: str) -> list[dict[str, Any]]:
    """Everything this room keeps about the conversation, as plain data."""
    out: list[dict[str, Any]] = [
        {"table": "handoff_messages", **line.as_json()} for line in thread(db, conversation_id)
    ]
    with db.session() as session:
        for hold in session.execute(
            select(HandoffHold).where(HandoffHold.conversation_id == conversation_id)
        ).scalars():
            data = asdict(_hold(hold))
            data["started_at"] = data["started_at"].isoformat()
            out.append({"table": "handoff_holds", **data})
        for row in session.execute(
            select(HandoffContact).where(HandoffContact.conversation_id == conversation_id)
        ).scalars():
            out.append(
                {
                    "table": "handoff_contacts",
                    "channel": row.channel,
                    "conversation_id": row.conversation_id,
                    "phone": row.phone,
                    "updated_at": as_utc(row.updated_at).isoformat(),
                }
            )
    return out
