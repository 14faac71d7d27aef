"""Clinic settings from data/clinic.yml: name, phone, hours, prices, emergency number, alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from bot.datafiles import load_checked
from bot.paths import CLINIC_CONFIG


@dataclass(frozen=True)
class Price:
    treatment: str
    amount: float
    per: str = "session"


@dataclass(frozen=True)
class EmailSettings:
    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username_env: str | None = None
    password_env: str | None = None


@dataclass(frozen=True)
class NotificationSettings:
    webhook_url: str | None = None
    email: EmailSettings | None = None
    max_attempts: int = 12
    backoff_seconds: float = 5.0


@dataclass(frozen=True)
class PrivacySettings:
    """What the privacy notice links to and how long patient data is kept (data/clinic.yml)."""

    policy_url: str = ""
    # Tracker events, spooled reports, dedupe rows and review items older than this are removed.
    conversation_retention_days: int = 90
    # Ticket transcripts and messages; the ticket's own record (severity, times, who acted) stays.
    transcript_retention_days: int = 365


@dataclass(frozen=True)
class ClinicConfig:
    name: str
    phone: str
    emergency_number: str
    currency: str
    opening_hours: str
    region: str = "IN"
    local_language: str = "en"
    address: str | None = None
    prices: tuple[Price, ...] = ()
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    whatsapp_template: str = "clinic_reply_waiting"
    whatsapp_template_language: str = "en"
    kiosk_idle_seconds: int = 90
    kiosk_topics: tuple[str, ...] = ()
    privacy: PrivacySettings = field(default_factory=PrivacySettings)

    def format_price(self, amount: float) -> str:
        return f"{self.currency} {amount:,.0f}"


def parse_clinic(data: dict[str, Any]) -> ClinicConfig:
    clinic = data["clinic"]
    notifications = data.get("notifications") or {}
    email = notifications.get("email")
    whatsapp = data.get("whatsapp") or {}
    kiosk = data.get("kiosk") or {}
    privacy = data.get("privacy") or {}
    return ClinicConfig(
        name=clinic["name"],
        phone=clinic["phone"],
        emergency_number=clinic["emergency_number"],
        currency=clinic["currency"],
        opening_hours=clinic["opening_hours"],
        region=clinic.get("region", "IN"),
        local_language=clinic.get("local_language", "en"),
        address=clinic.get("address"),
        prices=tuple(Price(**p) for p in clinic.get("prices") or ()),
        notifications=NotificationSettings(
            webhook_url=notifications.get("webhook_url"),
            email=EmailSettings(**{**email, "recipients": tuple(email["recipients"])})
            if email
            else None,
            max_attempts=notifications.get("max_attempts", 12),
            backoff_seconds=notifications.get("backoff_seconds", 5.0),
        ),
        whatsapp_template=whatsapp.get("reopen_template", "clinic_reply_waiting"),
        whatsapp_template_language=whatsapp.get("template_language", "en"),
        kiosk_idle_seconds=kiosk.get("idle_seconds", 90),
        kiosk_topics=tuple(kiosk.get("topics") or ()),
        privacy=PrivacySettings(**privacy),
    )


def load_clinic(path: Path = CLINIC_CONFIG) -> ClinicConfig:
    """Read and validate the clinic file; raises DataFileError naming the file."""
    return parse_clinic(load_checked(path, "clinic"))


@cache
def clinic_config(path: Path = CLINIC_CONFIG) -> ClinicConfig:
    """The cached clinic settings for this process."""
    return load_clinic(path)
