"""Rasa input channel for Meta's WhatsApp Cloud API, mounted at /webhooks/whatsapp/.

GET  /webhooks/whatsapp/webhook  Meta's subscription check (hub.mode / hub.verify_token).
POST /webhooks/whatsapp/webhook  Signed notifications. The signature is checked first
     (403 when missing or wrong), the body parsed (400 when not JSON), and the answer (200)
     returned once each message is deduplicated and journaled (one database write each); each
     message is then handled in a background task: handed to Rasa under the sender's
     pseudonym, the turn sent back through the Graph API, and its journal entry marked done.

Messages accepted but never answered (Rasa killed mid-turn, a replica lost) are replayed by the
journal sweeper that runs in every Rasa process (bot/channels/whatsapp/journal.py). A replay
first reads the conversation from Rasa's tracker store: Rasa saves a turn only when it is
complete and sends it after that, so a tracker holding the message under its id means the turn
ran and only its sending may be missing; its recorded bot responses are then sent instead of
running the turn again (a turn with no bot response is just marked done). Only a message the
tracker does not hold is handed to Rasa again. A crash after the Graph API accepted an answer
and before the "done" mark sends that answer twice (the window includes the time the Graph
API's response waits for an event loop busy with other messages); other crash points send once.

When the database cannot be written the message is still answered at once (and 200 returned),
as before the journal: a patient in a database outage gets the answer now, and only a crash
during that same outage loses it. Answering 503 instead would hold every WhatsApp answer,
emergencies included, until the database is back and Meta's retry backoff has run.
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
from rasa.core.tracker_store import TrackerStore
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.output import is_escalation
from bot.channels.whatsapp.dedup import SeenMessages
from bot.channels.whatsapp.delivery import (
    REENGAGEMENT_REQUIRED,
    Recipient,
    ReopenTemplate,
    TurnDelivery,
)
from bot.channels.whatsapp.graph import GraphClient, RetryPolicy
from bot.channels.whatsapp.journal import (
    Acceptance,
    Claimed,
    InboundJournal,
    JournalSettings,
)
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
from bot.handoff import store as handoff_store
from bot.observability.metrics import Turn, observe_turn
from bot.rasa import handoff
from bot.rasa.channels.failsafe import answer_failed_turn
from bot.rasa.channels.resend import recorded_turn, tracker_store_of
from bot.rasa.channels.whatsapp.output import CHANNEL_NAME, WhatsAppOutput
from bot.readiness import retry_while
from bot.storage.db import Database, get_database
from bot.triage.failsafe import judge
from bot.triage.result import TriageResult

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Hub-Signature-256"
PRUNE_EVERY_SECONDS = 3600.0
MARK_DONE_RETRY_SECONDS = (0.5, 1, 2, 4, 8, 15, 30, 60)
# A turn that raised before preparing any reply is run again for up to TURN_RETRY_SECONDS
# before the patient gets the technical-problem apology: what fails a whole turn is mostly a
# moment of the infrastructure (a replica killed while it held the conversation, a database or
# Redis restart), and a late answer serves a patient better than "try again later". Nothing was
# sent yet (the output collects the turn), tickets are recorded once per message id, and Rasa
# stores a turn only when it completes, so a second run answers as the first would have.
TURN_RETRY_SECONDS = 20.0
TURN_RETRY_DELAYS = (1.0, 2.0, 4.0)
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
        journal: JournalSettings | None = None,
    ) -> None:
        self.settings = settings
        self._tasks: set[asyncio.Task[None]] = set()
        self._sweeper: asyncio.Task[None] | None = None
        if settings is None:
            return
        self.clinic = clinic = clinic or clinic_config()
        self.texts = texts or load_texts(clinic=clinic)
        self.database = database or get_database()
        self.graph = GraphClient(settings, retry)
        self.seen = SeenMessages()
        self.journal = InboundJournal(
            self.database, CHANNEL_NAME, journal or JournalSettings.from_env()
        )
        self.delivery = TurnDelivery(
            self.graph,
            TurnRenderer(texts if texts is not None else load_all_texts(clinic)),
            self.database,
            ReopenTemplate(clinic.whatsapp_template, clinic.whatsapp_template_language),
            CHANNEL_NAME,
        )
        handoff.OUTLETS.whatsapp = self.delivery

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
            return await self._receive(request, self.settings, on_new_message)

        @webhook.listener("after_server_start")
        async def start_sweeper(app: Any, *_: Any) -> None:
            if self.enabled:
                await self._prepare_storage()
                self._sweeper = asyncio.get_running_loop().create_task(
                    self._sweep_forever(on_new_message, lambda: tracker_store_of(app))
                )

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

    async def _receive(
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
            if not self.seen.claim_in_process(ref):
                logger.info("whatsapp: duplicate delivery of %s skipped", ref)
                continue
            accepted = await asyncio.to_thread(self.journal.accept, ref, inbound)
            if accepted.outcome is Acceptance.DUPLICATE:
                logger.info("whatsapp: %s was already accepted (before a restart); skipped", ref)
            elif accepted.outcome is Acceptance.JOURNALED:
                self._spawn(self._answer_journaled(inbound, ref, accepted.token, on_new_message))
            else:  # database down: answer anyway, unjournaled (see the module docstring)
                self._spawn(self._answer(inbound, ref, on_new_message))
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
        with observe_turn(CHANNEL_NAME) as turn:
            await self._answer_turn(inbound, ref, on_new_message, turn)

    async def _answer_journaled(
        self, inbound: Inbound, ref: str, token: str, on_new_message: OnNewMessage
    ) -> None:
        """Answer, holding the entry's lease meanwhile; mark it done once the turn is sent.
        Any failure leaves it pending, to be replayed when the lease runs out."""
        async with self.journal.hold(ref, token):
            await self._answer(inbound, ref, on_new_message)
            await self._mark_done(ref)

    async def _prepare_storage(self) -> None:
        """Bring the schema up now, so that accepting a message costs one insert."""
        try:
            await asyncio.to_thread(self.database.prepare_schema)
        except Exception as exc:  # storage down: each message's acceptance reports it
            logger.warning("whatsapp: journal storage not ready (%s)", type(exc).__name__)

    async def _mark_done(self, ref: str) -> None:
        """Mark `ref` done, retrying through a database outage (the caller keeps holding the
        lease meanwhile, so no sweeper replays a turn that was sent)."""
        for delay in MARK_DONE_RETRY_SECONDS:
            try:
                await asyncio.to_thread(self.journal.mark_done, ref)
                return
            except SQLAlchemyError as exc:
                logger.warning(
                    "whatsapp: could not mark %s done (%s); retrying in %.0f s",
                    ref,
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)
        logger.error("whatsapp: %s stays pending; its replay will resend the recorded turn", ref)

    # --- replay of journaled messages that were never answered --------------------------------

    async def _sweep_forever(
        self, on_new_message: OnNewMessage, tracker_store: Callable[[], TrackerStore | None]
    ) -> None:
        """Every quarter lease: claim and replay due entries; prune old ones every hour."""
        interval = self.journal.settings.lease.total_seconds() / 4
        loop = asyncio.get_running_loop()
        pruned_at = -PRUNE_EVERY_SECONDS
        while True:
            await asyncio.sleep(interval)
            try:
                if loop.time() - pruned_at >= PRUNE_EVERY_SECONDS:
                    pruned = await asyncio.to_thread(self.journal.prune)
                    pruned_at = loop.time()
                    if pruned:
                        logger.info("whatsapp: pruned %d old journal entries", pruned)
                await self.sweep(on_new_message, tracker_store())
            except Exception as exc:  # the sweeper outlives a database outage
                logger.warning("whatsapp: journal sweep failed (%s)", type(exc).__name__)

    async def sweep(self, on_new_message: OnNewMessage, tracker_store: TrackerStore | None) -> int:
        """Claim the due entries and start replaying each (background tasks, as answers are:
        `drain` waits for them); the number claimed."""
        claimed = await asyncio.to_thread(self.journal.claim_due)
        for entry in claimed:
            logger.warning(
                "whatsapp: replaying %s (accepted but not answered; attempt %d)",
                entry.message_id,
                entry.attempts,
            )
            self._spawn(self._replay(entry, on_new_message, tracker_store))
        return len(claimed)

    async def _replay(
        self, entry: Claimed, on_new_message: OnNewMessage, tracker_store: TrackerStore | None
    ) -> None:
        """Send the recorded turn, or run it; then done. A failure leaves the entry pending
        (logged by `_finished`), tried again after the lease."""
        inbound, ref = entry.inbound, entry.message_id
        recipient = self._recipient(inbound.phone)
        async with self.journal.hold(ref, entry.token):
            recorded = await recorded_turn(tracker_store, recipient.conversation_id, ref)
            if recorded is None:
                await self._answer(inbound, ref, on_new_message)
            else:
                output = WhatsAppOutput(recipient, self.delivery)
                for message in recorded:
                    await output.send_response(recipient.conversation_id, message)
                await output.flush()
            await self._mark_done(ref)

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
            judged: TriageResult | None = None

            def worth_running_again(_error: Exception) -> bool:
                # Only a turn that sent nothing is run again, and never an emergency: the
                # channel gives its instruction now rather than after the retries.
                nonlocal judged
                if output.messages:
                    return False
                judged = judged or judge(message.text or "")
                return judged.severity != "emergency"

            try:
                await retry_while(
                    lambda: on_new_message(message),
                    worth_running_again,
                    TURN_RETRY_SECONDS,
                    TURN_RETRY_DELAYS,
                    on_retry=lambda error: logger.warning(
                        "whatsapp: the turn of %s failed before any reply (%s); running it again",
                        message.sender_id,
                        type(error).__name__,
                    ),
                )
            except Exception:
                turn.failed = True
                logger.exception("whatsapp: the bot failed on a message from %s", message.sender_id)
                escalated = any(is_escalation(m) for m in output.messages)
                await answer_failed_turn(
                    message, CHANNEL_NAME, self.clinic, self.database, escalated, judged
                )
            if any(is_escalation(m) for m in output.messages):
                await self._keep_return_address(recipient)
        await output.flush()

    async def _keep_return_address(self, recipient: Recipient) -> None:
        """A conversation that raised a ticket keeps its number, so a clinician can write back
        (bot/handoff); a database failure is logged and the turn goes on."""
        try:
            await asyncio.to_thread(
                handoff_store.save_contact,
                self.database,
                CHANNEL_NAME,
                recipient.conversation_id,
                recipient.phone,
            )
        except SQLAlchemyError:
            logger.exception("whatsapp: return address of %s not kept", recipient.conversation_id)

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
        """Stop the sweeper, finish the work in hand (bounded), close the Graph API session."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        await self.drain(timeout)
        for task in list(self._tasks):
            task.cancel()
        if self.enabled:
            await self.graph.close()
