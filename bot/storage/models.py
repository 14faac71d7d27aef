"""All SQL tables. Each room owns its tables; they share one metadata so one database holds them.
The database keeps records only; the knowledge base is its files (bot/knowledge).

triage:    Ticket, Notification (outbox), AuditEntry, StaffUser, StaffSession
channels:  SeenChannelMessage, InboundJournalEntry, TemplateFallback
review:    ReviewItem
privacy:   ErasureJob, ErasureHold
handoff:   HandoffHold, HandoffMessage, HandoffContact
"""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
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
    __table_args__ = (
        UniqueConstraint("conversation_id", "message_id", name="uq_ticket_message"),
        # The inbox's lists, counts and live updates (bot/tickets/inbox_search.py).
        Index("ix_tickets_status_severity_created_at", "status", "severity", "created_at"),
        Index("ix_tickets_status_resolved_at", "status", "resolved_at"),
        Index("ix_tickets_channel_created_at", "channel", "created_at"),
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_recorded_at", "recorded_at"),
    )

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
    # When the row was written (created_at is when the patient reported: a spooled report is
    # written later). The inbox's live updates follow it. NULL only on rows older than 0007.
    recorded_at = Column(DateTime(timezone=True), nullable=True, default=utcnow)


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
    role = Column(String(16), nullable=False, default="staff", server_default="staff")
    paused_at = Column(DateTime(timezone=True), nullable=True)  # set: cannot sign in
    # TOTP second factor (RFC 6238, base32): `totp_secret` once confirmed with a code; an
    # enrolment not confirmed yet waits in `totp_pending_secret`. `totp_last_step` is the time
    # step of the last code accepted, so a code cannot be used twice.
    totp_secret = Column(String(64), nullable=True)
    totp_pending_secret = Column(String(64), nullable=True)
    totp_last_step = Column(Integer, nullable=True)


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


# --- review queue ----------------------------------------------------------------------------


class ReviewItem(Base):
    """A patient message the assistant was unsure about, kept for staff to label
    (bot/review). `conversation_id` serves erasure only and is never shown or exported; one row
    per (conversation, message, reason), so a retried action does not add it twice."""

    __tablename__ = "review_items"
    __table_args__ = (
        UniqueConstraint("conversation_id", "message_id", "reason", name="uq_review_message"),
    )

    id = Column(Integer, primary_key=True, autoincrement=True)
    created_at = Column(DateTime(timezone=True), nullable=False, default=utcnow, index=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    message_id = Column(String(128), nullable=False)
    reason = Column(String(32), nullable=False, index=True)
    text = Column(Text, nullable=False)
    language = Column(String(16), nullable=True)
    reply_language = Column(String(16), nullable=True)
    assistant_did = Column(String(128), nullable=False)
    top_intents = Column(JSON, nullable=False, default=list)
    confidence = Column(Float, nullable=True)
    detector = Column(JSON, nullable=True)
    label = Column(String(16), nullable=True, index=True)  # topic | out_of_scope | missed_symptom
    label_intent = Column(String(64), nullable=True)
    label_severity = Column(String(16), nullable=True)
    labelled_by = Column(String(64), nullable=True)
    labelled_at = Column(DateTime(timezone=True), nullable=True)
    exported_at = Column(DateTime(timezone=True), nullable=True)


# --- privacy ---------------------------------------------------------------------------------


class ErasureJob(Base):
    """One conversation's erasure (bot/privacy/erasure.py), recorded before any step runs.

    status: "pending" (steps left; the worker finishes it), "holding" (done except tickets an
    open emergency or urgent report keeps, see `ErasureHold`) or "done". `conversation_id` is
    kept only while the job is unfinished; `conversation_key` (its SHA-256) makes a second
    request for the same conversation reuse the job. `steps_done` and `counts` hold place names
    and numbers only, never content.
    """

    __tablename__ = "privacy_erasures"

    id = Column(String(32), primary_key=True, default=new_id)
    conversation_key = Column(String(64), nullable=False, unique=True)
    conversation_id = Column(String(255), nullable=True)
    requested_by = Column(String(64), nullable=False)
    requested_at = Column(DateTime(timezone=True), nullable=False, default=utcnow)
    status = Column(String(16), nullable=False, default="pending", index=True)
    steps_done = Column(JSON, nullable=False, default=list)
    counts = Column(JSON, nullable=False, default=dict)
    attempts = Column(Integer, nullable=False, default=0)
    last_error = Column(String(200), nullable=True)
    finished_at = Column(DateTime(timezone=True), nullable=True)


class ErasureHold(Base):
    """A ticket an erasure must wait for: erased when a clinician resolves it."""

    __tablename__ = "privacy_erasure_holds"

    ticket_id = Column(String(32), primary_key=True)
    erasure_id = Column(
        String(32), ForeignKey("privacy_erasures.id", ondelete="CASCADE"), nullable=False
    )


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
