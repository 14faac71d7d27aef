"""Rasa-facing code lives in bot/rasa: the rest of bot/ never imports Rasa, and every Rasa run
of the Makefile (train, test) goes through the patched CLI."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from bot.paths import PROJECT_ROOT

BOT = PROJECT_ROOT / "bot"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_only_bot_rasa_imports_rasa() -> None:
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            m for m in _imported_modules(path) if m.split(".")[0] in {"rasa", "rasa_sdk"}
        )
        for path in BOT.rglob("*.py")
        if BOT / "rasa" not in path.parents
    }
    assert {file: mods for file, mods in offenders.items() if mods} == {}


def test_rasa_yaml_names_only_bot_rasa_classes() -> None:
    for name in ("config.yml", "endpoints.yml", "credentials.yml"):
        text = (PROJECT_ROOT / name).read_text(encoding="utf-8")
        for dotted in re.findall(r"\bbot\.[a-z_.]+\.[A-Z]\w+", text):
            assert dotted.startswith("bot.rasa."), f"{name}: {dotted}"


def test_make_runs_rasa_through_the_patched_cli() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert not re.search(r"\$\(BIN\)/rasa\s", makefile), "call `python -m bot.rasa.cli` instead"
    assert "-m bot.rasa.cli train" in makefile and "-m bot.rasa.cli test core" in makefile
