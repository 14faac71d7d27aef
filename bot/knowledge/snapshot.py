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
    ENGLISH,
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
    """Every topic, source and note of one version of the files, in every reply language.
    `version` is a hash of every knowledge file; each reply built from this snapshot carries it.
    `topics` and `benefit_detector` are the English ones; `translated` and `detectors` hold
    each other language's (all topics present: `read_knowledge_files` checks it)."""

    version: str
    topics: Mapping[str, TopicEntry]
    source_titles: Mapping[str, str]
    benefit_detector: BenefitClaimDetector
    translated: Mapping[str, Mapping[str, TopicEntry]] = MappingProxyType({})
    detectors: Mapping[str, BenefitClaimDetector] = MappingProxyType({})

    @property
    def languages(self) -> tuple[str, ...]:
        return (ENGLISH, *self.translated)

    def topic(self, topic_id: str, lang: str = ENGLISH) -> TopicEntry | None:
        """The topic in `lang`; English for a language the snapshot does not have."""
        return self.translated.get(lang, self.topics).get(topic_id)

    def detector(self, lang: str = ENGLISH) -> BenefitClaimDetector:
        return self.detectors.get(lang, self.benefit_detector)

    def topic_ids(self) -> list[str]:
        return sorted(self.topics)

    def source_title(self, source_id: str) -> str:
        return self.source_titles.get(source_id, source_id)


def _topic_entry(
    topic: dict, files: KnowledgeFiles, texts: dict | None = None, notes: dict | None = None
) -> TopicEntry:
    """The entry of an English `topic`; with `texts` (its translation) and `notes` (that
    language's notes), the same entry in that language: only the words differ."""
    words = texts or topic
    notes = notes or files.notes
    note_id = topic.get("evidence_note")
    english_views = [d["views"] for d in topic.get("disagreements", ())]
    return TopicEntry(
        id=topic["id"],
        title=words["title"],
        answer=words["answer"].strip(),
        efficacy=topic["efficacy"],
        evidence_note=EvidenceNote(note_id, notes[note_id]) if note_id else None,
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
                views=tuple(
                    (v["says"], tuple(english["sources"]))
                    for v, english in zip(d["views"], views, strict=True)
                ),
            )
            for d, views in zip(words.get("disagreements", ()), english_views, strict=True)
        ),
        related=tuple(topic.get("related", ())),
        uses_clinic_prices=topic.get("uses_clinic_prices", False),
        button_label=words.get("button_label") or words["title"][:20],
    )


def build_snapshot(files: KnowledgeFiles, version: str) -> KnowledgeSnapshot:
    """The snapshot of validated `files` (see `read_knowledge_files`)."""
    return KnowledgeSnapshot(
        version=version,
        topics=MappingProxyType({tid: _topic_entry(t, files) for tid, t in files.topics.items()}),
        source_titles=MappingProxyType({sid: s["title"] for sid, s in files.sources.items()}),
        benefit_detector=files.benefit_detector,
        translated=MappingProxyType(
            {
                lang: MappingProxyType(
                    {
                        tid: _topic_entry(t, files, texts.topics[tid], texts.notes)
                        for tid, t in files.topics.items()
                    }
                )
                for lang, texts in files.translations.items()
            }
        ),
        detectors=MappingProxyType(
            {lang: texts.benefit_detector for lang, texts in files.translations.items()}
        ),
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
