"""Export: staff labels become training data for the next `make train`.

- `topic` and `out_of_scope` labels become Rasa 3.x NLU examples in data/reviewed/, one file
  per language as the project keeps them (nlu.yml English, nlu.<lang>.yml the others; a
  language without NLU data goes to the English file). The Makefile trains on these with
  data/nlu*.yml.
- `missed_symptom` labels become triage regression cases (expected = the severity staff chose)
  in tests/triage_eval/reviewed.yml; a report caught only by the second detector that staff
  labelled as a question or out of scope becomes a case expected `none` there.

Exported text carries no identifier: no conversation id, phone number (bot.observability.logs)
or ticket reference/id is written, only the cleaned text. Exporting again adds nothing twice: an
item is exported once (`exported_at`), and a text already in the training data (or already in
the regression file) is not written again.
"""

from __future__ import annotations

import fcntl
import os
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from bot.datafiles import ENGLISH, read_nlu_examples, safe_load
from bot.observability.logs import redact
from bot.paths import DATA_DIR, PROJECT_ROOT, VAR_DIR
from bot.review.queue import OUT_OF_SCOPE_INTENT, REVIEW_EXPORT, label_intents
from bot.storage.db import Database
from bot.storage.models import ReviewItem, utcnow
from bot.tickets import audit

NLU_VERSION = "3.1"
REFERENCE = re.compile(r"(?i)(?<![\w])(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}(?![\w])")
REFERENCE_REMOVED = "(reference removed)"
TRIAGE_TAG = "reviewed"

NLU_HEADER = """\
# Examples labelled by clinic staff in the review queue (/clinician/review, or
# `python -m bot review export`). Written by the export, one file per language; the clinic may
# edit or delete lines, and a deleted example is not written again. Trained with data/nlu*.yml.
"""
TRIAGE_HEADER = """\
# Triage regression cases from the review queue: patient messages staff marked as a missed
# symptom (expected: the severity they chose), and reports caught only by the second detector
# that staff labelled as ordinary questions (expected: none). Written by
# `python -m bot review export`; no identifier is kept. Same format as the other sets here.
"""


@dataclass(frozen=True)
class ExportTargets:
    nlu_dir: Path = DATA_DIR / "reviewed"  # where reviewed NLU files are written
    triage_file: Path = PROJECT_ROOT / "tests" / "triage_eval" / "reviewed.yml"
    training_dir: Path = DATA_DIR  # the training NLU files (nlu*.yml), not written
    lock_file: Path = VAR_DIR / "review-export.lock"


@dataclass
class ExportResult:
    nlu_added: dict[str, int] = field(default_factory=dict)  # file name -> examples added
    triage_added: int = 0
    already_present: int = 0  # texts the training data or regression set already had
    refused: list[str] = field(default_factory=list)  # why an item was not exported

    @property
    def exported(self) -> int:
        return sum(self.nlu_added.values()) + self.triage_added

    def summary(self) -> str:
        parts = [f"{count} in {name}" for name, count in sorted(self.nlu_added.items())]
        if self.triage_added:
            parts.append(f"{self.triage_added} in the triage regression set")
        added = ", ".join(parts) if parts else "nothing new"
        text = f"Exported {self.exported} example(s): {added}."
        if self.already_present:
            text += f" {self.already_present} were already in the data."
        if self.refused:
            text += " Not exported: " + "; ".join(self.refused) + "."
        return text


def clean_text(text: str) -> str:
    """The text as a training example: one line, printable, with phone numbers and ticket
    references removed and no brackets that Rasa would read as entity markup."""
    text = "".join(
        " " if unicodedata.category(ch).startswith(("C", "Z")) and ch != " " else ch for ch in text
    )
    text = REFERENCE.sub(REFERENCE_REMOVED, redact(text))
    text = text.replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")
    return " ".join(text.split())


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def nlu_file_name(lang: str | None, training_dir: Path) -> str:
    """nlu.yml for English and languages without NLU data; nlu.<lang>.yml otherwise."""
    have = {p.name.split(".")[1] for p in training_dir.glob("nlu.*.yml") if p.name.count(".") == 2}
    return f"nlu.{lang}.yml" if lang and lang != ENGLISH and lang in have else "nlu.yml"


def _read_reviewed(path: Path) -> dict[str, list[str]]:
    examples: dict[str, list[str]] = {}
    if path.exists():
        for intent, text in read_nlu_examples(path):
            examples.setdefault(intent, []).append(text)
    return examples


def _nlu_yaml(examples: dict[str, list[str]]) -> str:
    lines = [f'version: "{NLU_VERSION}"', "", NLU_HEADER.rstrip(), "", "nlu:"]
    for intent in sorted(examples):
        lines += [f"- intent: {intent}", "  examples: |"]
        lines += [f"    - {text}" for text in examples[intent]]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _triage_yaml(messages: list[dict[str, Any]]) -> str:
    body = yaml.safe_dump({"messages": messages}, allow_unicode=True, sort_keys=False, width=10_000)
    return TRIAGE_HEADER + body


def _write(path: Path, content: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)


@contextmanager
def _export_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def export_labels(db: Database, actor: str, targets: ExportTargets | None = None) -> ExportResult:
    """Write every labelled, not yet exported item to the training files and mark it exported;
    audited as REVIEW_EXPORT. Files are written before the rows are marked, so a failure loses
    nothing (a repeat finds the texts already there)."""
    targets = targets or ExportTargets()
    result = ExportResult()
    intents = {*label_intents(), OUT_OF_SCOPE_INTENT}
    with _export_lock(targets.lock_file), db.session() as session:
        rows = list(
            session.execute(
                select(ReviewItem)
                .where(ReviewItem.label.is_not(None), ReviewItem.exported_at.is_(None))
                .order_by(ReviewItem.labelled_at, ReviewItem.id)
            ).scalars()
        )
        if not rows:
            return result
        known = {
            _key(text): intent
            for path in sorted(targets.training_dir.glob("nlu*.yml"))
            for intent, text in read_nlu_examples(path)
        }
        files: dict[str, dict[str, list[str]]] = {}
        for path in sorted(targets.nlu_dir.glob("nlu*.yml")):
            files[path.name] = _read_reviewed(path)
            for intent, texts in files[path.name].items():
                known.update({_key(t): intent for t in texts})
        triage = _read_triage(targets.triage_file)
        triage_known = {_key(m["text"]) for m in triage}
        changed_files: set[str] = set()
        done: list[ReviewItem] = []
        for row in rows:
            text = clean_text(row.text)
            if not text:
                result.refused.append(f"item {row.id} has no text left to export")
                continue
            if row.label in ("topic", "out_of_scope"):
                intent = row.label_intent if row.label == "topic" else OUT_OF_SCOPE_INTENT
                if intent not in intents:
                    result.refused.append(
                        f"item {row.id}: '{intent}' is no longer an intent of the domain; "
                        "label it again"
                    )
                    continue
                done.append(row)
                if row.reason == "second_detector" and _key(text) not in triage_known:
                    triage.append(_triage_case(text, "none", row.language))
                    triage_known.add(_key(text))
                    result.triage_added += 1
                if _key(text) in known:
                    result.already_present += 1
                    continue
                name = nlu_file_name(row.language, targets.training_dir)
                files.setdefault(name, {}).setdefault(intent, []).append(text)
                known[_key(text)] = intent
                changed_files.add(name)
                result.nlu_added[name] = result.nlu_added.get(name, 0) + 1
            elif row.label == "missed_symptom":
                done.append(row)
                if _key(text) in triage_known:
                    result.already_present += 1
                    continue
                triage.append(_triage_case(text, str(row.label_severity), row.language))
                triage_known.add(_key(text))
                result.triage_added += 1
        for name in sorted(changed_files):
            _write(targets.nlu_dir / name, _nlu_yaml(files[name]))
        if result.triage_added:
            _write(targets.triage_file, _triage_yaml(triage))
        now = utcnow()
        for row in done:
            row.exported_at = now
        audit.add(session, actor, REVIEW_EXPORT, None, result.summary())
    return result


def _triage_case(text: str, expected: str, lang: str | None) -> dict[str, Any]:
    return {"text": text, "expected": expected, "lang": lang or ENGLISH, "tag": TRIAGE_TAG}


def _read_triage(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    data = safe_load(path.read_text(encoding="utf-8")) or {}
    return list(data.get("messages") or [])
