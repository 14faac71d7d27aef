"""Webhook sender: HTTP POST of the notice as JSON to the clinic's endpoint.

Headers: `Idempotency-Key: <ticket id>` (the same on every retry), and when MESO_WEBHOOK_SECRET is
set, `X-Meso-Signature: sha256=<hex HMAC-SHA256 of the raw body with that secret>`.
Any 2xx answer counts as delivered.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os

import aiohttp

from bot.tickets.notify.notice import DeliveryError, TicketNotice

SECRET_ENV = "MESO_WEBHOOK_SECRET"
SIGNATURE_HEADER = "X-Meso-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookSender:
    def __init__(self, url: str, secret: str | None = None, timeout_seconds: float = 15.0) -> None:
        self.url = url
        self.secret = secret if secret is not None else os.environ.get(SECRET_ENV) or None
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def send(self, notice: TicketNotice) -> None:
        body = json.dumps(notice.webhook_body(), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json", IDEMPOTENCY_HEADER: notice.ticket_id}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.post(self.url, data=body, headers=headers) as response,
            ):
                if not 200 <= response.status < 300:
                    raise DeliveryError(f"webhook answered HTTP {response.status}")
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            raise DeliveryError(f"webhook unreachable: {type(exc).__name__}: {exc}") from exc
