"""All SQL tables. Each room owns its tables; they share one metadata so one database holds them.
The database keeps records only; the knowledge base is its files (bot/knowledge).

triage:    Ticket, Notification (outbox), AuditEntry, StaffUser, StaffSession
channels:  SeenChannelMessage, InboundJournalEntry, TemplateFallback
handoff:   HandoffHold, HandoffMessage, HandoffContact
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import declarative_base

Base = declarative_base()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime; naive values (as SQLite returns them) are taken to be
    UTC, which is how this project stores every time."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def new_id() -> str:
    return uuid.uuid4().hex


# --- triage and escalation -------------------------------------------------------------------


class Ticket(Base):
    """One reported message; unique per (conversation_id, message_id): a retry never doubles it."""

    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("conversation_id", "message_id", name="uq_ticket_message"),)

    id = Column(String(32), primary_key=True, default=new_id)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    channel = Column(String(32), nullable=False)
    conversation_id = Column(String(128), nullable=False, index=True)
    message_id = Column(String(128), nullable=False)
    severity = Column(String(16), nullable=False, index=True)
    symptoms = Column(JSON, nullable=False, default=list)
    trigger_text = Column(Text, nullable=False)
    transcript = Column(JSON, nullable=False, default=list)
    status = Column(String(16), nullable=False, default="open", index=True)
    acknowledged_by = Column(String(64), nullable=True)
    acknowledged_at = Column(DateTime(timezone=True), nullable=True)
    resolved_by = Column(String(64), nullable=True)
    resolved_at = Column(DateTime(timezone=True), nullable=True)
    callback_number = Column(String(32), nullable=True)
    callback_consent_at = Column(DateTime(timezone=True), nullable=True)


class Notification(Base):
    """Outbox row: one per (ticket, target). The worker delivers it at least once."""

    __tablename__ = "notification_outbox"
    __table_args__ = (UniqueConstraint("ticket_id", "target", name="uq_notification_target"),)

    id = Column(Integer, primary_key=True, autoincrement=True)
    ticket_id = Column(String(32), ForeignKey("tickets.id"), nullable=False, index=True)
    target = Column(String(16), nullable=False)  # "webhook" | "email"
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    delivered_at = Column(DateTime(timezone=True), nullable=True)
    last_error = Column(Text, nullable=True)


class StaffUser(Base):
    __tablename__ = "staff_users"

    id = Column(Integer, primary_key=True, autoincrement=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime(timezone=True), nullable=True)


class StaffSession(Base):
    """A signed-in clinician: only the SHA-256 of the cookie token is stored. Expiry slides."""

    __tablename__ = "staff_sessions"

    token_hash = Column(String(64), primary_key=True)
    staff_user_id = Column(
        Integer, ForeignKey("staff_users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    expires_at = Column(DateTime(timezone=True), nullable=False, index=True)


class AuditEntry(Base):
    __tablename__ = "audit_trail"

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(64), nullable=False)
    ticket_id = Column(String(32), nullable=True, index=True)
    detail = Column(Text, nullable=True)


# --- channels --------------------------------------------------------------------------------


class SeenChannelMessage(Base):
    """Inbound message ids already accepted by a channel, for deduplication across restarts."""

    __tablename__ = "channel_seen_messages"

    channel = Column(String(32), primary_key=True)
    message_id = Column(String(255), primary_key=True)
    seen_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class InboundJournalEntry(Base):
    """An accepted inbound message, kept until answered (bot/channels/whatsapp/journal.py).

    Written in the same transaction as its `SeenChannelMessage`. `phone` and `text` are the
    payload a replay needs; they are cleared when the entry is done or failed.
    """

    __tablename__ = "channel_inbound_journal"

    channel = Column(String(32), primary_key=True)
    message_id = Column(String(255), primary_key=True)
    received_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    phone = Column(String(32), nullable=True)
    kind = Column(String(16), nullable=False)
    message_type = Column(String(32), nullable=False)
    text = Column(Text, nullable=True)
    attempts = Column(Integer, nullable=False, default=0)
    claim_token = Column(String(32), nullable=True)
    lease_until = Column(DateTime(timezone=True), nullable=False, index=True)
    done_at = Column(DateTime(timezone=True), nullable=True, index=True)
    failed_at = Column(DateTime(timezone=True), nullable=True)


class TemplateFallback(Base):
    """A reply sent as a template because the 24-hour window had closed."""

    __tablename__ = "channel_template_fallbacks"

    id = Column(Integer, primary_key=True, autoincrement=True)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    channel = Column(String(32), nullable=False)
    conversation_id = Column(String(128), nullable=False)
    template = Column(String(128), nullable=False)
    error_code = Column(Integer, nullable=True)


# --- live handoff (bot/handoff) --------------------------------------------------------------


class HandoffHold(Base):
    """A clinician holding a conversation. The primary key makes taking it atomic: a second
    clinician's insert fails, on SQLite and PostgreSQL alike. Hand-back deletes the row."""

    __tablename__ = "handoff_holds"

    conversation_id = Column(String(128), primary_key=True)
    ticket_id = Column(String(32), nullable=True)
    channel = Column(String(32), nullable=False)
    clinician = Column(String(64), nullable=False)
    started_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)


class HandoffMessage(Base):
    """One line of a handoff thread: a clinician's message (or the joined / handed-back notice)
    on its way to the patient, a patient's reply, or what the assistant said meanwhile.
    `id` orders the thread and is the cursor of its live stream."""

    __tablename__ = "handoff_messages"

    id = Column(Integer, primary_key=True, autoincrement=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    ticket_id = Column(String(32), nullable=True)
    channel = Column(String(32), nullable=False)
    at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    sender = Column(String(16), nullable=False)  # clinician | patient | assistant
    kind = Column(String(16), nullable=False, default="message")  # message | joined | handed_back
    author = Column(String(64), nullable=True)
    text = Column(Text, nullable=False)
    lang = Column(String(16), nullable=True)
    delivery = Column(String(24), nullable=False, index=True)
    claimed_at = Column(DateTime(timezone=True), nullable=True)  # when a relay took it to send
    delivered_at = Column(DateTime(timezone=True), nullable=True)
    detail = Column(String(255), nullable=True)


class HandoffContact(Base):
    """The WhatsApp number behind a conversation pseudonym, kept only for conversations that
    raised a ticket, so a clinician's message can reach the patient."""

    __tablename__ = "handoff_contacts"

    channel = Column(String(32), primary_key=True)
    conversation_id = Column(String(128), primary_key=True)
    phone = Column(String(32), nullable=False)
    updated_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
