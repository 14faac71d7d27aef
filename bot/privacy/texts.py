"""What a patient is told about their data and its erasure, in each reply language:
data/privacy_requests.yml (English) and data/privacy_requests.<lang>.yml."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from bot.clinic import ClinicConfig
from bot.datafiles import ENGLISH, language_variant, load_checked
from bot.language.identify import language_settings
from bot.paths import DATA_DIR
from bot.privacy.erasure import ErasureOutcome
from bot.replies.fill import CLINIC_PLACEHOLDERS, check_placeholders, fill
from bot.replies.notice import notice_language, privacy_notice
from bot.replies.reply import Button, Reply

AFFIRM_PAYLOAD = "/affirm"
DENY_PAYLOAD = "/deny"


def texts_path(lang: str) -> Path:
    return language_variant(DATA_DIR / "privacy_requests.yml", lang)


def _allowed(at: tuple[str, ...]) -> frozenset[str]:
    return CLINIC_PLACEHOLDERS


def read_texts(path: Path) -> dict[str, str]:
    """One file, checked (schema and placeholders); DataFileError names the file and entry."""
    data = load_checked(path, "privacy_requests")
    check_placeholders(path, data, _allowed)
    return dict(data)


@cache
def privacy_texts(lang: str = ENGLISH) -> dict[str, str]:
    """The texts in `lang`; English for a language that is not a reply language."""
    if lang != ENGLISH and lang not in language_settings().replies:
        lang = ENGLISH
    return read_texts(texts_path(lang))


def all_privacy_texts() -> dict[str, dict[str, str]]:
    """Every reply language's texts, each file checked (what `bot check` calls)."""
    return {lang: privacy_texts(lang) for lang in language_settings().replies}


def _reply(body: str, lang: str, buttons: tuple[Button, ...] = ()) -> Reply:
    return Reply(kind="chitchat", body=body, lang=lang, buttons=buttons)


def about_data_reply(clinic: ClinicConfig, lang: str, written_in: str | None = None) -> Reply:
    """ "Do you keep my data?": the privacy notice itself (data/privacy_notice*.yml), the one text
    that says what is kept, for how long, who sees it and how to have it erased."""
    notice = privacy_notice(notice_language(lang, written_in), clinic)
    return _reply(notice.plain_text(), lang)


def confirm_reply(clinic: ClinicConfig, lang: str) -> Reply:
    texts = privacy_texts(lang)
    buttons = (
        Button(texts["yes_button"], AFFIRM_PAYLOAD),
        Button(texts["no_button"], DENY_PAYLOAD),
    )
    return _reply(fill(texts["confirm"], clinic), lang, buttons)


def unavailable_reply(clinic: ClinicConfig, lang: str) -> Reply:
    """The erasure could not even be recorded (storage down): nothing was erased."""
    return _reply(fill(privacy_texts(lang)["unavailable"], clinic), lang)


def not_erased_reply(clinic: ClinicConfig, lang: str) -> Reply:
    return _reply(fill(privacy_texts(lang)["not_erased"], clinic), lang)


def erased_reply(outcome: ErasureOutcome, clinic: ClinicConfig, lang: str) -> Reply:
    """What was erased, what must be kept, and what waits for a clinician."""
    texts = privacy_texts(lang)
    if not outcome.finished:
        parts = [texts["unfinished"]]
    elif outcome.total or outcome.held:
        parts = [texts["erased"]]
        if outcome.counts.get("tickets") or outcome.held:
            parts.append(texts["kept"])
    else:
        parts = [texts["nothing_to_erase"]]
    if outcome.held:
        parts.append(texts["held"])
    return _reply("\n\n".join(fill(part, clinic) for part in parts), lang)
