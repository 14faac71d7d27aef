"""The widget's and kiosk's own words per language (data/ui.yml for English, data/ui.<code>.yml
for each other language of data/languages.yml `replies`), checked against bot/schemas/ui.yml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.datafiles import ENGLISH, DataFileError, language_variant, load_checked
from bot.language.identify import language_settings
from bot.paths import DATA_DIR

DEFAULT_LANGUAGE = ENGLISH  # data/ui.yml
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def ui_file(lang: str, data_dir: Path = DATA_DIR) -> Path:
    """data/ui.yml for English, data/ui.<lang>.yml for any other language."""
    return language_variant(data_dir / "ui.yml", lang)


@dataclass(frozen=True)
class UiLanguage:
    code: str
    name: str
    right_to_left: bool

    @property
    def dir(self) -> str:
        return "rtl" if self.right_to_left else "ltr"

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "name": self.name, "dir": self.dir}


@dataclass(frozen=True)
class UiTexts:
    """The languages of the switch (in `replies` order; the first is the default) and each one's
    texts, key -> text."""

    languages: tuple[UiLanguage, ...]
    texts: dict[str, dict[str, str]]

    @property
    def default(self) -> str:
        return self.languages[0].code

    def language(self, code: str | None) -> UiLanguage:
        """The language `code`, or the default one when it is not a UI language."""
        return next((x for x in self.languages if x.code == code), self.languages[0])

    def as_dict(self) -> dict[str, Any]:
        return {
            "default_language": self.default,
            "languages": [x.as_dict() for x in self.languages],
            "ui": self.texts,
        }


def _placeholders(text: str) -> set[str]:
    return set(_PLACEHOLDER.findall(text))


def load_ui_texts(
    codes: tuple[str, ...],
    names: dict[str, str],
    right_to_left: tuple[str, ...],
    data_dir: Path = DATA_DIR,
) -> UiTexts:
    """Read and check the UI file of every language in `codes`: the schema (the same keys in
    every file) and the {placeholders} of the English texts in every translation."""
    texts = {code: load_checked(ui_file(code, data_dir), "ui") for code in codes}
    english = texts.get(DEFAULT_LANGUAGE) or load_checked(ui_file(DEFAULT_LANGUAGE, data_dir), "ui")
    for code, strings in texts.items():
        for key, text in strings.items():
            missing = _placeholders(english[key]) - _placeholders(text)
            if missing:
                names_ = ", ".join("{" + m + "}" for m in sorted(missing))
                raise DataFileError(ui_file(code, data_dir), f"'{key}' lacks {names_}")
    unnamed = [code for code in codes if code not in names]
    if unnamed:
        raise DataFileError(data_dir / "languages.yml", f"names: no name for {', '.join(unnamed)}")
    languages = tuple(UiLanguage(code, names[code], code in right_to_left) for code in codes)
    return UiTexts(languages, texts)


@cache
def ui_texts() -> UiTexts:
    """The UI texts of the languages the assistant answers in (data/languages.yml `replies`)."""
    settings = language_settings()
    return load_ui_texts(settings.replies, settings.names, settings.right_to_left)
