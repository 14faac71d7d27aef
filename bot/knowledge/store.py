"""The knowledge base in SQL: loading validated files into it, and reading it back as a snapshot."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bot.evidence.notes import BenefitClaimDetector, EvidenceNote
from bot.knowledge.files import KnowledgeFiles
from bot.replies.reply import Citation
from bot.storage.db import Database
from bot.storage.models import EvidenceNoteRow, Source, Topic, TopicSource, utcnow


class KnowledgeBaseEmpty(RuntimeError):
    """The database holds no topics: run `python -m bot kb load`."""


@dataclass(frozen=True)
class Disagreement:
    point: str
    views: tuple[tuple[str, tuple[str, ...]], ...]  # (what is said, source ids)


@dataclass(frozen=True)
class TopicEntry:
    id: str
    title: str
    answer: str
    efficacy: bool
    evidence_note: EvidenceNote | None
    citations: tuple[Citation, ...]
    disagreements: tuple[Disagreement, ...]
    related: tuple[str, ...]
    uses_clinic_prices: bool
    button_label: str


@dataclass(frozen=True)
class LoadSummary:
    added: int
    updated: int
    unchanged: int
    removed: int

    def __str__(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.removed} removed"
        )


def _content_hash(topic: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(topic, sort_keys=True).encode()).hexdigest()


def load_into_database(db: Database, files: KnowledgeFiles) -> LoadSummary:
    """Insert or update sources, notes and topics so the database matches the files exactly."""
    added = updated = unchanged = 0
    with db.session() as session:
        for source in files.sources.values():
            session.merge(
                Source(
                    id=source["id"],
                    title=source["title"],
                    file=source["file"],
                    kind=source["kind"],
                    note=source.get("note"),
                )
            )
        for note_id, text in files.notes.items():
            session.merge(EvidenceNoteRow(id=note_id, text=text))
        session.flush()

        existing = {t.id: t for t in session.execute(select(Topic)).scalars()}
        for topic_id, topic in files.topics.items():
            digest = _content_hash(topic)
            row = existing.pop(topic_id, None)
            if row is not None and row.content_hash == digest:
                unchanged += 1
                continue
            if row is None:
                row = Topic(id=topic_id)
                session.add(row)
                added += 1
            else:
                updated += 1
            row.title = topic["title"]
            row.answer = topic["answer"].strip()
            row.efficacy = topic["efficacy"]
            row.evidence_note_id = topic.get("evidence_note")
            row.disagreements = topic.get("disagreements", [])
            row.related = topic.get("related", [])
            row.uses_clinic_prices = topic.get("uses_clinic_prices", False)
            row.button_label = topic.get("button_label")
            row.content_hash = digest
            row.updated_at = utcnow()
            row.sources = [
                TopicSource(topic_id=topic_id, source_id=source_id, position=i)
                for i, source_id in enumerate(topic["sources"])
            ]
        for row in existing.values():
            session.delete(row)
        removed = len(existing)
        known_sources = set(files.sources)
        for source in session.execute(select(Source)).scalars():
            if source.id not in known_sources:
                session.delete(source)
    return LoadSummary(added, updated, unchanged, removed)


def _version(db: Database) -> tuple[Any, ...]:
    with db.session() as session:
        return tuple(
            session.execute(select(func.count(Topic.id), func.max(Topic.updated_at))).one()
        )


class KnowledgeBase:
    """An immutable snapshot of the topics in SQL, refreshed when the database changes.

    `topic()` is the hot path: a dictionary look-up; the database is asked at most once per
    `refresh_seconds` whether anything changed.
    """

    def __init__(
        self,
        db: Database,
        benefit_detector: BenefitClaimDetector | None = None,
        refresh_seconds: float = 30.0,
    ) -> None:
        self._db = db
        self.benefit_detector = benefit_detector
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._checked_at = 0.0
        self._version: tuple[Any, ...] | None = None
        self._topics: dict[str, TopicEntry] = {}
        self._reload()

    def _reload(self) -> None:
        version = _version(self._db)
        if not version[0]:
            raise KnowledgeBaseEmpty(
                "the knowledge base is empty: run `python -m bot kb load` (make run does this)"
            )
        with self._db.session() as session:
            sources = {s.id: s for s in session.execute(select(Source)).scalars()}
            notes = {n.id: n.text for n in session.execute(select(EvidenceNoteRow)).scalars()}
            topics = {}
            for row in session.execute(select(Topic)).scalars():
                citations = tuple(
                    Citation(
                        id=ts.source_id,
                        title=sources[ts.source_id].title,
                        file=sources[ts.source_id].file,
                        kind=sources[ts.source_id].kind,
                    )
                    for ts in sorted(row.sources, key=lambda ts: ts.position)
                )
                note_id = row.evidence_note_id
                topics[row.id] = TopicEntry(
                    id=row.id,
                    title=row.title,
                    answer=row.answer,
                    efficacy=row.efficacy,
                    evidence_note=EvidenceNote(note_id, notes[note_id]) if note_id else None,
                    citations=citations,
                    disagreements=tuple(
                        Disagreement(
                            point=d["point"],
                            views=tuple((v["says"], tuple(v["sources"])) for v in d["views"]),
                        )
                        for d in row.disagreements
                    ),
                    related=tuple(row.related),
                    uses_clinic_prices=row.uses_clinic_prices,
                    button_label=row.button_label or row.title[:20],
                )
        self._topics = topics
        self._source_titles = {s.id: s.title for s in sources.values()}
        self._version = version

    def _maybe_refresh(self) -> None:
        now = time.monotonic()
        if now - self._checked_at < self._refresh_seconds:
            return
        with self._lock:
            if now - self._checked_at < self._refresh_seconds:
                return
            self._checked_at = now
            if _version(self._db) != self._version:
                self._reload()

    def topic(self, topic_id: str) -> TopicEntry | None:
        self._maybe_refresh()
        return self._topics.get(topic_id)

    def topic_ids(self) -> list[str]:
        self._maybe_refresh()
        return sorted(self._topics)

    def source_title(self, source_id: str) -> str:
        return self._source_titles.get(source_id, source_id)
