"""Labels and their export: refused labels, Rasa NLU files per language that Rasa reads and
validates, triage regression cases, nothing identifying, nothing twice; and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
from sqlalchemy import select

from bot.datafiles import read_nlu_examples
from bot.paths import DATA_DIR, PROJECT_ROOT
from bot.review import capture, queue
from bot.review.export import ExportTargets, clean_text, export_labels
from bot.storage.db import Database
from bot.storage.models import AuditEntry, ReviewItem
from bot.triage.detect.evaluation import load_items
from tests.support.review_export import export_targets

PHONE = "+91 98765 43210"
TICKET_ID = "3f9a0c2b7d614e5f8a1b2c3d4e5f6a7b"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def targets(tmp_path: Path) -> ExportTargets:
    return export_targets(tmp_path)


def add_item(
    db: Database,
    text: str,
    reason: str = "clarify",
    language: str | None = "en",
    conversation: str = "conv-secret-42",
    message: str | None = None,
) -> int:
    case = capture.ReviewCase(
        conversation_id=conversation,
        message_id=message or f"m-{abs(hash(text))}",
        reason=reason,  # type: ignore[arg-type]
        text=text,
        assistant_did="asked the patient to clarify",
        language=language,
        top_intents=({"name": "nlu_fallback", "confidence": 0.25},),
    )
    assert capture.record_case(db, case)
    with db.session() as session:
        return session.execute(
            select(ReviewItem.id).where(ReviewItem.message_id == case.message_id)
        ).scalar_one()


def test_labels_outside_the_domain_are_refused_with_a_reason(db: Database) -> None:
    item = add_item(db, "is it ok before a wedding")
    with pytest.raises(queue.InvalidLabel, match="'ask_teleport' is not an intent of the"):
        queue.label_item(db, item, "amy", "topic", "ask_teleport")
    with pytest.raises(queue.InvalidLabel, match="report_symptom"):
        queue.label_item(db, item, "amy", "topic", "report_symptom")  # set by triage, not taught
    with pytest.raises(queue.InvalidLabel, match="how severe"):
        queue.label_item(db, item, "amy", "missed_symptom", severity="deadly")
    with pytest.raises(queue.InvalidLabel, match="Choose a topic"):
        queue.label_item(db, item, "amy", "maybe")
    with pytest.raises(queue.ItemNotFound):
        queue.label_item(db, item + 999, "amy", "out_of_scope")
    assert queue.list_items(db).total == 1  # still waiting
    view = queue.label_item(db, item, "amy", "topic", "ask_preparation")
    assert (view.label, view.label_intent, view.labelled_by) == ("topic", "ask_preparation", "amy")
    with db.session() as session:
        (entry,) = session.execute(
            select(AuditEntry).where(AuditEntry.action == queue.REVIEW_LABEL)
        ).scalars()
    assert entry.actor == "amy" and entry.detail == f"review item {item}: topic ask_preparation"
    assert queue.list_items(db).total == 0


def test_listing_filters_and_pages(db: Database) -> None:
    for n in range(7):
        add_item(db, f"english question {n}", reason="clarify")
    add_item(db, "Wie viel kostet das?", reason="unsupported_language", language="de")
    add_item(db, "what about my car", reason="out_of_scope")
    listing = queue.list_items(db, per_page=3)
    assert (listing.total, listing.pages, len(listing.items)) == (9, 3, 3)
    assert listing.counts["clarify"] == 7 and listing.counts["unsupported_language"] == 1
    assert listing.languages == ["de", "en"]
    last = queue.list_items(db, per_page=3, page=99)
    assert last.page == 3 and [i.text for i in last.items][-1] == "what about my car"
    german = queue.list_items(db, language="de")
    assert [i.text for i in german.items] == ["Wie viel kostet das?"]
    assert queue.list_items(db, reason="out_of_scope").total == 1


def test_export_writes_rasa_nlu_per_language_without_identifiers_and_only_once(
    db: Database, targets: ExportTargets
) -> None:
    english = add_item(db, f"can you ring me on {PHONE} about prices, ref {TICKET_ID[:8].upper()}")
    hindi = add_item(db, "मेसो के बाद कितने दिन धूप से बचना है", language="hi", conversation="c2")
    german = add_item(db, "Was ist das überhaupt?", language="de", conversation="c3")
    markup = add_item(db, "[free](promo) session {today}?", conversation="c4")
    queue.label_item(db, english, "amy", "topic", "ask_cost")
    queue.label_item(db, hindi, "amy", "topic", "ask_aftercare")
    queue.label_item(db, german, "amy", "out_of_scope")
    queue.label_item(db, markup, "amy", "topic", "ask_consultation")

    result = export_labels(db, "amy", targets)
    assert result.nlu_added == {"nlu.yml": 3, "nlu.hi.yml": 1} and not result.refused

    en_file, hi_file = targets.nlu_dir / "nlu.yml", targets.nlu_dir / "nlu.hi.yml"
    written = en_file.read_text(encoding="utf-8") + hi_file.read_text(encoding="utf-8")
    for secret in ("conv-secret-42", "c2", PHONE, TICKET_ID[:8].upper(), "98765"):
        assert secret not in written
    training = RasaYAMLReader().read(en_file)
    examples = {(m.get("intent"), m.get("text")) for m in training.intent_examples}
    assert examples == {
        ("ask_cost", "can you ring me on (number removed) about prices, ref (reference removed)"),
        ("out_of_scope", "Was ist das überhaupt?"),
        ("ask_consultation", "(free)(promo) session (today)?"),
    }
    assert training.entity_examples == []  # no text read as entity markup
    hindi_data = RasaYAMLReader().read(hi_file)
    assert [(m.get("intent"), m.get("text")) for m in hindi_data.intent_examples] == [
        ("ask_aftercare", "मेसो के बाद कितने दिन धूप से बचना है")
    ]
    assert read_nlu_examples(en_file)  # the project's own reader agrees

    # Again, with nothing new, and after another label of the same text: no duplicate.
    before = en_file.read_text(encoding="utf-8")
    assert export_labels(db, "amy", targets).exported == 0
    again = add_item(db, "Was ist  das überhaupt?", language="en", conversation="c5")
    queue.label_item(db, again, "bob", "out_of_scope")
    second = export_labels(db, "bob", targets)
    assert second.exported == 0 and second.already_present == 1
    assert en_file.read_text(encoding="utf-8") == before
    assert queue.list_items(db, reviewed=True).total == 0  # every label exported

    # An exported label can no longer change.
    with pytest.raises(queue.InvalidLabel, match="already exported"):
        queue.label_item(db, english, "amy", "out_of_scope")


def test_a_text_already_in_the_training_data_is_not_added(
    db: Database, targets: ExportTargets
) -> None:
    intent, text = read_nlu_examples(DATA_DIR / "nlu.yml")[5]
    item = add_item(db, text.upper())
    queue.label_item(db, item, "amy", "topic", intent)
    result = export_labels(db, "amy", targets)
    assert result.exported == 0 and result.already_present == 1
    assert not (targets.nlu_dir / "nlu.yml").exists()


def test_triage_misses_go_to_a_regression_set_the_evaluation_reads(
    db: Database, targets: ExportTargets
) -> None:
    missed = add_item(db, "my cheek has gone a strange grey colour and throbs", reason="clarify")
    false_alarm = add_item(db, "does the tightness go away with time", reason="second_detector")
    queue.label_item(db, missed, "amy", "missed_symptom", severity="emergency")
    queue.label_item(db, false_alarm, "amy", "topic", "ask_side_effects")
    result = export_labels(db, "amy", targets)
    assert result.triage_added == 2 and result.nlu_added == {"nlu.yml": 1}
    items = load_items(targets.triage_file)
    assert [(i.text, i.expected, i.lang, i.tag) for i in items] == [
        ("my cheek has gone a strange grey colour and throbs", "emergency", "en", "reviewed"),
        ("does the tightness go away with time", "none", "en", "reviewed"),
    ]
    assert "conv-secret-42" not in targets.triage_file.read_text(encoding="utf-8")
    assert export_labels(db, "amy", targets).triage_added == 0
    assert len(load_items(targets.triage_file)) == 2


def test_clean_text_keeps_dates_and_words() -> None:
    assert clean_text("booked 2026-12-01\nat 10:30\t ok") == "booked 2026-12-01 at 10:30 ok"
    assert clean_text("call 9876543210 please") == "call (number removed) please"
    assert clean_text("beef cafe faded") == "beef cafe faded"


def test_rasa_validates_the_training_data_with_the_export(
    targets: ExportTargets, tmp_path: Path
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'rasa.db'}")  # one database kind is enough here
    item = add_item(db, "is mesotherapy ok to do the week before my wedding")
    queue.label_item(db, item, "amy", "topic", "ask_preparation")
    export_labels(db, "amy", targets)
    run = subprocess.run(
        [sys.executable, "scripts/validate_rasa_data.py", str(targets.nlu_dir / "nlu.yml")],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:]
    assert "rasa data validate: ok" in run.stdout


def test_cli_exports_and_reports(db: Database, targets: ExportTargets, tmp_path: Path) -> None:
    item = add_item(db, "how long before i can wear makeup again")
    queue.label_item(db, item, "amy", "topic", "ask_aftercare")
    env = {**os.environ, "MESO_DATABASE_URL": db.url, "MESO_VAR_DIR": str(tmp_path / "var")}
    command = [
        sys.executable, "-m", "bot", "review", "export", "--actor", "amy",
        "--nlu-dir", str(targets.nlu_dir), "--triage-file", str(targets.triage_file),
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert "Exported 1 example(s): 1 in nlu.yml." in run.stdout
    assert "how long before i can wear makeup again" in (targets.nlu_dir / "nlu.yml").read_text()
    again = subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert "Exported 0 example(s): nothing new." in again.stdout
    listing = subprocess.run(
        [sys.executable, "-m", "bot", "review", "list"],
        cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "0  labelled, waiting for export" in listing.stdout
