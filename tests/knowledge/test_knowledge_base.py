"""Knowledge files, the live in-memory snapshot, and composing cited answers."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import time
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest
import yaml

from bot.clinic import clinic_config
from bot.datafiles import DataFileError
from bot.evidence.notes import MissingEvidenceNote
from bot.knowledge import KnowledgeBase, KnowledgeSnapshot, read_knowledge_files, read_snapshot
from bot.knowledge.answers import compose_topic_answer
from bot.paths import KNOWLEDGE_DIR

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
def kb() -> KnowledgeSnapshot:
    return read_snapshot()


def _edit_topic(kb_dir: Path, topic: str, **changes: object) -> Path:
    path = kb_dir / "topics" / f"{topic}.yml"
    data = yaml.safe_load(path.read_text())
    data.update(changes)
    path.write_text(yaml.safe_dump(data))
    _touch_later(path)
    return path


def _touch_later(path: Path) -> None:
    """Move the mtime on, so an edit within the clock's resolution still shows as a change."""
    later = time.time_ns() + 2_000_000_000
    os.utime(path, ns=(later, later))


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


def test_an_edit_is_picked_up_on_the_next_call_without_a_restart(kb_dir: Path) -> None:
    live = KnowledgeBase(kb_dir)
    before = live.current()
    _edit_topic(kb_dir, "history", title="Where mesotherapy comes from")
    (kb_dir / "topics" / "acne_scars.yml").unlink()
    for translated in (kb_dir / "languages").glob("*/topics/acne_scars.yml"):
        translated.unlink()
    for path in (kb_dir / "topics").glob("*.yml"):
        data = yaml.safe_load(path.read_text())
        if "acne_scars" in data.get("related", []):
            _edit_topic(
                kb_dir, path.stem, related=[r for r in data["related"] if r != "acne_scars"]
            )
    after = live.current()
    assert after.version != before.version
    assert after.topic("history").title == "Where mesotherapy comes from"
    assert after.topic("acne_scars") is None
    assert before.topic("acne_scars") is not None  # a snapshot never changes under a reader


def test_evidence_note_and_source_title_edits_reach_the_answers(kb_dir: Path) -> None:
    live = KnowledgeBase(kb_dir)
    notes_path = kb_dir / "evidence_notes.yml"
    notes = yaml.safe_load(notes_path.read_text())
    note_id = live.current().topic("hair_growth").evidence_note.id
    notes["notes"][note_id]["text"] = notes["notes"][note_id]["text"] + " Edited today."
    notes_path.write_text(yaml.safe_dump(notes, allow_unicode=True))
    _touch_later(notes_path)
    sources_path = kb_dir / "sources.yml"
    sources = yaml.safe_load(sources_path.read_text())
    sources["sources"][0]["title"] = "A renamed source"
    sources_path.write_text(yaml.safe_dump(sources, allow_unicode=True))
    _touch_later(sources_path)
    snapshot = live.current()
    reply = compose_topic_answer(snapshot, "hair_growth", clinic_config())
    assert reply.disclaimer.endswith("Edited today.")
    assert snapshot.source_title(sources["sources"][0]["id"]) == "A renamed source"
    assert reply.envelope()["knowledge_version"] == snapshot.version


def test_version_is_a_hash_of_every_file(kb_dir: Path) -> None:
    first = read_snapshot(kb_dir).version
    assert read_snapshot(kb_dir).version == first
    (kb_dir / "benefit_claims.yml").write_text(
        (kb_dir / "benefit_claims.yml").read_text() + "\n# a comment\n"
    )
    assert read_snapshot(kb_dir).version != first


def test_an_invalid_edit_keeps_the_last_good_snapshot_and_logs_the_fault(
    kb_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = KnowledgeBase(kb_dir)
    good = live.current()
    path = _edit_topic(kb_dir, "cost", sources=["no_such_source"])
    with caplog.at_level(logging.ERROR, logger="bot.knowledge.snapshot"):
        assert live.current() is good
        assert live.current() is good
    [logged] = [r.getMessage() for r in caplog.records]  # once, not on every message
    assert str(path) in logged and "entry 'cost'" in logged and "no_such_source" in logged
    with pytest.raises(DataFileError, match="no_such_source"):  # what `bot check` reports
        read_knowledge_files(kb_dir)
    _edit_topic(kb_dir, "cost", sources=["clinic_faq_india"])
    assert live.current() is not good


def test_invalid_files_at_start_fail_loudly(kb_dir: Path) -> None:
    (kb_dir / "topics" / "cost.yml").write_text("id: [unclosed\n")
    with pytest.raises(DataFileError, match="cost.yml"):
        KnowledgeBase(kb_dir)


def test_sighup_rereads_the_files(kb_dir: Path) -> None:
    live = KnowledgeBase(kb_dir)
    previous = signal.getsignal(signal.SIGHUP)
    try:
        live.reload_on_signal()
        path = kb_dir / "topics" / "history.yml"
        data = yaml.safe_load(path.read_text())
        data["title"] = "Renamed by signal"
        mtime = path.stat().st_mtime_ns
        path.write_text(yaml.safe_dump(data))
        os.utime(path, ns=(mtime, mtime))  # same size and time would hide the edit from stat
        os.kill(os.getpid(), signal.SIGHUP)
        deadline = time.monotonic() + 10
        while live._snapshot.topic("history").title != "Renamed by signal":
            assert time.monotonic() < deadline, "SIGHUP did not reload the knowledge base"
            time.sleep(0.05)
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.parametrize("topic_id", sorted(EFFICACY_TOPICS))
def test_every_efficacy_answer_renders_its_note(kb: KnowledgeSnapshot, topic_id: str) -> None:
    reply = compose_topic_answer(kb, topic_id, clinic_config())
    envelope = reply.envelope()
    assert envelope["efficacy"] is True
    assert (
        envelope["disclaimer"] and envelope["disclaimer"] == kb.topic(topic_id).evidence_note.text
    )
    assert f"Evidence note: {envelope['disclaimer']}" in reply.rasa_message()["text"]


def test_hair_growth_note_is_specific_to_the_claim(kb: KnowledgeSnapshot) -> None:
    note = compose_topic_answer(kb, "hair_growth", clinic_config()).disclaimer.lower()
    assert "small" in note and "low quality" in note
    assert "not an approved treatment" in note
    assert "vary" in note


def test_cost_shows_clinic_prices_when_configured_else_labelled_ranges(
    kb: KnowledgeSnapshot,
) -> None:
    clinic = clinic_config()
    with_prices = compose_topic_answer(kb, "cost", clinic).body
    assert "own prices" in with_prices and "INR 12,000 per session" in with_prices
    without = compose_topic_answer(kb, "cost", replace(clinic, prices=())).body
    assert "own prices" not in without
    assert "15,000" in without and clinic.phone in without


def test_disagreements_show_every_view_with_its_source(kb: KnowledgeSnapshot) -> None:
    body = compose_topic_answer(kb, "sessions", clinic_config()).body
    assert "Sources differ on" in body
    for _, sources in kb.topic("sessions").disagreements[0].views:
        assert kb.source_title(sources[0]) in body


def test_no_code_path_builds_an_efficacy_answer_without_its_note(kb: KnowledgeSnapshot) -> None:
    stripped = replace(kb.topic("hair_growth"), evidence_note=None)
    corrupted = replace(kb, topics=MappingProxyType({**kb.topics, "hair_growth": stripped}))
    with pytest.raises(MissingEvidenceNote):
        compose_topic_answer(corrupted, "hair_growth", clinic_config())
