"""Webhook signatures, sender pseudonyms and log redaction.

A WhatsApp user's phone number never leaves this channel: Rasa sees only `pseudonym(phone)`,
and any outside text that is logged passes through `redact` first. WhatsApp message ids
("wamid.…") encode the user's number in base64, so they are replaced by `message_ref` before
they are stored, logged or given to Rasa.
"""

from __future__ import annotations

import hashlib
import hmac
import re

SIGNATURE_PREFIX = "sha256="
PSEUDONYM_PREFIX = "wa:"
_LONG_NUMBER = re.compile(r"\+?\d[\d\s().-]{5,}\d")


def sign(raw_body: bytes, app_secret: str) -> str:
    """The X-Hub-Signature-256 value Meta sends for `raw_body`."""
    digest = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signature_valid(raw_body: bytes, header: str | None, app_secret: str) -> bool:
    """True when `header` is the HMAC-SHA256 of the raw body with the app secret."""
    if not header or not header.startswith(SIGNATURE_PREFIX):
        return False
    return hmac.compare_digest(header.strip().lower(), sign(raw_body, app_secret))


def pseudonym(phone: str, key: bytes) -> str:
    """The conversation id Rasa sees for a phone number: a keyed hash, never the number."""
    return PSEUDONYM_PREFIX + hmac.new(key, phone.encode(), hashlib.sha256).hexdigest()[:32]


def message_ref(wamid: str, key: bytes) -> str:
    """A stable stand-in for a WhatsApp message id that does not reveal the number inside it."""
    return PSEUDONYM_PREFIX + hmac.new(key, wamid.encode(), hashlib.sha256).hexdigest()[:40]


def redact(text: object) -> str:
    """`text` with anything that looks like a phone number replaced, for logging."""
    return _LONG_NUMBER.sub("[number]", str(text))
