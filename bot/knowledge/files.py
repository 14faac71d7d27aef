"""Reading and cross-checking the knowledge-base files.

Layout (all clinic-editable):
  data/knowledge/sources.yml         the registry of source articles
  data/knowledge/evidence_notes.yml  evidence notes by id
  data/knowledge/benefit_claims.yml  phrases that state a benefit (an answer using one needs a note)
  data/knowledge/topics/<id>.yml     one topic per file

Every problem raises DataFileError naming the file and the entry.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.datafiles import ENGLISH, DataFileError, load_checked
from bot.evidence.notes import BenefitClaimDetector
from bot.language.identify import language_settings
from bot.paths import KNOWLEDGE_DIR, SEEDS_DIR
from bot.replies.fill import check_placeholders


@dataclass(frozen=True)
class LanguageTexts:
    """The validated texts of one other reply language (data/knowledge/languages/<lang>/)."""

    topics: dict[str, dict[str, Any]]  # topic id -> title, answer, button_label, disagreements
    notes: dict[str, str]
    benefit_detector: BenefitClaimDetector


@dataclass(frozen=True)
class KnowledgeFiles:
    """The validated contents of data/knowledge/: English, and each other reply language."""

    sources: dict[str, dict[str, Any]]
    notes: dict[str, str]
    topics: dict[str, dict[str, Any]]
    benefit_detector: BenefitClaimDetector
    translations: dict[str, LanguageTexts] = field(default_factory=dict)


def _check_topic(
    topic: dict[str, Any],
    path: Path,
    sources: dict[str, dict[str, Any]],
    notes: dict[str, str],
    detector: BenefitClaimDetector,
) -> None:
    entry = topic["id"]
    if entry != path.stem:
        raise DataFileError(path, f"id '{entry}' must match the file name '{path.stem}'", entry)
    cited = list(topic["sources"])
    for disagreement in topic.get("disagreements", ()):
        for view in disagreement["views"]:
            cited.extend(view["sources"])
    unknown = sorted(set(cited) - set(sources))
    if unknown:
        raise DataFileError(path, f"unknown source id(s): {', '.join(unknown)}", entry)
    note = topic.get("evidence_note")
    if note is not None and note not in notes:
        raise DataFileError(path, f"unknown evidence note '{note}'", entry)
    if topic["efficacy"] and note is None:
        raise DataFileError(path, "an efficacy topic needs an evidence_note", entry)
    shown = [topic["answer"]] + [
        text
        for d in topic.get("disagreements", ())
        for text in [d["point"], *(v["says"] for v in d["views"])]
    ]
    # Answers are shown as written: a "{placeholder}" would reach the patient unfilled.
    check_placeholders(path, topic, allowed=lambda _at: ())
    claims = detector.claims_in("\n".join(shown))
    if claims and note is None:
        raise DataFileError(
            path,
            f"the answer states a benefit ({', '.join(claims)}) but has no evidence_note",
            entry,
        )


LANGUAGES_DIR = "languages"  # data/knowledge/languages/<lang>/: the texts in another language
FilesSignature = tuple[tuple[str, int, int], ...]
VERSION_LENGTH = 12


def knowledge_paths(directory: Path = KNOWLEDGE_DIR) -> list[Path]:
    """Every file the knowledge base is read from, in a stable order."""
    return sorted(p for p in directory.rglob("*.yml") if p.is_file())


def files_signature(directory: Path = KNOWLEDGE_DIR) -> FilesSignature:
    """(path, size, mtime) of every knowledge file: cheap, and different after any edit."""
    signature = []
    for path in knowledge_paths(directory):
        try:
            stat = os.stat(path)
        except FileNotFoundError:
            continue
        signature.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


def knowledge_version(directory: Path = KNOWLEDGE_DIR) -> str:
    """A hash of every knowledge file's name and bytes (first VERSION_LENGTH hex digits)."""
    digest = hashlib.sha256()
    for path in knowledge_paths(directory):
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            continue
        digest.update(str(path.relative_to(directory)).encode() + b"\0")
        digest.update(hashlib.sha256(content).digest())
    return digest.hexdigest()[:VERSION_LENGTH]


def read_knowledge_files(
    directory: Path = KNOWLEDGE_DIR,
    seeds_dir: Path | None = SEEDS_DIR,
    languages: tuple[str, ...] | None = None,
) -> KnowledgeFiles:
    """Read and validate every knowledge file. `seeds_dir`, when given, must hold each source.
    `languages`: the other languages whose texts must be complete (default: every reply
    language of data/languages.yml but English)."""
    sources_path = directory / "sources.yml"
    sources = {s["id"]: s for s in load_checked(sources_path, "sources")["sources"]}
    if seeds_dir is not None and seeds_dir.is_dir():
        for source in sources.values():
            if not (seeds_dir / source["file"]).is_file():
                raise DataFileError(
                    sources_path, f"file {source['file']} not found in {seeds_dir}", source["id"]
                )
    notes_path = directory / "evidence_notes.yml"
    notes = {k: v["text"] for k, v in load_checked(notes_path, "evidence_notes")["notes"].items()}
    detector = BenefitClaimDetector.from_file(directory / "benefit_claims.yml")

    topics: dict[str, dict[str, Any]] = {}
    topic_paths = sorted((directory / "topics").glob("*.yml"))
    if not topic_paths:
        raise DataFileError(directory / "topics", "no topic files found")
    for path in topic_paths:
        topic = load_checked(path, "topic", entry=path.stem)
        _check_topic(topic, path, sources, notes, detector)
        topics[topic["id"]] = topic
    for topic_id, topic in topics.items():
        unknown = sorted(set(topic.get("related", ())) - set(topics))
        if unknown:
            raise DataFileError(
                directory / "topics" / f"{topic_id}.yml",
                f"related topic(s) not found: {', '.join(unknown)}",
                topic_id,
            )
    if languages is None:
        languages = tuple(lang for lang in language_settings().replies if lang != ENGLISH)
    translations = {
        lang: _read_language(directory / LANGUAGES_DIR / lang, lang, topics, notes)
        for lang in languages
    }
    return KnowledgeFiles(
        sources=sources,
        notes=notes,
        topics=topics,
        benefit_detector=detector,
        translations=translations,
    )


def _read_language(
    directory: Path, lang: str, topics: dict[str, dict[str, Any]], notes: dict[str, str]
) -> LanguageTexts:
    """One language's texts, checked against the English: every topic and note present, the
    same disagreements, no placeholders, and no benefit stated in a topic without a note."""
    if not directory.is_dir():
        raise DataFileError(directory, f"missing: every reply language needs its texts ({lang})")
    notes_path = directory / "evidence_notes.yml"
    translated_notes = {
        k: v["text"] for k, v in load_checked(notes_path, "evidence_notes")["notes"].items()
    }
    for note_id in sorted(set(notes) ^ set(translated_notes)):
        problem = "is missing" if note_id in notes else "is not an English note"
        raise DataFileError(notes_path, f"evidence note '{note_id}' {problem}", note_id)
    detector = BenefitClaimDetector.from_file(directory / "benefit_claims.yml")
    translated: dict[str, dict[str, Any]] = {}
    for topic_id, english in topics.items():
        path = directory / "topics" / f"{topic_id}.yml"
        if not path.is_file():
            raise DataFileError(path, f"topic '{topic_id}' has no {lang} version", topic_id)
        topic = load_checked(path, "topic_translation", entry=topic_id)
        _check_translation(topic, english, path, detector)
        translated[topic_id] = topic
    extra = sorted(p.stem for p in (directory / "topics").glob("*.yml") if p.stem not in translated)
    if extra:
        raise DataFileError(directory / "topics", f"no English topic for: {', '.join(extra)}")
    return LanguageTexts(topics=translated, notes=translated_notes, benefit_detector=detector)


def _check_translation(
    topic: dict[str, Any], english: dict[str, Any], path: Path, detector: BenefitClaimDetector
) -> None:
    entry = english["id"]
    if topic["id"] != entry:
        raise DataFileError(path, f"id '{topic['id']}' must match the file name '{entry}'", entry)
    shape = [len(d["views"]) for d in english.get("disagreements", ())]
    if [len(d["views"]) for d in topic.get("disagreements", ())] != shape:
        raise DataFileError(
            path,
            f"disagreements must match the English topic: {len(shape)} point(s) with "
            f"{shape} view(s)",
            entry,
        )
    check_placeholders(path, topic, allowed=lambda _at: ())
    shown = [topic["answer"]] + [
        text
        for d in topic.get("disagreements", ())
        for text in [d["point"], *(v["says"] for v in d["views"])]
    ]
    claims = detector.claims_in("\n".join(shown))
    if claims and english.get("evidence_note") is None:
        raise DataFileError(
            path,
            f"the answer states a benefit ({', '.join(claims)}) but the topic has no evidence_note",
            entry,
        )
