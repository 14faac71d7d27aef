"""The inbound journal: every accepted WhatsApp message is kept until it has been answered.

Meta does not deliver a message again once the webhook answered 200, so the channel writes the
message here before that answer, in the same transaction as its dedupe id (`SeenChannelMessage`):
"seen" and "journaled" cannot disagree. Entry states:

- pending: done_at and failed_at NULL. Whoever holds the lease (`lease_until` in the future,
  `claim_token` its holder) is answering it; the process that accepted it holds it from the
  start and renews it while the turn runs (`hold`).
- done: answered (or handled without an answer); `phone` and `text` are cleared at once.
- failed: replayed `max_attempts` times without success; payload cleared, an error logged.

A process that dies mid-turn stops renewing; once the lease has run out, the sweeper of any
Rasa process claims the entry (bot/storage/lease.py: one conditional UPDATE, so exactly one
process wins, on PostgreSQL and SQLite) and replays it. Done and failed entries are deleted
after `retention`.

Settings (environment, with defaults): MESO_WHATSAPP_JOURNAL_LEASE_SECONDS (20),
MESO_WHATSAPP_JOURNAL_MAX_ATTEMPTS (3), MESO_WHATSAPP_JOURNAL_RETENTION_DAYS (7).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.channels.whatsapp.webhook import Inbound
from bot.storage.db import Database
from bot.storage.lease import claim_lease
from bot.storage.models import InboundJournalEntry, SeenChannelMessage, utcnow

logger = logging.getLogger(__name__)

LEASE_ENV = "MESO_WHATSAPP_JOURNAL_LEASE_SECONDS"
MAX_ATTEMPTS_ENV = "MESO_WHATSAPP_JOURNAL_MAX_ATTEMPTS"
RETENTION_ENV = "MESO_WHATSAPP_JOURNAL_RETENTION_DAYS"
BATCH_SIZE = 20


@dataclass(frozen=True)
class JournalSettings:
    lease: timedelta = timedelta(seconds=20)
    max_attempts: int = 3
    retention: timedelta = timedelta(days=7)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> JournalSettings:
        def number(name: str, default: float) -> float:
            raw = environ.get(name, "").strip()
            try:
                value = float(raw) if raw else default
            except ValueError:
                logger.warning("%s=%r is not a number; using %s", name, raw, default)
                return default
            return value if value > 0 else default

        return cls(
            lease=timedelta(seconds=number(LEASE_ENV, 20)),
            max_attempts=int(number(MAX_ATTEMPTS_ENV, 3)),
            retention=timedelta(days=number(RETENTION_ENV, 7)),
        )


class Acceptance(Enum):
    JOURNALED = "journaled"  # new: kept, and this process holds its lease
    DUPLICATE = "duplicate"  # its id was seen before: skip it
    UNAVAILABLE = "unavailable"  # the database failed: not kept (the caller decides)


@dataclass(frozen=True)
class Accepted:
    outcome: Acceptance
    token: str = ""


@dataclass(frozen=True)
class Claimed:
    """A pending entry this process has claimed for a replay."""

    message_id: str
    token: str
    attempts: int
    inbound: Inbound = field(repr=False)


def new_token() -> str:
    return uuid.uuid4().hex


class InboundJournal:
    def __init__(
        self,
        database: Database,
        channel: str,
        settings: JournalSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.channel = channel
        self.settings = settings or JournalSettings()
        self.clock = clock

    # --- the accepting process -------------------------------------------------------------

    def accept(self, ref: str, inbound: Inbound) -> Accepted:
        """Record `ref` as seen and journal `inbound` under it, in one transaction."""
        now, token = self.clock(), new_token()
        try:
            with self.database.session() as session:
                session.add(SeenChannelMessage(channel=self.channel, message_id=ref, seen_at=now))
                session.flush()  # the dedupe insert first: a duplicate fails here
                session.add(
                    InboundJournalEntry(
                        channel=self.channel,
                        message_id=ref,
                        received_at=now,
                        phone=inbound.phone,
                        kind=inbound.kind,
                        message_type=inbound.message_type[:32],
                        text=inbound.text,
                        attempts=0,
                        claim_token=token,
                        lease_until=now + self.settings.lease,
                    )
                )
        except IntegrityError:
            return Accepted(Acceptance.DUPLICATE)
        except SQLAlchemyError as exc:
            logger.error("whatsapp: could not journal %s (%s)", ref, type(exc).__name__)
            return Accepted(Acceptance.UNAVAILABLE)
        return Accepted(Acceptance.JOURNALED, token)

    def renew(self, ref: str, token: str) -> bool:
        """Extend the lease of an entry this holder still holds; False when it lost it."""
        with self.database.session() as session:
            changed = session.execute(
                update(InboundJournalEntry)
                .where(*self._row(ref), InboundJournalEntry.claim_token == token, self._pending())
                .values(lease_until=self.clock() + self.settings.lease)
                .execution_options(synchronize_session=False)
            ).rowcount
        return changed == 1

    @contextlib.asynccontextmanager
    async def hold(self, ref: str, token: str) -> AsyncIterator[None]:
        """Renew the lease of `ref` every third of the lease while the body runs."""

        async def renew_forever() -> None:
            interval = self.settings.lease.total_seconds() / 3
            while True:
                await asyncio.sleep(interval)
                try:
                    if not await asyncio.to_thread(self.renew, ref, token):
                        logger.warning("whatsapp: lost the lease of %s", ref)
                        return
                except SQLAlchemyError as exc:
                    logger.warning("whatsapp: could not renew %s (%s)", ref, type(exc).__name__)

        renewing = asyncio.get_running_loop().create_task(renew_forever())
        try:
            yield
        finally:
            renewing.cancel()

    def mark_done(self, ref: str) -> None:
        """The message was answered or handled: done, payload cleared. Idempotent."""
        with self.database.session() as session:
            session.execute(
                update(InboundJournalEntry)
                .where(*self._row(ref), InboundJournalEntry.done_at.is_(None))
                .values(done_at=self.clock(), failed_at=None, phone=None, text=None)
                .execution_options(synchronize_session=False)
            )

    # --- the sweeper -----------------------------------------------------------------------

    def claim_due(self, limit: int = BATCH_SIZE) -> list[Claimed]:
        """Claim pending entries whose lease has run out (oldest first) for a replay. Entries
        that have used up their attempts are marked failed instead (and logged)."""
        now = self.clock()
        with self.database.session() as session:
            due = session.execute(
                select(InboundJournalEntry.message_id)
                .where(
                    InboundJournalEntry.channel == self.channel,
                    self._pending(),
                    InboundJournalEntry.lease_until <= now,
                )
                .order_by(InboundJournalEntry.received_at)
                .limit(limit)
            ).scalars()
            due_ids = list(due)
        claimed: list[Claimed] = []
        for ref in due_ids:
            entry = self.claim(ref, now)
            if entry is not None:
                claimed.append(entry)
        return claimed

    def claim(self, ref: str, now: datetime | None = None) -> Claimed | None:
        """Claim the pending entry `ref` if its lease has run out: exactly one of several
        concurrent callers gets it; the others (and any call while it is leased) get None."""
        now = now or self.clock()
        token = new_token()
        with self.database.session() as session:
            won = claim_lease(
                session,
                InboundJournalEntry,
                [*self._row(ref), self._pending()],
                InboundJournalEntry.lease_until,
                now,
                self.settings.lease,
                claim_token=token,
                attempts=InboundJournalEntry.attempts + 1,
            )
            if not won:
                return None
            entry = session.execute(select(InboundJournalEntry).where(*self._row(ref))).scalar_one()
            if entry.attempts > self.settings.max_attempts:
                entry.failed_at = now
                entry.phone = entry.text = None
                logger.error(
                    "whatsapp: gave up on %s after %d replays; it was not answered",
                    ref,
                    entry.attempts - 1,
                )
                return None
            inbound = Inbound(
                message_id=ref,
                phone=entry.phone or "",
                kind="text" if entry.kind == "text" else "unsupported",
                text=entry.text or "",
                message_type=entry.message_type,
            )
            return Claimed(ref, token, entry.attempts, inbound)

    def prune(self) -> int:
        """Delete done and failed entries older than the retention; the number deleted."""
        cutoff = self.clock() - self.settings.retention
        with self.database.session() as session:
            return session.execute(
                delete(InboundJournalEntry)
                .where(
                    InboundJournalEntry.channel == self.channel,
                    or_(
                        InboundJournalEntry.done_at <= cutoff,
                        InboundJournalEntry.failed_at <= cutoff,
                    ),
                )
                .execution_options(synchronize_session=False)
            ).rowcount

    def pending_count(self) -> int:
        with self.database.session() as session:
            return len(
                session.execute(
                    select(InboundJournalEntry.message_id).where(
                        InboundJournalEntry.channel == self.channel, self._pending()
                    )
                ).all()
            )

    def _row(self, ref: str) -> list[object]:
        return [InboundJournalEntry.channel == self.channel, InboundJournalEntry.message_id == ref]

    @staticmethod
    def _pending() -> object:
        return InboundJournalEntry.done_at.is_(None) & InboundJournalEntry.failed_at.is_(None)
