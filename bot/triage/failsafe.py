"""What a channel says when the assistant could not run a patient's turn (Rasa raised).

The channel triages the text itself, with the same rules and detector as the Rasa component,
so a report is never lost to a fault of the assistant: an escalated message gets its
escalation reply in the patient's language and its ticket (recorded under the message's own id,
so a later successful run of the same turn finds the same ticket), a cry for help gets the
emergency number and the "are you unwell now?" question, and anything else gets an apology that
gives the clinic's phone and the emergency number (data/triage/replies*.yml, `turn_failed`).
Only the message itself is judged: the conversation's earlier turns are in the store that may be
what failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.clinic import ClinicConfig
from bot.datafiles import ENGLISH
from bot.replies.reply import Reply
from bot.storage.db import Database
from bot.storage.models import utcnow
from bot.tickets.report import Report
from bot.tickets.spool import record_report_promptly
from bot.triage.detect import triage
from bot.triage.escalation import escalation_reply, help_request_reply, turn_failed_reply
from bot.triage.result import TriageResult

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailedTurn:
    """One patient message whose turn could not be run."""

    channel: str
    conversation_id: str  # pseudonymous, as Rasa's sender id
    message_id: str  # Rasa's message id for it: the ticket's key
    text: str


@dataclass(frozen=True)
class FailsafeAnswer:
    triage: TriageResult
    replies: tuple[Reply, ...]


def judge(text: str) -> TriageResult:
    """The triage of `text` alone (a channel calls it on a failed turn, before retrying)."""
    return triage(text)


async def failsafe_answer(
    turn: FailedTurn,
    clinic: ClinicConfig,
    database: Database | None = None,
    instruction_sent: bool = False,
    judged: TriageResult | None = None,
) -> FailsafeAnswer:
    """Judge `turn` (or take `judged`, its triage) and prepare what the patient gets; an
    escalation's ticket is recorded (or spooled) before this returns. `instruction_sent`: the
    emergency instruction already went out in this turn, so only the reference follows."""
    result = judged if judged is not None else judge(turn.text)
    lang = result.reply_language or ENGLISH
    if result.severity is not None:
        report = Report(
            channel=turn.channel,
            conversation_id=turn.conversation_id,
            message_id=turn.message_id,
            text=turn.text,
            triage=result,
            transcript=[{"sender": "user", "text": turn.text, "at": utcnow().isoformat()}],
        )
        outcome = await record_report_promptly(report, clinic, db=database)
        logger.warning(
            "failsafe: %s report of %s recorded by the channel (%s)",
            result.severity,
            turn.conversation_id,
            "ticket" if outcome.ticket_id else "spooled" if outcome.spooled else "not stored",
        )
        reply = escalation_reply(
            result.severity, outcome.ticket_id, clinic, instruction_sent=instruction_sent, lang=lang
        )
        return FailsafeAnswer(result, (reply,))
    if result.help_request:
        return FailsafeAnswer(result, (help_request_reply(clinic, lang),))
    return FailsafeAnswer(result, (turn_failed_reply(clinic, lang),))
