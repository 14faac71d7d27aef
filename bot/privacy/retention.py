"""Retention: remove or anonymise everything past its limit (data/clinic.yml `privacy:`).

`conversation_retention_days` applies to every place registered with retention "conversation"
(tracker events, the spool, WhatsApp ids and journal, template fallbacks, review items);
`transcript_retention_days` to ticket transcripts, messages and callback numbers (the ticket's
record stays). The worker runs `apply_retention` once every RETENTION_EVERY (bot/tickets/notify/
worker.py); each run that removed anything writes one audit row with the counts per place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.clinic import PrivacySettings
from bot.privacy.registry import PrivacyContext, places
from bot.storage.models import utcnow
from bot.tickets import audit

logger = logging.getLogger(__name__)

RETENTION_EVERY = timedelta(hours=1)
RETENTION_APPLIED = "retention_applied"
ACTOR = "retention"


@dataclass(frozen=True)
class RetentionRun:
    counts: dict[str, int] = field(default_factory=dict)
    failed: tuple[str, ...] = ()

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def cutoffs(settings: PrivacySettings, now: datetime) -> dict[str, datetime]:
    return {
        "conversation": now - timedelta(days=settings.conversation_retention_days),
        "transcript": now - timedelta(days=settings.transcript_retention_days),
    }


def apply_retention(
    ctx: PrivacyContext, settings: PrivacySettings, now: datetime | None = None
) -> RetentionRun:
    """Expire every place past its limit; a place that fails is logged and tried next run."""
    limits = cutoffs(settings, now or utcnow())
    counts: dict[str, int] = {}
    failed: list[str] = []
    for place in places():
        try:
            counts[place.name] = place.expire(ctx, limits[place.retention])
        except Exception as exc:
            failed.append(place.name)
            logger.error("retention: %s failed (%s)", place.name, type(exc).__name__)
    run = RetentionRun(counts, tuple(failed))
    if run.total:
        ctx.compact()
    if run.total or failed:
        detail = " ".join(f"{name}={n}" for name, n in sorted(counts.items()))
        if failed:
            detail += " failed=" + ",".join(failed)
        audit.record(ctx.db, ACTOR, RETENTION_APPLIED, None, detail)
        logger.info("retention: %s", detail)
    return run


class RetentionSchedule:
    """Runs `apply_retention` at most once every `every` (monotonic time), for the worker."""

    def __init__(
        self,
        every: timedelta = RETENTION_EVERY,
        clock: Callable[[], float] | None = None,
    ) -> None:
        import time

        self.every = every.total_seconds()
        self.clock = clock or time.monotonic
        self.last: float | None = None

    def due(self) -> bool:
        return self.last is None or self.clock() - self.last >= self.every

    def ran(self) -> None:
        self.last = self.clock()
