"""The notification outbox: deliver due `Notification` rows, retry with backoff, never delete.

Row states: pending (delivered_at NULL, attempts < max_attempts), delivered (delivered_at set),
failed (delivered_at NULL, attempts >= max_attempts, last_error says why; an error is logged).

Claim (bot/storage/lease.py): before sending, a worker moves the row's next_attempt_at forward
by a lease with `UPDATE ... WHERE id = :id AND delivered_at IS NULL AND next_attempt_at <= now`
and sends only if that changed one row, so two workers never send the same row at once. Success sets
delivered_at right after the send; a crash between the two resends after the lease (at least
once; receivers dedupe by ticket id).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from bot.clinic import ClinicConfig
from bot.observability.metrics import note_notification_attempt
from bot.storage.db import Database
from bot.storage.lease import claim_lease
from bot.storage.models import Notification, Ticket, utcnow
from bot.tickets import audit
from bot.tickets.notify.mail import EmailSender
from bot.tickets.notify.notice import Sender, TicketNotice
from bot.tickets.notify.webhook import WebhookSender
from bot.triage.result import SEVERITY_ORDER

logger = logging.getLogger(__name__)

BACKOFF_CAP_SECONDS = 900.0
LEASE = timedelta(seconds=120)  # longer than any sender's timeout
BATCH_SIZE = 100
CONCURRENCY = 4
WORKER_ACTOR = "notifier"


def backoff_delay(attempts: int, base: float, rng: random.Random) -> float:
    """Seconds to wait after the `attempts`-th failure: exponential from `base`, capped at
    BACKOFF_CAP_SECONDS, with "equal jitter" (between half and all of that)."""
    ceiling = min(BACKOFF_CAP_SECONDS, base * 2 ** max(attempts - 1, 0))
    return ceiling / 2 + rng.uniform(0, ceiling / 2)


def senders_for(clinic: ClinicConfig) -> dict[str, Sender]:
    """The senders for the targets configured in data/clinic.yml."""
    senders: dict[str, Sender] = {}
    if clinic.notifications.webhook_url:
        senders["webhook"] = WebhookSender(clinic.notifications.webhook_url)
    if clinic.notifications.email:
        senders["email"] = EmailSender(clinic.notifications.email)
    return senders


@dataclass
class OutboxPass:
    """What one `deliver_due` pass did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0


@dataclass(frozen=True)
class _Due:
    id: int
    target: str
    severity: str


class Outbox:
    def __init__(
        self,
        clinic: ClinicConfig,
        senders: Mapping[str, Sender] | None = None,
        clock: Callable[[], datetime] = utcnow,
        rng: random.Random | None = None,
    ) -> None:
        self.clinic = clinic
        self.senders = dict(senders) if senders is not None else senders_for(clinic)
        self.clock = clock
        self.rng = rng or random.Random()

    @property
    def max_attempts(self) -> int:
        return self.clinic.notifications.max_attempts

    async def deliver_due(self, db: Database) -> OutboxPass:
        """Send every due row once: all emergencies before any urgent row, and so on down;
        rows of one severity go out concurrently. DB errors propagate."""
        result = OutboxPass()
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(row: _Due) -> None:
            async with limit:
                await self._deliver(db, row, result)

        for _, rows in itertools.groupby(self._due(db), key=lambda d: d.severity):
            await asyncio.gather(*(one(row) for row in rows))
        return result

    def _due(self, db: Database) -> list[_Due]:
        now = self.clock()
        with db.session() as session:
            rows = session.execute(
                select(Notification.id, Notification.target, Ticket.severity)
                .join(Ticket, Ticket.id == Notification.ticket_id)
                .where(
                    Notification.delivered_at.is_(None),
                    Notification.attempts < self.max_attempts,
                    Notification.next_attempt_at <= now,
                )
                .order_by(Notification.next_attempt_at)
                .limit(BATCH_SIZE)
            ).all()
        due = [_Due(id=r.id, target=r.target, severity=r.severity) for r in rows]
        return sorted(due, key=lambda d: -SEVERITY_ORDER.get(d.severity, 0))

    async def _deliver(self, db: Database, row: _Due, result: OutboxPass) -> None:
        notice = self._claim(db, row)
        if notice is None:
            return  # another worker has it, or it was delivered meanwhile
        try:
            sender = self.senders.get(row.target)
            if sender is None:
                raise LookupError(f"no {row.target} target configured in data/clinic.yml")
            await sender.send(notice)
        except Exception as exc:
            self._record_failure(db, row, notice, f"{exc}"[:1000] or type(exc).__name__, result)
            return
        self._record_success(db, row, notice)
        result.delivered += 1
        note_notification_attempt(row.target, "delivered")

    def _claim(self, db: Database, row: _Due) -> TicketNotice | None:
        now = self.clock()
        with db.session() as session:
            claimed = claim_lease(
                session,
                Notification,
                [
                    Notification.id == row.id,
                    Notification.delivered_at.is_(None),
                    Notification.attempts < self.max_attempts,
                ],
                Notification.next_attempt_at,
                now,
                LEASE,
            )
            if not claimed:
                return None
            ticket = session.execute(
                select(Ticket)
                .join(Notification, Notification.ticket_id == Ticket.id)
                .where(Notification.id == row.id)
            ).scalar_one()
            return TicketNotice.from_ticket(ticket)

    def _record_success(self, db: Database, row: _Due, notice: TicketNotice) -> None:
        with db.session() as session:
            session.execute(
                update(Notification)
                .where(Notification.id == row.id, Notification.delivered_at.is_(None))
                .values(
                    delivered_at=self.clock(),
                    attempts=Notification.attempts + 1,
                    last_error=None,
                )
                .execution_options(synchronize_session=False)
            )
            audit.add(
                session,
                WORKER_ACTOR,
                audit.NOTIFICATION_DELIVERED,
                notice.ticket_id,
                f"target={row.target}",
            )
        logger.info("ticket %s: %s notification delivered", notice.ticket_id, row.target)

    def _record_failure(
        self, db: Database, row: _Due, notice: TicketNotice, error: str, result: OutboxPass
    ) -> None:
        with db.session() as session:
            attempts = (
                session.execute(
                    select(Notification.attempts).where(Notification.id == row.id)
                ).scalar_one()
                + 1
            )
            values: dict[str, object] = {"attempts": attempts, "last_error": error}
            gave_up = attempts >= self.max_attempts
            if not gave_up:
                delay = backoff_delay(attempts, self.clinic.notifications.backoff_seconds, self.rng)
                values["next_attempt_at"] = self.clock() + timedelta(seconds=delay)
            session.execute(
                update(Notification)
                .where(Notification.id == row.id, Notification.delivered_at.is_(None))
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            if gave_up:
                audit.add(
                    session,
                    WORKER_ACTOR,
                    audit.NOTIFICATION_FAILED,
                    notice.ticket_id,
                    f"target={row.target} attempts={attempts}: {error}",
                )
        note_notification_attempt(row.target, "failed" if gave_up else "retrying")
        if gave_up:
            result.failed += 1
            logger.error(
                "ticket %s (%s): %s notification FAILED after %d attempts, giving up: %s",
                notice.ticket_id,
                notice.severity,
                row.target,
                attempts,
                error,
            )
        else:
            result.retrying += 1
            logger.warning(
                "ticket %s: %s notification attempt %d failed, will retry: %s",
                notice.ticket_id,
                row.target,
                attempts,
                error,
            )
