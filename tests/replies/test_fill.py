"""One placeholder filler; every placeholder in data/ is checked when its file is read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.clinic import clinic_config
from bot.datafiles import DataFileError
from bot.knowledge import read_knowledge_files
from bot.paths import DATA_DIR, PROJECT_ROOT
from bot.replies.fill import PlaceholderError, fill, placeholders
from bot.replies.texts import read_reply_texts
from bot.triage.escalation import load_reply_texts


def test_fill_puts_in_the_clinic_and_extra_values() -> None:
    clinic = clinic_config()
    text = fill(
        "Call {clinic_name} on {clinic_phone}, ref {ticket} {{literal}}", clinic, ticket="AB12"
    )
    assert text == f"Call {clinic.name} on {clinic.phone}, ref AB12 {{literal}}"


@pytest.mark.parametrize(
    "text", ["{}", "{0}", "{clinic.name}", "{clinic_phone!r}", "{x:>5}", "{oops"]
)
def test_only_plain_names_are_placeholders(text: str) -> None:
    with pytest.raises(PlaceholderError):
        placeholders(text)


def test_a_placeholder_without_a_value_is_named() -> None:
    with pytest.raises(PlaceholderError, match=r"\{ticket\}"):
        fill("Your reference is {ticket}", clinic_config())


def _misspell(path: Path, keys: list[str]) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    node = data
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = "Please call {clinic_fone} today, we are here to help you."
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_each_loader_names_file_entry_and_placeholder(tmp_path: Path) -> None:
    replies = tmp_path / "replies.yml"
    shutil.copy(DATA_DIR / "replies.yml", replies)
    _misspell(replies, ["unusable", "empty"])
    with pytest.raises(
        DataFileError, match=r"replies.yml, entry 'unusable/empty'.*\{clinic_fone\}"
    ):
        read_reply_texts(replies)

    triage_replies = tmp_path / "triage_replies.yml"
    shutil.copy(DATA_DIR / "triage" / "replies.yml", triage_replies)
    _misspell(triage_replies, ["callback", "declined"])
    with pytest.raises(DataFileError, match=r"entry 'callback/declined'.*\{clinic_fone\}"):
        load_reply_texts(triage_replies)

    knowledge = tmp_path / "knowledge"
    shutil.copytree(DATA_DIR / "knowledge", knowledge)
    _misspell(knowledge / "topics" / "cost.yml", ["answer"])
    with pytest.raises(DataFileError, match=r"cost.yml, entry 'answer'.*\{clinic_fone\}"):
        read_knowledge_files(knowledge, seeds_dir=None)


@pytest.mark.parametrize(
    ("relative", "keys"),
    [
        ("replies.yml", ["out_of_scope"]),
        ("triage/replies.hi.yml", ["callback", "declined"]),
    ],
)
def test_bot_check_fails_on_a_misspelt_placeholder_in_any_data_file(
    tmp_path: Path, relative: str, keys: list[str]
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)
    _misspell(data / relative, keys)
    env = {**os.environ, "MESO_DATA_DIR": str(data), "PYTHONPATH": str(PROJECT_ROOT)}
    env.pop("MESO_CLINIC_CONFIG", None)
    done = subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert relative.split("/")[-1] in done.stderr
    assert f"entry '{'/'.join(keys)}'" in done.stderr
    assert "{clinic_fone}" in done.stderr
