"""Capture: deciding which replies go to the review queue, and recording them off the reply path.

The actions call `note(...)` with what they just replied; `review_case` decides whether that
outcome is one the assistant was unsure about, and `ReviewRecorder` writes the row on a
background thread: a reply never waits for the database and never fails because of it (a failed
write is logged by type and dropped; the queue is an aid, not a record the clinic relies on).

Reasons, and where each is decided:
- clarify: the NLU fell back (FallbackClassifier, `action_clarify`) or the intent had no topic;
- out_of_scope: the classifier chose out_of_scope (`action_out_of_scope`);
- low_confidence: a topic was answered with a top confidence below LOW_CONFIDENCE;
- unsupported_language: the intake found a language the assistant does not answer in;
- second_detector: a report escalated by the statistical detector alone, not by the rules.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from sqlalchemy.exc import IntegrityError

from bot.storage.db import Database, get_database
from bot.storage.models import ReviewItem

logger = logging.getLogger(__name__)

Reason = Literal[
    "clarify", "out_of_scope", "low_confidence", "unsupported_language", "second_detector"
]
REASONS: tuple[Reason, ...] = get_args(Reason)
REASON_LABELS: dict[str, str] = {
    "clarify": "Asked to clarify",
    "out_of_scope": "Said out of scope",
    "low_confidence": "Answered with low confidence",
    "unsupported_language": "Language not supported",
    "second_detector": "Report caught only by the second detector",
}
# A topic answered with a top intent confidence below this goes to review. The fallback itself
# (config.yml FallbackClassifier) is at 0.25; between the two the assistant answers but may be
# wrong.
LOW_CONFIDENCE = 0.5
TOP_INTENTS = 3
TEXT_MAX = 2000
MAX_PENDING = 500  # writes waiting at once; beyond this a case is dropped (database too slow)

Outcome = Literal["answer", "clarify", "out_of_scope", "unusable", "escalation"]


@dataclass(frozen=True)
class ReviewCase:
    conversation_id: str
    message_id: str
    reason: Reason
    text: str
    assistant_did: str
    language: str | None = None
    reply_language: str | None = None
    top_intents: tuple[dict[str, Any], ...] = ()
    confidence: float | None = None
    detector: dict[str, Any] | None = field(default=None)

    def row(self) -> ReviewItem:
        return ReviewItem(
            conversation_id=self.conversation_id[:128],
            message_id=self.message_id[:128],
            reason=self.reason,
            text=self.text[:TEXT_MAX],
            assistant_did=self.assistant_did[:128],
            language=(self.language or None) and self.language[:16],
            reply_language=(self.reply_language or None) and self.reply_language[:16],
            top_intents=list(self.top_intents),
            confidence=self.confidence,
            detector=self.detector,
        )


def _top_intents(message: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    ranking = message.get("intent_ranking") or []
    return tuple(
        {"name": str(item.get("name")), "confidence": round(float(item.get("confidence") or 0), 4)}
        for item in ranking[:TOP_INTENTS]
        if item.get("name")
    )


def review_case(
    conversation_id: str,
    message: Mapping[str, Any],
    outcome: Outcome,
    *,
    topic_intent: str | None = None,
    severity: str | None = None,
) -> ReviewCase | None:
    """The review case for replying `outcome` to the parsed patient `message` (Rasa's
    `latest_message`: text, message_id, intent_ranking, language, intake, triage), or None
    when the assistant was sure. `topic_intent`: the intent answered; `severity`: escalated."""
    text = str(message.get("text") or "").strip()
    if not text or text.startswith("/"):  # nothing typed, or a button's payload
        return None
    language = message.get("language") or {}
    ranking = _top_intents(message)
    confidence = ranking[0]["confidence"] if ranking else None
    reason: Reason | None = None
    detector = None
    if outcome == "clarify":
        reason, did = "clarify", "asked the patient to clarify"
    elif outcome == "out_of_scope":
        reason, did = "out_of_scope", "said the question is out of scope"
    elif outcome == "answer":
        answered = float((message.get("intent") or {}).get("confidence") or 0)
        if answered < LOW_CONFIDENCE:
            reason, did = "low_confidence", f"answered {topic_intent} ({answered:.0%} sure)"
            confidence = round(answered, 4)
    elif outcome == "unusable":
        if message.get("intake") == "other_language":
            reason, did = "unsupported_language", "said it cannot answer in this language"
    elif outcome == "escalation":
        triage = message.get("triage") or {}
        if tuple(triage.get("caught_by") or ()) == ("statistical",):
            reason, did = "second_detector", f"escalated as {severity or triage.get('severity')}"
            detector = triage.get("detector")
    if reason is None:
        return None
    return ReviewCase(
        conversation_id=conversation_id,
        message_id=str(message.get("message_id") or uuid.uuid4().hex),
        reason=reason,
        text=text,
        assistant_did=did,
        language=language.get("code") or (message.get("triage") or {}).get("language"),
        reply_language=language.get("reply"),
        top_intents=ranking,
        confidence=confidence,
        detector=detector,
    )


def record_case(db: Database, case: ReviewCase) -> bool:
    """Store `case`; False when it was already there (a retried action)."""
    try:
        with db.session() as session:
            session.add(case.row())
    except IntegrityError:
        return False
    return True


class ReviewRecorder:
    """Writes review cases on one background thread, so the reply never waits for them."""

    def __init__(self, database: Callable[[], Database] = get_database) -> None:
        self._database = database
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="review-capture")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()

    def submit(self, case: ReviewCase) -> None:
        """Queue `case` for writing; returns at once and never raises."""
        try:
            with self._lock:
                if len(self._pending) >= MAX_PENDING:
                    logger.warning("review capture dropped a case: %d writes pending", MAX_PENDING)
                    return
                future = self._executor.submit(self._write, case)
                self._pending.add(future)
            future.add_done_callback(self._done)
        except Exception as exc:  # e.g. shutting down: the reply goes on regardless
            logger.warning("review capture not queued (%s)", type(exc).__name__)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)

    def _write(self, case: ReviewCase) -> None:
        try:
            record_case(self._database(), case)
        except Exception as exc:  # storage unavailable: the case is dropped, the reply was sent
            logger.warning("review capture not stored (%s)", type(exc).__name__)

    def flush(self, timeout: float = 10.0) -> None:
        """Wait for the writes queued so far (tests, shutdown)."""
        with self._lock:
            pending = list(self._pending)
        wait(pending, timeout=timeout)


_recorder: ReviewRecorder | None = None
_recorder_lock = threading.Lock()


def recorder() -> ReviewRecorder:
    """The process's recorder, made on first use."""
    global _recorder
    with _recorder_lock:
        if _recorder is None:
            _recorder = ReviewRecorder()
        return _recorder


def note(
    conversation_id: str,
    message: Mapping[str, Any],
    outcome: Outcome,
    *,
    topic_intent: str | None = None,
    severity: str | None = None,
) -> None:
    """Queue the review case of this reply, if it is one; never raises, never waits."""
    try:
        case = review_case(
            conversation_id, message, outcome, topic_intent=topic_intent, severity=severity
        )
        if case is not None:
            recorder().submit(case)
    except Exception as exc:  # a malformed parse must not cost the reply
        logger.warning("review capture skipped (%s)", type(exc).__name__)
