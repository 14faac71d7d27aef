"""Reading a signed WhatsApp Cloud API webhook body into the events this channel acts on.

Only two things matter here: user messages (answered) and delivery failures of our own
messages (the 24-hour window check). Everything else, including read receipts and unknown
fields, is skipped without error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

logger = logging.getLogger(__name__)

# Types that carry no question and need no reply.
SILENT_TYPES = frozenset({"reaction", "system", "request_welcome"})
INTERACTIVE_REPLIES = ("button_reply", "list_reply")

InboundKind = Literal["text", "unsupported"]


@dataclass(frozen=True)
class Inbound:
    """One user message: text (typed, or the payload of a tapped button) or unsupported."""

    message_id: str
    phone: str = field(repr=False)
    kind: InboundKind
    text: str
    message_type: str


@dataclass(frozen=True)
class DeliveryFailure:
    """A status callback reporting that one of our messages to `phone` failed."""

    message_id: str
    phone: str = field(repr=False)
    error_codes: tuple[int, ...]


@dataclass
class WebhookBatch:
    messages: list[Inbound] = field(default_factory=list)
    failures: list[DeliveryFailure] = field(default_factory=list)


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _inbound(message: dict[str, Any]) -> Inbound | None:
    message_id, phone = message.get("id"), message.get("from")
    if not isinstance(message_id, str) or not isinstance(phone, str) or not message_id or not phone:
        logger.warning("whatsapp: skipped a message without id or sender")
        return None
    message_type = str(message.get("type") or "unknown")
    if message_type in SILENT_TYPES:
        return None
    text = _text_of(message_type, message)
    if text is None or not text.strip():
        return Inbound(message_id, phone, "unsupported", "", message_type)
    return Inbound(message_id, phone, "text", text, message_type)


def _text_of(message_type: str, message: dict[str, Any]) -> str | None:
    """The text to hand to Rasa, or None when the message type cannot be answered."""
    body = message.get(message_type)
    if not isinstance(body, dict):
        return None
    if message_type == "text":
        return _string(body.get("body"))
    if message_type == "interactive":
        reply = body.get(str(body.get("type")))
        if body.get("type") in INTERACTIVE_REPLIES and isinstance(reply, dict):
            return _string(reply.get("id")) or _string(reply.get("title"))
        return None
    if message_type == "button":  # quick-reply button of a template message
        return _string(body.get("payload")) or _string(body.get("text"))
    return None


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _failure(status: dict[str, Any]) -> DeliveryFailure | None:
    if status.get("status") != "failed" or not isinstance(status.get("recipient_id"), str):
        return None
    codes = tuple(e["code"] for e in _dicts(status.get("errors")) if isinstance(e.get("code"), int))
    return DeliveryFailure(str(status.get("id") or ""), status["recipient_id"], codes)


def parse_webhook(payload: Any, phone_number_id: str) -> WebhookBatch:
    """The messages and delivery failures addressed to our phone number id."""
    batch = WebhookBatch()
    if not isinstance(payload, dict):
        logger.warning("whatsapp: webhook body is not a JSON object; nothing to do")
        return batch
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                continue
            metadata = value.get("metadata")
            target = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
            if target is not None and str(target) != phone_number_id:
                logger.info("whatsapp: skipped a change for another phone number id")
                continue
            for error in _dicts(value.get("errors")):
                logger.error("whatsapp: platform error %s reported by webhook", error.get("code"))
            batch.messages.extend(m for m in map(_inbound, _dicts(value.get("messages"))) if m)
            batch.failures.extend(f for f in map(_failure, _dicts(value.get("statuses"))) if f)
    return batch
