"""The channel's own wording, from the clinic-editable data/whatsapp_texts.yml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import DataFileError, load_checked
from bot.paths import DATA_DIR

WHATSAPP_TEXTS = DATA_DIR / "whatsapp_texts.yml"


@dataclass(frozen=True)
class ChannelTexts:
    unsupported_message: str
    choose_prompt: str
    list_button: str
    technical_problem: str


def load_texts(path: Path = WHATSAPP_TEXTS, clinic: ClinicConfig | None = None) -> ChannelTexts:
    """Read and validate the texts, filling in the clinic's phone and emergency numbers."""
    data = load_checked(path, "whatsapp_texts")
    clinic = clinic or clinic_config()
    values = {"clinic_phone": clinic.phone, "emergency_number": clinic.emergency_number}
    try:
        filled = {key: " ".join(str(text).format_map(values).split()) for key, text in data.items()}
    except (KeyError, ValueError) as exc:
        raise DataFileError(path, f"unknown or malformed placeholder: {exc}") from exc
    return ChannelTexts(**filled)
