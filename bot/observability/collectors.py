"""Gauges read when Prometheus scrapes, not kept up to date by the code: the notification
outbox (one grouped SQL query) and the report spool (a line count of its files). The worker
registers them (`QueueCollector`): it drains both queues, and there is one worker.

A source that cannot be read (the database down) yields no gauge for it and
`meso_scrape_errors{source}` 1, so a scrape never fails and the outage shows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select

from bot.observability.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_FAILED,
    OUTBOX_OLDEST_SECONDS,
    SCRAPE_ERRORS,
    SPOOL_DEPTH,
)
from bot.storage.db import Database
from bot.storage.models import Notification, as_utc, utcnow
from bot.tickets.spool import Spool

logger = logging.getLogger(__name__)


class QueueCollector(Collector):
    """The worker's two queues, read at scrape time:

    - meso_outbox_backlog{target}: notifications waiting to be delivered;
    - meso_outbox_failed{target}: notifications given up after max_attempts;
    - meso_outbox_oldest_pending_seconds: age of the oldest one waiting;
    - meso_spool_depth: reports waiting in the spool to be recorded as tickets;
    - meso_scrape_errors{source}: 1 when "outbox" or "spool" could not be read.
    """

    def __init__(
        self,
        database: Callable[[], Database],
        max_attempts: int,
        spool: Spool,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self.max_attempts = max_attempts
        self.spool = spool
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        errors = GaugeMetricFamily(
            SCRAPE_ERRORS, "1 when a scrape-time gauge could not be read.", labels=["source"]
        )
        try:
            yield from self._outbox()
            errors.add_metric(["outbox"], 0.0)
        except Exception as exc:  # never fail the scrape; the error gauge tells
            logger.warning("outbox gauges not read (%s)", type(exc).__name__)
            errors.add_metric(["outbox"], 1.0)
        try:
            depth = self.spool.pending()
        except OSError as exc:
            logger.warning("spool depth not read (%s)", type(exc).__name__)
            errors.add_metric(["spool"], 1.0)
        else:
            spool = GaugeMetricFamily(SPOOL_DEPTH, "Reports waiting in the spool for the worker.")
            spool.add_metric([], float(depth))
            yield spool
            errors.add_metric(["spool"], 0.0)
        yield errors

    def _outbox(self) -> list[Metric]:
        rows = self._read_outbox()
        backlog = GaugeMetricFamily(
            OUTBOX_BACKLOG, "Notifications waiting to be delivered.", labels=["target"]
        )
        failed = GaugeMetricFamily(
            OUTBOX_FAILED, "Notifications given up after max_attempts.", labels=["target"]
        )
        oldest = GaugeMetricFamily(
            OUTBOX_OLDEST_SECONDS, "Age of the oldest notification waiting to be delivered."
        )
        oldest_at: datetime | None = None
        for target, gave_up, count, first in rows:
            (failed if gave_up else backlog).add_metric([target], float(count))
            if not gave_up and first is not None:
                first = as_utc(first)
                oldest_at = first if oldest_at is None else min(oldest_at, first)
        age = (self.clock() - oldest_at).total_seconds() if oldest_at else 0.0
        oldest.add_metric([], max(age, 0.0))
        return [backlog, failed, oldest]

    def _read_outbox(self) -> list[tuple[str, bool, int, datetime | None]]:
        """(target, given up, rows, oldest created_at) of every undelivered notification."""
        gave_up = case((Notification.attempts >= self.max_attempts, True), else_=False)
        query = (
            select(Notification.target, gave_up, func.count(), func.min(Notification.created_at))
            .where(Notification.delivered_at.is_(None))
            .group_by(Notification.target, gave_up)
        )
        with self._database().session() as session:
            return [(r[0], bool(r[1]), int(r[2]), r[3]) for r in session.execute(query)]
