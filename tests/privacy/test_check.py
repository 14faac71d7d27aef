"""`bot check` refuses a retention of zero or less days, naming the setting; accepts the texts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.paths import DATA_DIR, PROJECT_ROOT
from bot.privacy.texts import all_privacy_texts


def _check(clinic_file: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MESO_CLINIC_CONFIG": str(clinic_file), "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "check"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("conversation_retention_days", "0"),
        ("transcript_retention_days", "-30"),
    ],
)
def test_bot_check_refuses_a_retention_of_zero_or_less(
    tmp_path: Path, setting: str, value: str
) -> None:
    original = (DATA_DIR / "clinic.yml").read_text(encoding="utf-8")
    lines = [
        f"  {setting}: {value}" if line.strip().startswith(f"{setting}:") else line
        for line in original.splitlines()
    ]
    assert lines != original.splitlines()
    clinic_file = tmp_path / "clinic.yml"
    clinic_file.write_text("\n".join(lines) + "\n", encoding="utf-8")

    result = _check(clinic_file)

    assert result.returncode != 0
    assert f"privacy/{setting}" in result.stdout + result.stderr


def test_the_privacy_texts_exist_in_every_reply_language() -> None:
    texts = all_privacy_texts()
    assert set(texts) == {"en", "hi", "ar"}
    assert all(set(t) == set(texts["en"]) for t in texts.values())
