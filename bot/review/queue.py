"""The review queue: listing captured messages, staff labels (audited), and the personal-data
functions the privacy room registers (erase, expire, export one conversation).

A label is one of LABELS: `topic` with an intent of the domain (LABEL_INTENTS), `out_of_scope`,
or `missed_symptom` with a severity. A label can be changed until it has been exported.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

from sqlalchemy import delete, func, select

from bot.datafiles import read_yaml
from bot.rasa.responses import DOMAIN_FILE
from bot.review.capture import REASONS, recorder
from bot.storage.db import Database
from bot.storage.models import ReviewItem, as_utc, utcnow
from bot.tickets import audit
from bot.triage.result import SEVERITIES

Label = Literal["topic", "out_of_scope", "missed_symptom"]
LABELS: tuple[Label, ...] = get_args(Label)
OUT_OF_SCOPE_INTENT = "out_of_scope"  # the NLU intent an out_of_scope label teaches
# Intents the NLU never learns from examples: set by the triage, intake and language components,
# or chosen with a label of their own (out_of_scope).
NOT_LABELLABLE = frozenset(
    {
        OUT_OF_SCOPE_INTENT,
        "unusable_message",
        "report_symptom",
        "report_emergency",
        "help_request",
        "report_unwell",
        "choose_language",
        "nlu_fallback",
    }
)
REVIEW_LABEL = "review_label"  # the audit action of a label
REVIEW_EXPORT = "review_export"
PER_PAGE = 25


class InvalidLabel(ValueError):
    """A label the queue refuses; its message says why, in words for staff."""


class ItemNotFound(LookupError):
    pass


@cache
def label_intents(domain_file: Path = DOMAIN_FILE) -> tuple[str, ...]:
    """The intents staff can label a message with: domain.yml's, less NOT_LABELLABLE."""
    data = read_yaml(domain_file) or {}
    return tuple(str(i) for i in data.get("intents") or () if str(i) not in NOT_LABELLABLE)


@dataclass(frozen=True)
class ReviewView:
    id: int
    created_at: datetime
    reason: str
    text: str
    language: str | None
    reply_language: str | None
    assistant_did: str
    top_intents: list[dict[str, Any]]
    confidence: float | None
    label: str | None
    label_intent: str | None
    label_severity: str | None
    labelled_by: str | None
    exported: bool


@dataclass(frozen=True)
class ReviewPage:
    items: list[ReviewView]
    total: int
    page: int
    pages: int
    counts: dict[str, int]  # unreviewed items per reason
    languages: list[str]  # languages of unreviewed items, for the filter


def _view(row: ReviewItem) -> ReviewView:
    return ReviewView(
        id=row.id,
        created_at=as_utc(row.created_at),
        reason=row.reason,
        text=row.text,
        language=row.language,
        reply_language=row.reply_language,
        assistant_did=row.assistant_did,
        top_intents=list(row.top_intents or []),
        confidence=row.confidence,
        label=row.label,
        label_intent=row.label_intent,
        label_severity=row.label_severity,
        labelled_by=row.labelled_by,
        exported=row.exported_at is not None,
    )


def list_items(
    db: Database,
    *,
    reviewed: bool = False,
    reason: str | None = None,
    language: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ReviewPage:
    """Unreviewed items (or, with `reviewed`, labelled ones not yet exported), oldest first,
    filtered by reason and language, one page of them."""
    where = (
        [ReviewItem.label.is_(None)]
        if not reviewed
        else [
            ReviewItem.label.is_not(None),
            ReviewItem.exported_at.is_(None),
        ]
    )
    filtered = list(where)
    if reason in REASONS:
        filtered.append(ReviewItem.reason == reason)
    if language:
        filtered.append(ReviewItem.language == language)
    with db.session() as session:
        total = session.scalar(select(func.count(ReviewItem.id)).where(*filtered)) or 0
        pages = max(1, math.ceil(total / per_page))
        page = min(max(1, page), pages)
        rows = session.execute(
            select(ReviewItem)
            .where(*filtered)
            .order_by(ReviewItem.created_at, ReviewItem.id)
            .offset((page - 1) * per_page)
            .limit(per_page)
        ).scalars()
        items = [_view(row) for row in rows]
        counts = dict(
            session.execute(
                select(ReviewItem.reason, func.count(ReviewItem.id))
                .where(ReviewItem.label.is_(None))
                .group_by(ReviewItem.reason)
            ).all()
        )
        languages = sorted(
            str(lang)
            for lang in session.execute(
                select(ReviewItem.language).where(ReviewItem.label.is_(None)).distinct()
            ).scalars()
            if lang
        )
    return ReviewPage(
        items=items,
        total=total,
        page=page,
        pages=pages,
        counts={r: int(counts.get(r, 0)) for r in REASONS},
        languages=languages,
    )


def check_label(
    label: str, intent: str | None, severity: str | None, intents: Sequence[str]
) -> tuple[Label, str | None, str | None]:
    """The label, intent and severity to store, or InvalidLabel saying what is wrong."""
    if label == "topic":
        if not intent:
            raise InvalidLabel("Choose the topic the message is about.")
        if intent not in intents:
            raise InvalidLabel(
                f"'{intent}' is not an intent of the assistant's domain, so it cannot be a "
                "label. Choose one from the list."
            )
        return "topic", intent, None
    if label == "out_of_scope":
        return "out_of_scope", None, None
    if label == "missed_symptom":
        if severity not in SEVERITIES:
            raise InvalidLabel(f"Choose how severe the missed symptom is: {', '.join(SEVERITIES)}.")
        return "missed_symptom", None, severity
    raise InvalidLabel("Choose a topic, out of scope, or missed symptom.")


def label_item(
    db: Database,
    item_id: int,
    actor: str,
    label: str,
    intent: str | None = None,
    severity: str | None = None,
    intents: Sequence[str] | None = None,
) -> ReviewView:
    """Label one item and audit it, in one transaction. Raises ItemNotFound, or InvalidLabel
    for a label outside the domain or an item already exported."""
    chosen, chosen_intent, chosen_severity = check_label(
        label, intent, severity, label_intents() if intents is None else intents
    )
    with db.session() as session:
        row = session.get(ReviewItem, item_id)
        if row is None:
            raise ItemNotFound(item_id)
        if row.exported_at is not None:
            raise InvalidLabel("This message was already exported; its label can no longer change.")
        row.label, row.label_intent, row.label_severity = chosen, chosen_intent, chosen_severity
        row.labelled_by, row.labelled_at = actor[:64], utcnow()
        what = chosen_intent or chosen_severity or ""
        audit.add(
            session, actor, REVIEW_LABEL, None, f"review item {item_id}: {chosen} {what}".strip()
        )
        session.flush()
        return _view(row)


# --- personal data: registered by the privacy room (bot/privacy) ------------------------------


def erase_conversation(db: Database, conversation_id: str) -> int:
    """Remove every review item of the conversation; returns how many. The cases this process
    has queued but not yet written land first, so none of them arrives after the erasure."""
    recorder().flush()
    with db.session() as session:
        result = session.execute(
            delete(ReviewItem).where(ReviewItem.conversation_id == conversation_id)
        )
        return int(result.rowcount or 0)


def expire_before(db: Database, cutoff: datetime) -> int:
    """Remove the review items captured before `cutoff` (labelled or not; what was exported
    stays in the training files, which hold no identifier); returns how many."""
    with db.session() as session:
        result = session.execute(delete(ReviewItem).where(ReviewItem.created_at < cutoff))
        return int(result.rowcount or 0)


def export_conversation(db: Database, conversation_id: str) -> list[dict[str, Any]]:
    """The review items of the conversation, for a patient's data request."""
    with db.session() as session:
        rows = session.execute(
            select(ReviewItem)
            .where(ReviewItem.conversation_id == conversation_id)
            .order_by(ReviewItem.created_at, ReviewItem.id)
        ).scalars()
        return [
            {
                "kind": "review_item",
                "captured_at": as_utc(row.created_at).isoformat(),
                "text": row.text,
                "language": row.language,
                "reason": row.reason,
                "assistant_did": row.assistant_did,
                "label": row.label,
                "label_intent": row.label_intent,
                "label_severity": row.label_severity,
            }
            for row in rows
        ]
