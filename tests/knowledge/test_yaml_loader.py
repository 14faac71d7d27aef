"""bot.datafiles reads YAML with libyaml's loader: the same objects as PyYAML's SafeLoader."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.datafiles import SAFE_LOADER, DataFileError, read_yaml

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", ".git", "node_modules", "var"}


def repository_yaml_files() -> list[Path]:
    return sorted(
        path
        for pattern in ("*.yml", "*.yaml")
        for path in ROOT.rglob(pattern)
        if not SKIPPED & set(path.relative_to(ROOT).parts)
    )


def test_libyaml_loader_is_used() -> None:
    assert SAFE_LOADER is yaml.CSafeLoader


def test_every_yaml_file_loads_as_with_pure_python_safe_loader() -> None:
    files = repository_yaml_files()
    assert len(files) > 100 and any("triage" in path.parts for path in files)
    for path in files:
        text = path.read_text(encoding="utf-8")
        expected = yaml.load(text, Loader=yaml.SafeLoader)  # noqa: S506
        got = yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506
        # repr too: True and 1, 1.0 and 1 compare equal but are different data
        assert got == expected and repr(got) == repr(expected), path


def test_invalid_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("a: 1\nb: [2\n", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"(?s)broken.yml: not valid YAML: .*line 2"):
        read_yaml(broken)


def test_a_key_written_twice_names_the_file_and_line(tmp_path: Path) -> None:
    twice = tmp_path / "twice.yml"
    twice.write_text("fever:\n  patterns: [a]\n  phrases: [b]\n  patterns: [c]\n", encoding="utf-8")
    expected = r"(?s)twice.yml: not valid YAML: .*'patterns' twice.*line 4"
    with pytest.raises(DataFileError, match=expected):
        read_yaml(twice)


def test_no_data_file_repeats_a_key() -> None:
    for path in repository_yaml_files():
        read_yaml(path)
