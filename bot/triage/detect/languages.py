"""The per-language triage files (data/triage/languages/<lang>.yml), merged for the pipeline.

English lives in the main files (symptoms.yml, modifiers.yml, context_rules.yml, spelling.yml);
each other language or variety adds its own phrases to the same concepts and modifiers, its own
ConText cues, spelling variants and the affixes a word may carry. A concept or modifier that is
not defined in the main files is a DataFileError: every language shares one set of rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from bot.datafiles import DataFileError, load_checked

LANGUAGES_DIR_NAME = "languages"


@dataclass(frozen=True)
class LanguageEntries:
    """Everything the language files add, keyed as in the main files."""

    concepts: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    stop_phrases: list[str] = field(default_factory=list)
    modifiers: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    cancel_cues: list[str] = field(default_factory=list)
    context_rules: list[dict[str, Any]] = field(default_factory=list)
    variants: dict[str, str] = field(default_factory=dict)
    known_words: list[str] = field(default_factory=list)
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()


def _merge(into: dict[str, dict[str, list[Any]]], entries: dict[str, Any]) -> None:
    for label, entry in entries.items():
        target = into.setdefault(label, {})
        for key in ("phrases", "patterns"):
            if entry.get(key):
                target.setdefault(key, []).extend(entry[key])


@cache
def language_entries(languages_dir: Path) -> LanguageEntries:
    """All language files of `languages_dir` merged (an absent folder adds nothing)."""
    merged = LanguageEntries()
    prefixes: set[str] = set()
    suffixes: set[str] = set()
    files = tuple(sorted(languages_dir.glob("*.yml"))) if languages_dir.is_dir() else ()
    for path in files:
        data = load_checked(path, "triage_language")
        _merge(merged.concepts, data.get("concepts") or {})
        _merge(merged.modifiers, data.get("modifiers") or {})
        merged.stop_phrases.extend(data.get("stop_phrases") or ())
        merged.cancel_cues.extend(data.get("cancel_cues") or ())
        merged.context_rules.extend(data.get("context_rules") or ())
        merged.variants.update(data.get("variants") or {})
        merged.known_words.extend(data.get("known_words") or ())
        affixes = data.get("affixes") or {}
        prefixes.update(affixes.get("prefixes") or ())
        suffixes.update(affixes.get("suffixes") or ())
    return replace(
        merged,
        # Longest first, so "وال" is tried before "و".
        prefixes=tuple(sorted(prefixes, key=len, reverse=True)),
        suffixes=tuple(sorted(suffixes, key=len, reverse=True)),
    )


def with_languages(
    main: dict[str, Any], added: dict[str, dict[str, list[Any]]], source: Path, what: str
) -> dict[str, Any]:
    """`main` (label -> entry) with the language files' phrases and patterns added per label."""
    unknown = sorted(set(added) - set(main))
    if unknown:
        raise DataFileError(source, f"{what} {unknown} are not defined in the main English file")
    combined = {label: dict(entry) for label, entry in main.items()}
    for label, extra in added.items():
        for key, values in extra.items():
            combined[label][key] = [*(combined[label].get(key) or []), *values]
    return combined


def languages_dir(path: str | None, default: Path) -> Path:
    return Path(path) if path else default / LANGUAGES_DIR_NAME
