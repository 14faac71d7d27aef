"""Rasa input channel for Meta's WhatsApp Cloud API, mounted at /webhooks/whatsapp/.

GET  /webhooks/whatsapp/webhook  Meta's subscription check (hub.mode / hub.verify_token).
POST /webhooks/whatsapp/webhook  Signed notifications. The signature is checked first
     (403 when missing or wrong), the body parsed (400 when not JSON), and the answer (200)
     returned at once; each message is then handled in a background task: deduplicated,
     handed to Rasa under the sender's pseudonym, and the turn sent back through the Graph API.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.whatsapp.dedup import SeenMessages
from bot.channels.whatsapp.delivery import (
    REENGAGEMENT_REQUIRED,
    Recipient,
    ReopenTemplate,
    TurnDelivery,
)
from bot.channels.whatsapp.graph import GraphClient, RetryPolicy
from bot.channels.whatsapp.privacy import message_ref, pseudonym, signature_valid
from bot.channels.whatsapp.render import TurnRenderer
from bot.channels.whatsapp.settings import (
    REQUIRED,
    WhatsAppConfigError,
    WhatsAppSettings,
    resolve_settings,
)
from bot.channels.whatsapp.texts import ChannelTexts, load_all_texts, load_texts
from bot.channels.whatsapp.webhook import DeliveryFailure, Inbound, parse_webhook
from bot.clinic import ClinicConfig, clinic_config
from bot.observability.metrics import Turn, observe_turn
from bot.rasa.channels.whatsapp.output import CHANNEL_NAME, WhatsAppOutput
from bot.storage.db import Database, get_database

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
NOT_CONFIGURED = (
    "WhatsApp channel is not configured: set " + ", ".join(REQUIRED.values()) + " and restart."
)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class WhatsAppInput(InputChannel):
    """WhatsApp Cloud API channel; disabled (answers 503) when no settings are given."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WhatsAppInput:
        """Settings from credentials.yml and WHATSAPP_* variables; none at all: disabled."""
        try:
            settings = resolve_settings(credentials, os.environ)
        except WhatsAppConfigError as exc:
            raise RasaException(str(exc)) from exc  # Rasa prints it and stops cleanly
        if settings is None:
            logger.warning("%s Rasa runs without it.", NOT_CONFIGURED)
        return cls(settings)

    def __init__(
        self,
        settings: WhatsAppSettings | None,
        database: Database | None = None,
        clinic: ClinicConfig | None = None,
        texts: ChannelTexts | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        if settings is None:
            return
        clinic = clinic or clinic_config()
        self.texts = texts or load_texts(clinic=clinic)
        self.database = database or get_database()
        self.graph = GraphClient(settings, retry)
        self.seen = SeenMessages(self.database, CHANNEL_NAME)
        self.delivery = TurnDelivery(
            self.graph,
            TurnRenderer(texts if texts is not None else load_all_texts(clinic)),
            self.database,
            ReopenTemplate(clinic.whatsapp_template, clinic.whatsapp_template_language),
            CHANNEL_NAME,
        )

    @property
    def enabled(self) -> bool:
        return self.settings is not None

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        webhook = Blueprint("whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.enabled else "disabled"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if self.settings is None:
                return response.json({"error": NOT_CONFIGURED}, status=503)
            return self._verify(request)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if self.settings is None:
                return response.json({"error": NOT_CONFIGURED}, status=503)
            return self._receive(request, self.settings, on_new_message)

        @webhook.listener("before_server_stop")
        async def finish(*_: Any) -> None:
            await self.shutdown()

        return webhook

    def _verify(self, request: Request) -> HTTPResponse:
        assert self.settings is not None
        token = request.args.get("hub.verify_token") or ""
        expected = self.settings.verify_token
        if request.args.get("hub.mode") == "subscribe" and hmac.compare_digest(
            token.encode(), expected.encode()
        ):
            return response.text(request.args.get("hub.challenge") or "")
        logger.warning("whatsapp: webhook verification refused (wrong mode or verify token)")
        return response.text("verification failed", status=403)

    def _receive(
        self, request: Request, settings: WhatsAppSettings, on_new_message: OnNewMessage
    ) -> HTTPResponse:
        raw = request.body or b""
        header = request.headers.get(SIGNATURE_HEADER)
        if not signature_valid(raw, header, settings.app_secret):
            logger.warning(
                "whatsapp: refused a webhook POST from %s: %s signature (%d bytes)",
                request.ip,
                "wrong" if header else "missing",
                len(raw),
            )
            return response.json({"error": "invalid or missing X-Hub-Signature-256"}, status=403)
        try:
            payload = json.loads(raw)
        except ValueError:
            logger.warning("whatsapp: signed webhook body is not valid JSON (%d bytes)", len(raw))
            return response.json({"error": "request body is not valid JSON"}, status=400)
        batch = parse_webhook(payload, settings.phone_number_id)
        for inbound in batch.messages:
            ref = self._ref(inbound)
            if self.seen.claim_in_process(ref):
                self._spawn(self._answer(inbound, ref, on_new_message))
            else:
                logger.info("whatsapp: duplicate delivery of %s skipped", ref)
        for failure in batch.failures:
            self._spawn(self._handle_failure(failure))
        return response.json({"status": "received"})

    def _ref(self, inbound: Inbound) -> str:
        assert self.settings is not None
        return message_ref(inbound.message_id, self.settings.conversation_key)

    def _recipient(self, phone: str) -> Recipient:
        assert self.settings is not None
        return Recipient(phone, pseudonym(phone, self.settings.conversation_key))

    async def _answer(self, inbound: Inbound, ref: str, on_new_message: OnNewMessage) -> None:
        if not await self.seen.claim_persistently(ref):
            logger.info("whatsapp: %s was already answered (before a restart); skipped", ref)
            return
        with observe_turn(CHANNEL_NAME) as turn:
            await self._answer_turn(inbound, ref, on_new_message, turn)

    async def _answer_turn(
        self, inbound: Inbound, ref: str, on_new_message: OnNewMessage, turn: Turn
    ) -> None:
        recipient = self._recipient(inbound.phone)
        output = WhatsAppOutput(recipient, self.delivery)
        if inbound.kind == "unsupported":
            logger.info(
                "whatsapp: %s message from %s", inbound.message_type, recipient.conversation_id
            )
            await output.send_text_message(
                recipient.conversation_id, self.texts.unsupported_message
            )
        else:
            message = UserMessage(
                inbound.text,
                output,
                recipient.conversation_id,
                input_channel=self.name(),
                message_id=ref,
                metadata={"whatsapp": {"message_type": inbound.message_type}},
            )
            try:
                await on_new_message(message)
            except Exception:
                turn.failed = True
                logger.exception("whatsapp: the bot failed on a message from %s", message.sender_id)
                await output.send_text_message(message.sender_id, self.texts.technical_problem)
        await output.flush()

    async def _handle_failure(self, failure: DeliveryFailure) -> None:
        recipient = self._recipient(failure.phone)
        if REENGAGEMENT_REQUIRED in failure.error_codes:
            await self.delivery.reopen(recipient)
        else:
            logger.warning(
                "whatsapp: a message to %s failed (error codes %s)",
                recipient.conversation_id,
                list(failure.error_codes),
            )

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        # The loop keeps only weak references to tasks: hold them until they finish.
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            logger.error("whatsapp: background work failed", exc_info=task.exception())

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every accepted message has been handled (or `timeout` passes)."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while self._tasks:
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return
            await asyncio.wait(set(self._tasks), timeout=remaining)

    async def shutdown(self, timeout: float = 10.0) -> None:
        """Finish the work in hand (bounded), then close the Graph API session."""
        await self.drain(timeout)
        for task in list(self._tasks):
            task.cancel()
        if self.enabled:
            await self.graph.close()
