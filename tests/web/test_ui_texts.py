"""The widget's and kiosk's texts per language (data/ui*.yml, bot/web/ui_texts.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.datafiles import DataFileError
from bot.language.identify import language_settings
from bot.paths import DATA_DIR
from bot.web.pages import STATIC_DIR, TEMPLATES_DIR
from bot.web.ui_texts import load_ui_texts, ui_texts

CODES = ("en", "hi", "ar")
NAMES = {"en": "English", "hi": "हिन्दी", "ar": "العربية"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    for name in ("ui.yml", "ui.hi.yml", "ui.ar.yml"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    return tmp_path


def edit(path: Path, **changes: str | None) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del data[key]
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_the_shipped_files_load_with_the_same_keys() -> None:
    texts = ui_texts()
    assert [x.code for x in texts.languages] == list(language_settings().replies)
    assert texts.default == "en"
    assert texts.language("ar").dir == "rtl" and texts.language("hi").dir == "ltr"
    assert texts.language("xx").code == "en"
    keys = texts.texts["en"].keys()
    assert all(texts.texts[code].keys() == keys for code in CODES)


def test_a_missing_key_names_the_file(data_dir: Path) -> None:
    edit(data_dir / "ui.hi.yml", kiosk_done=None)
    with pytest.raises(DataFileError, match=r"ui\.hi\.yml.*kiosk_done"):
        load_ui_texts(CODES, NAMES, ("ar",), data_dir)


def test_an_unknown_key_is_refused(data_dir: Path) -> None:
    edit(data_dir / "ui.ar.yml", kiosk_dnoe="إنهاء")
    with pytest.raises(DataFileError, match=r"ui\.ar\.yml.*kiosk_dnoe"):
        load_ui_texts(CODES, NAMES, ("ar",), data_dir)


def test_a_translation_must_keep_the_placeholders(data_dir: Path) -> None:
    edit(data_dir / "ui.ar.yml", call_now="اتصل الآن")
    with pytest.raises(DataFileError, match=r"ui\.ar\.yml: 'call_now' lacks \{number\}"):
        load_ui_texts(CODES, NAMES, ("ar",), data_dir)


def test_a_language_without_a_file_or_a_name_is_refused(data_dir: Path) -> None:
    with pytest.raises(DataFileError, match=r"ui\.fr\.yml: file not found"):
        load_ui_texts((*CODES, "fr"), NAMES, ("ar",), data_dir)
    with pytest.raises(DataFileError, match="no name for hi"):
        load_ui_texts(CODES, {"en": "English", "ar": "العربية"}, ("ar",), data_dir)


def test_the_browser_code_and_kiosk_page_use_only_keys_the_files_have() -> None:
    """Every `s.key` the chat, widget and kiosk read, and every text the kiosk page names, is a
    key of data/ui.yml."""
    keys = set(ui_texts().texts["en"])
    used = set()
    for name in ("chat.js", "widget.js", "kiosk.js"):
        used |= set(re.findall(r"\bs\.([a-z_]+)\b", (STATIC_DIR / name).read_text()))
    kiosk = (TEMPLATES_DIR / "kiosk.html").read_text()
    for match in re.finditer(r"\bui\.([a-z_]+)\b|data-ui(?:-label)?=\"([a-z_]+)\"", kiosk):
        used.add(match[1] or match[2])
    assert used and used <= keys, used - keys
