"""Where a triage component finds its data file when its config names none."""

from __future__ import annotations

from pathlib import Path

from bot.paths import TRIAGE_DIR


def data_path(path: str | None, file_name: str) -> Path:
    """`path` when the component's config gives one, else `file_name` in data/triage/."""
    return Path(path) if path else TRIAGE_DIR / file_name
