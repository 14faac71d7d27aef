"""The responses Rasa sends without the action server have one source: the reply files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.datafiles import DataFileError
from bot.rasa.responses import (
    DOMAIN_FILE,
    check_domain,
    generated_responses,
    write_domain,
)
from bot.triage.escalation import load_all_reply_texts


def test_domain_is_in_step_with_the_reply_files() -> None:
    check_domain()


def test_emergency_has_a_variation_per_reply_language_from_the_reply_files() -> None:
    texts = load_all_reply_texts()
    variations = generated_responses()["utter_emergency"]
    by_lang = {(v.get("condition") or [{"value": "en"}])[0]["value"]: v["text"] for v in variations}
    assert set(by_lang) == set(texts) == {"en", "hi", "ar"}
    for lang, text in by_lang.items():
        assert text == texts[lang].escalation("emergency")["text"]
        assert "{emergency_number}" in text
    assert "condition" not in variations[-1]  # the default comes last


def test_drift_is_caught_and_rewritten(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    domain.write_text(
        DOMAIN_FILE.read_text(encoding="utf-8").replace("Call emergency services now", "Call us"),
        encoding="utf-8",
    )
    with pytest.raises(DataFileError, match="bot domain"):
        check_domain(domain)
    assert write_domain(domain)
    check_domain(domain)
    assert not write_domain(domain)
    parsed = yaml.safe_load(domain.read_text(encoding="utf-8"))
    assert {"utter_emergency", "utter_help_request", "utter_describe_symptoms"} <= set(
        parsed["responses"]
    )


def test_fallback_without_the_safety_line_is_caught(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    data = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))
    english = data["responses"]["utter_default"][-1]
    english["text"] = english["text"].split("\n\n")[0]
    domain.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DataFileError, match="utter_default"):
        check_domain(domain)


def test_each_variation_is_one_message_with_text_buttons_and_envelope() -> None:
    """Like an action's reply: one Rasa response holding the text and `custom: {"meso": …}`."""
    for name, variations in generated_responses().items():
        for variation in variations:
            meso = variation["custom"]["meso"]
            assert set(variation) - {"condition"} <= {"text", "buttons", "custom"}, name
            assert variation["text"] == meso["body"], name  # no sources or notes to write out
            assert variation.get("buttons", []) == meso["buttons"], name
            assert meso["lang"] in {"en", "hi", "ar"} and meso["knowledge_version"] is None
    help_request = generated_responses()["utter_help_request"][-1]
    assert len(help_request["buttons"]) >= 2
    emergency = generated_responses()["utter_emergency"][-1]["custom"]["meso"]
    assert emergency["kind"] == "escalation"
    assert emergency["escalation"]["emergency_number"] == "{emergency_number}"


def test_envelope_drift_is_caught(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    text = DOMAIN_FILE.read_text(encoding="utf-8")
    assert "        knowledge_version: null\n" in text
    domain.write_text(text.replace("        knowledge_version: null\n", "", 1), encoding="utf-8")
    with pytest.raises(DataFileError, match="bot domain"):
        check_domain(domain)
