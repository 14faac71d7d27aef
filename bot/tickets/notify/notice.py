"""What a clinician notification says about a ticket, and the interface every sender meets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.storage.models import Ticket, as_utc

TICKET_LINK = "/clinician/tickets/{ticket_id}"


class DeliveryError(Exception):
    """A send failed; the message (no patient text) is stored as the row's `last_error`."""


@dataclass(frozen=True)
class TicketNotice:
    ticket_id: str
    severity: str
    symptoms: tuple[str, ...]
    channel: str
    created_at: datetime
    trigger_text: str

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> TicketNotice:
        return cls(
            ticket_id=ticket.id,
            severity=ticket.severity,
            symptoms=tuple(ticket.symptoms or ()),
            channel=ticket.channel,
            created_at=as_utc(ticket.created_at),
            trigger_text=ticket.trigger_text,
        )

    @property
    def link(self) -> str:
        """Path of the ticket in the clinician inbox (relative to the web app's address)."""
        return TICKET_LINK.format(ticket_id=self.ticket_id)

    def webhook_body(self) -> dict[str, Any]:
        """The webhook JSON: no transcript, only the message that triggered the ticket."""
        return {
            "event": "ticket.created",
            "ticket_id": self.ticket_id,
            "severity": self.severity,
            "symptoms": list(self.symptoms),
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
            "trigger_text": self.trigger_text,
            "link": self.link,
        }


class Sender(Protocol):
    """Delivers one notice; raises DeliveryError (or any exception) when it did not."""

    async def send(self, notice: TicketNotice) -> None: ...
