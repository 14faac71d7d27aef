"""Jinja2 templates of the inbox, autoescaped: ticket text comes from patients and is untrusted."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.triage.result import SEVERITY_ORDER

TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def format_age(seconds: int) -> str:
    """A short human age: '2 min', '3 h 5 min', '2 d 4 h'."""
    minutes = seconds // 60
    if minutes < 1:
        return "under 1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def format_time(value: datetime | None) -> str:
    """In the server's local time zone, which is the clinic's on a single-machine install."""
    if value is None:
        return ""
    return value.astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()


def tel_href(number: str) -> str:
    """Digits and a leading '+' only, for a tel: link built from an untrusted number."""
    digits = "".join(ch for ch in number if ch.isdigit())
    return f"+{digits}" if number.strip().startswith("+") else digits


def label(value: str) -> str:
    """'breathing_difficulty' -> 'breathing difficulty'."""
    return value.replace("_", " ")


class Templates:
    def __init__(self, directory: Path = TEMPLATE_DIR) -> None:
        self._env = Environment(
            loader=FileSystemLoader(directory),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(age=format_age, when=format_time, label=label, tel=tel_href)
        self._env.filters["iso"] = lambda value: value.isoformat() if value else ""
        self._env.globals["severities"] = tuple(SEVERITY_ORDER)

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(name).render(**context)
