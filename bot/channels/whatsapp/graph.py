"""Sending messages through the Graph API: POST {graph_url}/{phone_number_id}/messages.

One shared aiohttp session. Rate limits (HTTP 429 or a throttling error code) and server
errors (5xx, network faults) are retried with exponential backoff for a bounded number of
attempts; any other error is returned at once with its Graph error code for the caller.
Nothing here logs the recipient's number or the message text.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import aiohttp

from bot.channels.whatsapp.privacy import redact
from bot.channels.whatsapp.settings import WhatsAppSettings

logger = logging.getLogger(__name__)

# Graph error codes that mean "slow down" even when the HTTP status is 400.
THROTTLING_CODES = frozenset({4, 80007, 130429})
MAX_RETRY_AFTER_SECONDS = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    timeout: float = 15.0

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """Seconds to wait before the next attempt (`attempt` counts from 1)."""
        if retry_after:
            try:
                return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER_SECONDS)
            except ValueError:
                pass
        return self.base_delay * 2 ** (attempt - 1)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: int | None = None  # HTTP status; None when no answer arrived
    error_code: int | None = None  # Graph error code
    message_id: str | None = None  # wamid of the sent message
    attempts: int = 1


class GraphClient:
    def __init__(self, settings: WhatsAppSettings, retry: RetryPolicy | None = None) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.retry.timeout),
                headers={"Authorization": f"Bearer {self.settings.access_token}"},
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def send(self, to: str, message: dict[str, Any], conversation_id: str) -> SendResult:
        """Send one message body (`{"type": ..., ...}`) to `to`; never raises for API errors."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
        payload.update(message)
        result = SendResult(ok=False)
        for attempt in range(1, self.retry.attempts + 1):
            result, retry_after, retryable = await self._post(payload, attempt)
            if result.ok or not retryable:
                break
            if attempt < self.retry.attempts:
                await asyncio.sleep(self.retry.delay(attempt, retry_after))
        if not result.ok:
            logger.error(
                "whatsapp: %s message to %s not sent (HTTP %s, error code %s, %d attempts)",
                message.get("type"),
                conversation_id,
                result.status,
                result.error_code,
                result.attempts,
            )
        return result

    async def _post(
        self, payload: dict[str, Any], attempt: int
    ) -> tuple[SendResult, str | None, bool]:
        try:
            async with self._client().post(self.settings.messages_url, json=payload) as response:
                body = await _json(response)
                status = response.status
                retry_after = response.headers.get("Retry-After")
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.warning("whatsapp: Graph API unreachable (%s)", type(exc).__name__)
            return SendResult(ok=False, attempts=attempt), None, True
        if 200 <= status < 300:
            messages = body.get("messages") if isinstance(body, dict) else None
            wamid = messages[0].get("id") if isinstance(messages, list) and messages else None
            return (
                SendResult(ok=True, status=status, message_id=wamid, attempts=attempt),
                None,
                False,
            )
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        code = code if isinstance(code, int) else None
        retryable = status == 429 or status >= 500 or code in THROTTLING_CODES
        logger.warning(
            "whatsapp: Graph API answered HTTP %s, error code %s: %s%s",
            status,
            code,
            redact(error.get("message", "") if isinstance(error, dict) else "")[:200],
            " (will retry)" if retryable and attempt < self.retry.attempts else "",
        )
        return (
            SendResult(ok=False, status=status, error_code=code, attempts=attempt),
            retry_after,
            retryable,
        )


async def _json(response: aiohttp.ClientResponse) -> Any:
    try:
        return await response.json(content_type=None)
    except (ValueError, aiohttp.ContentTypeError):
        return None
