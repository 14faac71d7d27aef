"""Delivering one bot turn to a WhatsApp user, with the 24-hour-window fallback.

When WhatsApp refuses a free-form message because the customer-service window has closed
(error 131047), the clinic's approved template (data/clinic.yml: whatsapp.reopen_template,
template_language) is sent instead and a `TemplateFallback` row records it under the
conversation pseudonym. At most one template goes to a conversation per 24 hours: Meta may
report the same failure both in the API answer and in a status webhook.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.whatsapp.graph import GraphClient
from bot.channels.whatsapp.render import Message, TurnRenderer
from bot.storage.db import Database
from bot.storage.models import TemplateFallback, utcnow

logger = logging.getLogger(__name__)

REENGAGEMENT_REQUIRED = 131047
# What `TurnDelivery.deliver` reports.
SENT = "sent"
TEMPLATE = "template"
FAILED = "failed"
TEMPLATE_COOLDOWN = timedelta(hours=24)


@dataclass(frozen=True)
class Recipient:
    """Where a turn goes: the real number (never logged) and its pseudonym (logged)."""

    phone: str = field(repr=False)
    conversation_id: str


@dataclass(frozen=True)
class ReopenTemplate:
    name: str
    language: str

    def message(self) -> Message:
        return {
            "type": "template",
            "template": {"name": self.name, "language": {"code": self.language}},
        }


class TurnDelivery:
    def __init__(
        self,
        graph: GraphClient,
        renderer: TurnRenderer,
        database: Database,
        template: ReopenTemplate,
        channel: str,
    ) -> None:
        self.graph = graph
        self.renderer = renderer
        self.database = database
        self.template = template
        self.channel = channel
        self._reopen_lock = asyncio.Lock()

    async def deliver(self, recipient: Recipient, rasa_messages: Sequence[dict[str, Any]]) -> str:
        """Render the turn and send it in order; stop at a closed window and send the template.
        Returns SENT, TEMPLATE (the window had closed) or FAILED (a message was refused)."""
        outcome = SENT
        for message in self.renderer.render(rasa_messages):
            result = await self.graph.send(recipient.phone, message, recipient.conversation_id)
            if result.error_code == REENGAGEMENT_REQUIRED:
                await self.reopen(recipient)
                return TEMPLATE
            if not result.ok:
                outcome = FAILED
        return outcome

    async def reopen(self, recipient: Recipient) -> None:
        """Send the re-engagement template unless one went to this conversation recently."""
        async with self._reopen_lock:
            try:
                recent = await asyncio.to_thread(self._reopened_recently, recipient.conversation_id)
            except SQLAlchemyError:
                logger.exception("whatsapp: could not read template fallbacks; sending template")
                recent = False
            if recent:
                logger.info(
                    "whatsapp: window closed for %s; template already sent in the last %s",
                    recipient.conversation_id,
                    TEMPLATE_COOLDOWN,
                )
                return
            result = await self.graph.send(
                recipient.phone, self.template.message(), recipient.conversation_id
            )
            if not result.ok:
                logger.error(
                    "whatsapp: re-engagement template %r for %s failed (error code %s)",
                    self.template.name,
                    recipient.conversation_id,
                    result.error_code,
                )
                return
            logger.info(
                "whatsapp: window closed for %s; sent template %r",
                recipient.conversation_id,
                self.template.name,
            )
            try:
                await asyncio.to_thread(self._record, recipient.conversation_id)
            except SQLAlchemyError:
                logger.exception("whatsapp: template sent but its fallback row was not saved")

    def _reopened_recently(self, conversation_id: str) -> bool:
        since = utcnow() - TEMPLATE_COOLDOWN
        query = (
            select(TemplateFallback.id)
            .where(TemplateFallback.channel == self.channel)
            .where(TemplateFallback.conversation_id == conversation_id)
            .where(TemplateFallback.at >= since)
            .limit(1)
        )
        with self.database.session() as session:
            return session.execute(query).first() is not None

    def _record(self, conversation_id: str) -> None:
        with self.database.session() as session:
            session.add(
                TemplateFallback(
                    channel=self.channel,
                    conversation_id=conversation_id,
                    template=self.template.name,
                    error_code=REENGAGEMENT_REQUIRED,
                )
            )
