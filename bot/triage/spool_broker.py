"""Rasa event broker that spools every escalating user message, inside the Rasa server process.

endpoints.yml:

    event_broker:
      type: bot.triage.spool_broker.SpoolEventBroker
      # spool_dir: var/spool      (optional; default VAR_DIR/spool)

This is the safety net for a down action server: the worker drains the spool into tickets with
the same (conversation_id, message_id) the action server uses, so a message handled by both
still makes one ticket. It is on the message hot path, so it touches no database, only appends
for escalating events, and never raises into Rasa.
"""

from __future__ import annotations

import logging
from asyncio import AbstractEventLoop
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import EndpointConfig

from bot.triage.spool import Spool
from bot.triage.tickets import report_from_rasa_events

logger = logging.getLogger(__name__)


class SpoolEventBroker(EventBroker):
    """Appends a `Report` to the spool for each `user` event whose parse data carries a triage
    result with a severity; ignores every other event."""

    def __init__(self, spool_dir: str | None = None) -> None:
        self.spool = Spool(spool_dir)

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig | None,
        event_loop: AbstractEventLoop | None = None,
    ) -> SpoolEventBroker:
        kwargs = dict(broker_config.kwargs) if broker_config is not None else {}
        spool_dir = kwargs.pop("spool_dir", None)
        if kwargs:
            logger.warning("SpoolEventBroker ignores unknown settings: %s", sorted(kwargs))
        broker = cls(spool_dir=spool_dir)
        logger.info("escalating messages are spooled to %s", broker.spool.directory)
        return broker

    def publish(self, event: dict[str, Any]) -> None:
        try:
            if not isinstance(event, dict) or event.get("event") != "user":
                return
            report = report_from_rasa_events(str(event.get("sender_id") or ""), [event])
            if report is not None:
                self.spool.append(report)
        except Exception as exc:  # never break Rasa's message handling
            logger.error(
                "could not spool escalating message %s of conversation %s: %s",
                event.get("message_id") if isinstance(event, dict) else None,
                event.get("sender_id") if isinstance(event, dict) else None,
                type(exc).__name__,
            )

    def is_ready(self) -> bool:
        return True

    async def close(self) -> None:
        return None
