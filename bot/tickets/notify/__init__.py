"""Clinician notifications: the outbox worker and its webhook and e-mail senders.

Delivery is at least once; receivers dedupe by ticket id (webhook `Idempotency-Key`, e-mail
`Message-ID`). Rows are never deleted: a row that used up its attempts keeps `last_error`.
"""

from bot.tickets.notify.notice import DeliveryError, Sender, TicketNotice
from bot.tickets.notify.outbox import Outbox, OutboxPass, backoff_delay, senders_for

__all__ = [
    "DeliveryError",
    "Outbox",
    "OutboxPass",
    "Sender",
    "TicketNotice",
    "backoff_delay",
    "senders_for",
]
