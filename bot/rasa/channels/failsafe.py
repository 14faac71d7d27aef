"""A turn Rasa could not run, answered by the channel itself (bot/triage/failsafe.py decides what).

WhatsApp answers every failed turn this way (Meta does not deliver a message again after its
200). REST and socket.io clients send a message again when it got no answer, with the same
message id (bot/channels/message_id.py), so there only a report or a cry for help is answered at
once; anything else fails as before, for the client's retry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage

from bot.clinic import ClinicConfig, clinic_config
from bot.storage.db import Database
from bot.tickets.report import report_channel
from bot.triage.failsafe import FailedTurn, FailsafeAnswer, failsafe_answer, judge
from bot.triage.result import TriageResult

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


async def answer_failed_turn(
    message: UserMessage,
    channel: str,
    clinic: ClinicConfig,
    database: Database | None = None,
    escalated_before: bool = False,
    judged: TriageResult | None = None,
) -> FailsafeAnswer:
    """Send the failsafe answer to `message` through its output channel; an escalation's ticket
    is recorded under `channel` and the message's id. `escalated_before`: the turn sent an
    escalation before it failed, so only an emergency's reference is still missing."""
    failed = FailedTurn(channel, message.sender_id, str(message.message_id), message.text or "")
    answer = await failsafe_answer(
        failed, clinic, database, instruction_sent=escalated_before, judged=judged
    )
    if not escalated_before or answer.triage.severity == "emergency":
        for reply in answer.replies:
            await message.output_channel.send_response(message.sender_id, reply.rasa_message())
    return answer


async def run_or_answer_report(
    message: UserMessage, on_new_message: OnNewMessage, escalated_before: Callable[[], bool]
) -> None:
    """Run the turn of a client that sends a message again when it got no answer (REST,
    socket.io). When Rasa raises on a report or a cry for help, the channel answers it now (and
    records the ticket); on anything else the error propagates, for the client's retry.
    `escalated_before`: whether the output channel already sent an escalation."""
    try:
        await on_new_message(message)
    except Exception:
        judged = judge(message.text or "")
        if not (judged.escalate or judged.help_request):
            raise
        logger.exception(
            "%s: the bot failed on a report from %s; the channel answers it",
            message.input_channel,
            message.sender_id,
        )
        channel = report_channel(
            {"input_channel": message.input_channel, "metadata": message.metadata}
        )
        await answer_failed_turn(
            message, channel, clinic_config(), None, escalated_before(), judged
        )
