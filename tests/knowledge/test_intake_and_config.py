"""Input checks and the clinic settings file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.clinic import load_clinic
from bot.datafiles import DataFileError
from bot.intake.check import check_message
from bot.paths import CLINIC_CONFIG


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("", "empty"),
        ("  \n ", "empty"),
        ("😀🎉", "unreadable"),
        ("\x00\x01\x02\x03ab\x04\x05\x06\x07", "unreadable"),
        ("मेसोथेरेपी की कीमत क्या है", "ok"),
        ("كم سعر الميزوثيرابي", "ok"),
        ("¿Cuánto cuesta la mesoterapia?", "other_language"),
        ("how much for meso in rs", "ok"),
        ("<b>cost?</b>", "ok"),
        ("is it painful " * 200, "too_long"),
    ],
)
def test_check_message(text: str, verdict: str) -> None:
    assert check_message(text) == verdict


def test_clinic_file_is_valid() -> None:
    clinic = load_clinic()
    assert clinic.emergency_number and clinic.phone and clinic.currency == "INR"


def test_bad_clinic_file_names_the_problem(tmp_path: Path) -> None:
    data = yaml.safe_load(CLINIC_CONFIG.read_text())
    data["clinic"]["emergency_number"] = "call 112"
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(DataFileError, match="clinic.yml: 'call 112' does not match"):
        load_clinic(path)


def test_rasa_http_api_is_off_unless_a_token_is_set(tmp_path: Path) -> None:
    from bot.serve import API_TOKEN_ENV, Stack, StackSettings

    stack = Stack(StackSettings(work_dir=tmp_path, extra_env={API_TOKEN_ENV: ""}))
    assert stack._api_args() == []
    stack = Stack(StackSettings(work_dir=tmp_path, extra_env={API_TOKEN_ENV: "s3cret"}))
    assert stack._api_args() == ["--enable-api", "--auth-token", "s3cret"]
