"""The knowledge base is its files: an immutable in-memory snapshot of data/knowledge.

`KnowledgeBase` holds the last good `KnowledgeSnapshot`. `current()` notices a changed, added or
removed file on the next call (a `stat` of each file, no reading while nothing changed) and
`reload()` re-reads on demand (e.g. on SIGHUP). A file edited into something invalid is logged
with the file and entry at fault, and the last good snapshot keeps answering. No answer depends
on a database.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from bot.datafiles import DataFileError
from bot.evidence.notes import BenefitClaimDetector, EvidenceNote
from bot.knowledge.files import (
    FilesSignature,
    KnowledgeFiles,
    files_signature,
    knowledge_version,
    read_knowledge_files,
)
from bot.paths import KNOWLEDGE_DIR, SEEDS_DIR
from bot.replies.reply import Citation

logger = logging.getLogger(__name__)


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
class KnowledgeSnapshot:
    """Every topic, source and note of one version of the files. `version` is a hash of every
    knowledge file; each reply built from this snapshot carries it."""

    version: str
    topics: Mapping[str, TopicEntry]
    source_titles: Mapping[str, str]
    benefit_detector: BenefitClaimDetector

    def topic(self, topic_id: str) -> TopicEntry | None:
        return self.topics.get(topic_id)

    def topic_ids(self) -> list[str]:
        return sorted(self.topics)

    def source_title(self, source_id: str) -> str:
        return self.source_titles.get(source_id, source_id)


def _topic_entry(topic: dict, files: KnowledgeFiles) -> TopicEntry:
    note_id = topic.get("evidence_note")
    return TopicEntry(
        id=topic["id"],
        title=topic["title"],
        answer=topic["answer"].strip(),
        efficacy=topic["efficacy"],
        evidence_note=EvidenceNote(note_id, files.notes[note_id]) if note_id else None,
        citations=tuple(
            Citation(
                id=source_id,
                title=files.sources[source_id]["title"],
                file=files.sources[source_id]["file"],
                kind=files.sources[source_id]["kind"],
            )
            for source_id in topic["sources"]
        ),
        disagreements=tuple(
            Disagreement(
                point=d["point"],
                views=tuple((v["says"], tuple(v["sources"])) for v in d["views"]),
            )
            for d in topic.get("disagreements", ())
        ),
        related=tuple(topic.get("related", ())),
        uses_clinic_prices=topic.get("uses_clinic_prices", False),
        button_label=topic.get("button_label") or topic["title"][:20],
    )


def build_snapshot(files: KnowledgeFiles, version: str) -> KnowledgeSnapshot:
    """The snapshot of validated `files` (see `read_knowledge_files`)."""
    return KnowledgeSnapshot(
        version=version,
        topics=MappingProxyType({tid: _topic_entry(t, files) for tid, t in files.topics.items()}),
        source_titles=MappingProxyType({sid: s["title"] for sid, s in files.sources.items()}),
        benefit_detector=files.benefit_detector,
    )


def read_snapshot(
    directory: Path = KNOWLEDGE_DIR, seeds_dir: Path | None = SEEDS_DIR
) -> KnowledgeSnapshot:
    """Read, validate and snapshot the files; raises DataFileError naming the file and entry."""
    version = knowledge_version(directory)
    return build_snapshot(read_knowledge_files(directory, seeds_dir), version)


class KnowledgeBase:
    """The live knowledge base of one process: the last good snapshot of `directory`.

    The constructor raises DataFileError when the files are invalid at start (there is no good
    snapshot to fall back on). Afterwards an invalid edit never replaces the snapshot.
    """

    def __init__(self, directory: Path = KNOWLEDGE_DIR, seeds_dir: Path | None = SEEDS_DIR) -> None:
        self.directory = directory
        self._seeds_dir = seeds_dir
        self._lock = threading.Lock()
        self._signature = files_signature(directory)
        self._snapshot = read_snapshot(directory, seeds_dir)
        self._failed_version: str | None = None

    def current(self) -> KnowledgeSnapshot:
        """The snapshot to answer with, after picking up any file changed since the last call."""
        if files_signature(self.directory) != self._signature:
            self.reload()
        return self._snapshot

    def reload(self) -> bool:
        """Re-read the files now; True when a new version was taken. An invalid version is
        logged (once per version) and the last good snapshot stays."""
        with self._lock:
            signature: FilesSignature = files_signature(self.directory)
            self._signature = signature
            version = knowledge_version(self.directory)
            if version == self._snapshot.version:
                return False
            try:
                snapshot = build_snapshot(
                    read_knowledge_files(self.directory, self._seeds_dir), version
                )
            except DataFileError as exc:
                if self._failed_version != version:
                    self._failed_version = version
                    logger.error(
                        "knowledge files not taken, still answering from version %s: %s",
                        self._snapshot.version,
                        exc,
                    )
                return False
            logger.info(
                "knowledge base now at version %s (%d topics), was %s",
                snapshot.version,
                len(snapshot.topics),
                self._snapshot.version,
            )
            self._snapshot = snapshot
            self._failed_version = None
            return True

    def reload_on_signal(self, signum: int = signal.SIGHUP) -> None:
        """Re-read the files whenever the process receives `signum` (main thread only)."""
        # A thread, so a signal arriving while this thread holds the lock cannot deadlock.
        signal.signal(
            signum,
            lambda _signum, _frame: threading.Thread(target=self.reload, daemon=True).start(),
        )
