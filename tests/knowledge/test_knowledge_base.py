"""Knowledge files, loading into SQL, and composing cited answers."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.clinic import clinic_config
from bot.datafiles import DataFileError
from bot.evidence.notes import MissingEvidenceNote
from bot.knowledge import KnowledgeBase, load_into_database, read_knowledge_files
from bot.knowledge.answers import compose_topic_answer
from bot.knowledge.store import KnowledgeBaseEmpty
from bot.paths import KNOWLEDGE_DIR
from bot.storage import Database

EFFICACY_TOPICS = {
    "hair_growth", "skin_rejuvenation", "fat_cellulite", "pain_relief", "evidence",
    "results", "how_it_works", "uses", "alternatives",
}  # fmt: skip
REQUIRED_TOPICS = EFFICACY_TOPICS | {
    "what_is", "ingredients", "body_areas", "cost", "sessions", "downtime", "side_effects",
    "pain_during", "preparation", "aftercare", "safety", "suitability", "history", "consultation",
}  # fmt: skip


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    return target


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'kb.db'}")


@pytest.fixture
def kb(db: Database) -> KnowledgeBase:
    files = read_knowledge_files()
    load_into_database(db, files)
    return KnowledgeBase(db, files.benefit_detector)


def _edit_topic(kb_dir: Path, topic: str, **changes: object) -> Path:
    path = kb_dir / "topics" / f"{topic}.yml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    return path


def test_required_topics_exist_and_efficacy_topics_carry_a_note() -> None:
    files = read_knowledge_files()
    assert set(files.topics) >= REQUIRED_TOPICS
    for topic_id in EFFICACY_TOPICS:
        topic = files.topics[topic_id]
        assert topic["efficacy"] is True, topic_id
        assert topic["evidence_note"] in files.notes, topic_id


def test_every_source_is_registered_with_its_kind() -> None:
    files = read_knowledge_files()
    assert len(files.sources) == 5
    assert {s["kind"] for s in files.sources.values()} <= {
        "clinic_marketing", "encyclopaedic_summary", "clinic_marketing_with_encyclopaedic_summary",
    }  # fmt: skip


def test_disputed_points_are_recorded_with_both_sides() -> None:
    files = read_knowledge_files()
    for topic_id in ("sessions", "results", "downtime"):
        topic = files.topics[topic_id]
        assert topic["disagreements"], topic_id
        assert "differ" in topic["answer"].lower(), topic_id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sources": ["no_such_source"]}, "unknown source id(s): no_such_source"),
        ({"efficacy": True, "evidence_note": None}, "needs an evidence_note"),
        ({"evidence_note": "missing_note"}, "unknown evidence note 'missing_note'"),
        ({"id": "other"}, "must match the file name"),
        ({"answer": "short"}, "too short"),
        ({"related": ["nowhere"]}, "related topic(s) not found: nowhere"),
    ],
)
def test_a_bad_entry_names_its_file_and_entry(kb_dir: Path, change: dict, message: str) -> None:
    path = _edit_topic(kb_dir, "cost", **change)
    with pytest.raises(DataFileError) as err:
        read_knowledge_files(kb_dir)
    assert str(path) in str(err.value)
    assert "entry 'cost'" in str(err.value) or "entry 'other'" in str(err.value)
    assert message in str(err.value)


def test_an_answer_that_states_a_benefit_needs_a_note(kb_dir: Path) -> None:
    _edit_topic(kb_dir, "aftercare", answer="Mesotherapy will regrow your hair in weeks. " * 2)
    with pytest.raises(DataFileError, match="states a benefit"):
        read_knowledge_files(kb_dir)


def test_invalid_yaml_names_the_file(kb_dir: Path) -> None:
    (kb_dir / "topics" / "cost.yml").write_text("id: [unclosed\n")
    with pytest.raises(DataFileError, match="cost.yml: not valid YAML"):
        read_knowledge_files(kb_dir)


def test_load_is_idempotent_and_tracks_updates_and_removals(db: Database, kb_dir: Path) -> None:
    first = load_into_database(db, read_knowledge_files(kb_dir))
    assert first.added == len(list((kb_dir / "topics").glob("*.yml")))
    again = load_into_database(db, read_knowledge_files(kb_dir))
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    _edit_topic(kb_dir, "history", title="Where mesotherapy comes from")
    (kb_dir / "topics" / "acne_scars.yml").unlink()
    for path in (kb_dir / "topics").glob("*.yml"):
        data = yaml.safe_load(path.read_text())
        if "acne_scars" in data.get("related", []):
            _edit_topic(
                kb_dir, path.stem, related=[r for r in data["related"] if r != "acne_scars"]
            )
    third = load_into_database(db, read_knowledge_files(kb_dir))
    assert third.updated >= 1 and third.removed == 1
    kb = KnowledgeBase(db, refresh_seconds=0)
    assert kb.topic("history").title == "Where mesotherapy comes from"
    assert kb.topic("acne_scars") is None


def test_empty_database_says_how_to_load(db: Database) -> None:
    with pytest.raises(KnowledgeBaseEmpty, match="python -m bot kb load"):
        KnowledgeBase(db)


@pytest.mark.parametrize("topic_id", sorted(EFFICACY_TOPICS))
def test_every_efficacy_answer_renders_its_note(kb: KnowledgeBase, topic_id: str) -> None:
    reply = compose_topic_answer(kb, topic_id, clinic_config())
    envelope = reply.envelope()
    assert envelope["efficacy"] is True
    assert (
        envelope["disclaimer"] and envelope["disclaimer"] == kb.topic(topic_id).evidence_note.text
    )
    assert f"Evidence note: {envelope['disclaimer']}" in reply.rasa_message()["text"]


def test_hair_growth_note_is_specific_to_the_claim(kb: KnowledgeBase) -> None:
    note = compose_topic_answer(kb, "hair_growth", clinic_config()).disclaimer.lower()
    assert "small" in note and "low quality" in note
    assert "not an approved treatment" in note
    assert "vary" in note


def test_cost_shows_clinic_prices_when_configured_else_labelled_ranges(kb: KnowledgeBase) -> None:
    clinic = clinic_config()
    with_prices = compose_topic_answer(kb, "cost", clinic).body
    assert "own prices" in with_prices and "INR 12,000 per session" in with_prices
    without = compose_topic_answer(kb, "cost", replace(clinic, prices=())).body
    assert "own prices" not in without
    assert "15,000" in without and clinic.phone in without


def test_disagreements_show_every_view_with_its_source(kb: KnowledgeBase) -> None:
    body = compose_topic_answer(kb, "sessions", clinic_config()).body
    assert "Sources differ on" in body
    for _, sources in kb.topic("sessions").disagreements[0].views:
        assert kb.source_title(sources[0]) in body


def test_no_code_path_builds_an_efficacy_answer_without_its_note(kb: KnowledgeBase) -> None:
    entry = kb.topic("hair_growth")
    stripped = replace(entry, evidence_note=None)
    kb._topics["hair_growth"] = stripped  # simulate a corrupted row
    with pytest.raises(MissingEvidenceNote):
        compose_topic_answer(kb, "hair_growth", clinic_config())
