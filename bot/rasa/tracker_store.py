"""Rasa's SQL tracker store, plus a durable spool entry for every escalating user message.

endpoints.yml:

    tracker_store:
      type: bot.rasa.tracker_store.SpoolingSQLTrackerStore
      dialect: sqlite
      db: var/rasa_tracker.db
      # spool_dir: var/spool      (optional; default VAR_DIR/spool)

This is the safety net for a down action server or database: before the conversation is written
to SQL, an escalating message is appended to the spool, and the worker drains the spool into
tickets with the same (conversation_id, message_id) the action server uses, so a message handled
by both still makes one ticket. If SQL then fails, Rasa's fail-safe wrapper keeps the
conversation in memory; the spool entry is already on disk.

Doing this in the tracker store rather than an event broker matters for speed: with any broker
configured, Rasa 3.6 re-reads the whole conversation from SQL on every save to find new events.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.tickets.report import report_from_rasa_events
from bot.tickets.spool import Spool

logger = logging.getLogger(__name__)
REMEMBERED_MESSAGES = 10_000  # spooled message ids kept to avoid appending one twice


class SpoolingSQLTrackerStore(SQLTrackerStore):
    def __init__(self, *args: Any, spool_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spool = Spool(spool_dir)
        self._spooled: OrderedDict[tuple[str, str], None] = OrderedDict()
        logger.info("escalating messages are spooled to %s", self.spool.directory)

    async def save(self, tracker: DialogueStateTracker) -> None:
        self.spool_latest_report(tracker)
        await super().save(tracker)

    def spool_latest_report(self, tracker: DialogueStateTracker) -> None:
        """Append the latest user message to the spool if triage escalated it. Never raises."""
        try:
            event = next((e for e in reversed(tracker.events) if isinstance(e, UserUttered)), None)
            if event is None or not (event.parse_data or {}).get("triage", {}).get("severity"):
                return
            key = (tracker.sender_id, str(event.message_id))
            if key in self._spooled:
                return
            report = report_from_rasa_events(tracker.sender_id, [event.as_dict()])
            if report is not None:
                self.spool.append(report)
                self._spooled[key] = None
                if len(self._spooled) > REMEMBERED_MESSAGES:
                    self._spooled.popitem(last=False)
        except Exception as exc:  # never break Rasa's message handling
            logger.error(
                "could not spool an escalating message of conversation %s: %s",
                tracker.sender_id,
                type(exc).__name__,
            )
