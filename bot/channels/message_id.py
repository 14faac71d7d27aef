"""A client's own id for a message it sends, so that sending it again is the same message.

The widget, the kiosk and REST clients may put `message_id` in a message's `metadata`. A client
that got no reply (a timeout, a dropped connection, a restarted server) sends the message again
with the same id; Rasa then records the turn under that id, and the ticket of an escalating
message, which is keyed by (conversation, message id) (bot/tickets/records.py), is recorded once
however often it arrives. Without an id every delivery is a new message, as in Rasa.
WhatsApp has its own ids (the channel's `message_ref`).
"""

from __future__ import annotations

import re
from typing import Any

METADATA_KEY = "message_id"
_USABLE = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # what a client may choose; anything else: ignored


def client_message_id(metadata: Any) -> str | None:
    """The usable `message_id` in a message's metadata, scoped so that it cannot take the form
    of an id another channel assigns; None when there is none (or it is not usable)."""
    if not isinstance(metadata, dict):
        return None
    value = metadata.get(METADATA_KEY)
    if not isinstance(value, str) or not _USABLE.fullmatch(value):
        return None
    return f"client:{value}"
