"""The knowledge base and the assistant's own replies in every reply language."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.clinic import clinic_config
from bot.datafiles import DataFileError
from bot.knowledge import read_knowledge_files, read_snapshot
from bot.knowledge.answers import compose_topic_answer
from bot.paths import KNOWLEDGE_DIR
from bot.replies.standard import (
    clarify_reply,
    language_chosen_reply,
    language_not_available_reply,
    out_of_scope_reply,
    unusable_reply,
)
from bot.replies.texts import reply_texts
from bot.triage.escalation import safety_line

LANGUAGES = ("en", "hi", "ar")


@pytest.fixture(scope="module")
def kb():  # type: ignore[no-untyped-def]
    return read_snapshot()


@pytest.fixture
def kb_dir(tmp_path: Path) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target)
    return target


def test_every_topic_and_note_exists_in_every_language(kb) -> None:  # type: ignore[no-untyped-def]
    assert set(kb.languages) == set(LANGUAGES)
    for lang in LANGUAGES:
        for topic_id in kb.topic_ids():
            entry = kb.topic(topic_id, lang)
            english = kb.topic(topic_id)
            assert entry is not None and entry.answer
            assert entry.citations == english.citations  # the same sources
            assert (entry.evidence_note is None) == (english.evidence_note is None)
            if lang != "en":
                assert entry.answer != english.answer


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_efficacy_answer_carries_its_note_in_its_language(kb, lang: str) -> None:  # type: ignore[no-untyped-def]
    frame = reply_texts(lang).frame
    for topic_id in kb.topic_ids():
        english = kb.topic(topic_id)
        if not english.efficacy:
            continue
        reply = compose_topic_answer(kb, topic_id, clinic_config(), lang)
        envelope = reply.envelope()
        assert envelope["lang"] == lang and envelope["efficacy"] is True
        assert envelope["disclaimer"] == kb.topic(topic_id, lang).evidence_note.text
        text = reply.rasa_message()["text"]
        assert f"{frame['evidence_note']} {envelope['disclaimer']}" in text
        assert frame["sources"] in text and envelope["citations"]


def test_disagreements_and_prices_use_the_languages_frame(kb) -> None:  # type: ignore[no-untyped-def]
    clinic = clinic_config()
    for lang in ("hi", "ar"):
        body = compose_topic_answer(kb, "sessions", clinic, lang).body
        differ = reply_texts(lang).frame["sources_differ"].split("{")[0].strip("* ")
        assert differ in body
        assert "Sources differ" not in body
        cost = compose_topic_answer(kb, "cost", clinic, lang).body
        assert clinic.format_price(clinic.prices[0].amount) in cost


def test_a_missing_translation_names_the_file(kb_dir: Path) -> None:
    (kb_dir / "languages" / "ar" / "topics" / "cost.yml").unlink()
    with pytest.raises(DataFileError, match=r"ar/topics/cost.yml.*no ar version"):
        read_knowledge_files(kb_dir, seeds_dir=None)


def test_a_missing_note_in_a_language_is_caught(kb_dir: Path) -> None:
    path = kb_dir / "languages" / "hi" / "evidence_notes.yml"
    data = yaml.safe_load(path.read_text())
    data["notes"].pop("hair_growth")
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(DataFileError, match="evidence note 'hair_growth' is missing"):
        read_knowledge_files(kb_dir, seeds_dir=None)


def test_a_translated_answer_stating_a_benefit_without_a_note_is_caught(kb_dir: Path) -> None:
    claims = yaml.safe_load((kb_dir / "languages" / "hi" / "benefit_claims.yml").read_text())
    path = kb_dir / "languages" / "hi" / "topics" / "aftercare.yml"  # a topic without a note
    data = yaml.safe_load(path.read_text())
    data["answer"] += " " + claims["patterns"][0]
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(DataFileError, match="states a benefit"):
        read_knowledge_files(kb_dir, seeds_dir=None)


def test_disagreements_must_match_the_english(kb_dir: Path) -> None:
    path = kb_dir / "languages" / "ar" / "topics" / "sessions.yml"
    data = yaml.safe_load(path.read_text())
    data["disagreements"][0]["views"].pop()
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    with pytest.raises(DataFileError, match="disagreements must match the English"):
        read_knowledge_files(kb_dir, seeds_dir=None)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_own_replies_are_in_the_language_with_its_emergency_line(kb, lang: str) -> None:  # type: ignore[no-untyped-def]
    clinic = clinic_config()
    for reply in (
        out_of_scope_reply(kb, clinic, lang),
        clarify_reply(kb, clinic, [], lang),
        unusable_reply("empty", clinic, lang),
    ):
        assert reply.lang == lang
        assert reply.body.endswith(safety_line(clinic, lang))
        for button in reply.buttons:
            assert button.title == kb.topic(button.payload.removeprefix("/ask_"), lang).button_label


def test_an_unsupported_language_gets_english_and_the_clinics_language() -> None:
    clinic = replace(clinic_config(), local_language="hi")
    body = unusable_reply("other_language", clinic, "en").body
    assert safety_line(clinic, "en") in body and safety_line(clinic, "hi") in body
    assert "English, हिन्दी, العربية" in body


def test_choosing_a_language_is_confirmed_in_it_and_an_unknown_one_lists_the_choices() -> None:
    clinic = clinic_config()
    assert language_chosen_reply(clinic, "ar").body == reply_texts("ar").language_chosen
    listed = language_not_available_reply(clinic, "hi")
    assert listed.lang == "hi" and "English, हिन्दी, العربية" in listed.body
