"""The channel's own wording, from the clinic-editable data/whatsapp_texts.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import load_checked
from bot.paths import DATA_DIR
from bot.replies.fill import check_placeholders, fill

WHATSAPP_TEXTS = DATA_DIR / "whatsapp_texts.yml"


@dataclass(frozen=True)
class ChannelTexts:
    unsupported_message: str
    choose_prompt: str
    list_button: str
    technical_problem: str


def load_texts(path: Path = WHATSAPP_TEXTS, clinic: ClinicConfig | None = None) -> ChannelTexts:
    """Read and validate the texts (placeholders included) and fill in the clinic's details."""
    data = load_checked(path, "whatsapp_texts")
    check_placeholders(path, data)
    clinic = clinic or clinic_config()
    return ChannelTexts(**{key: " ".join(fill(text, clinic).split()) for key, text in data.items()})
