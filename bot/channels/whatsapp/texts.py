"""The channel's own wording, from the clinic-editable data/whatsapp_texts.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import language_variant, load_checked
from bot.language.identify import language_settings
from bot.paths import DATA_DIR
from bot.replies.fill import check_placeholders, fill

WHATSAPP_TEXTS = DATA_DIR / "whatsapp_texts.yml"


@dataclass(frozen=True)
class ChannelTexts:
    unsupported_message: str
    choose_prompt: str
    list_button: str


def load_texts(path: Path = WHATSAPP_TEXTS, clinic: ClinicConfig | None = None) -> ChannelTexts:
    """Read and validate the texts (placeholders included) and fill in the clinic's details."""
    data = load_checked(path, "whatsapp_texts")
    check_placeholders(path, data)
    clinic = clinic or clinic_config()
    return ChannelTexts(**{key: " ".join(fill(text, clinic).split()) for key, text in data.items()})


def texts_path(lang: str) -> Path:
    """data/whatsapp_texts.yml for English, data/whatsapp_texts.<lang>.yml for another language."""
    return language_variant(WHATSAPP_TEXTS, lang)


def load_all_texts(clinic: ClinicConfig | None = None) -> dict[str, ChannelTexts]:
    """The channel's texts in every reply language (each file checked)."""
    return {lang: load_texts(texts_path(lang), clinic) for lang in language_settings().replies}
