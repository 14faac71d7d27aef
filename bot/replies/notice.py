"""The privacy notice: what is kept, for how long, who sees it, how to have it erased, and a link
to the clinic's own policy. Words: data/privacy_notice.yml and data/privacy_notice.<lang>.yml
(hi, ar, and hinglish for patients who write Hindi in Latin letters); numbers and link:
data/clinic.yml `privacy` (never written into the texts).

Contract for every channel: the notice travels with ONE bot message per conversation, the first
one that is not an emergency escalation (bot/rasa/notice.py decides which). That message keeps
its envelope and gains `custom.meso.notice = {"text", "link_label", "policy_url", "lang"}`, and
its `text` ends with the same words after a blank line, so a text-only client shows them too.
An emergency instruction never carries it: the notice then follows as a message of its own,
`notice_message()` (envelope kind "notice", empty body), after the emergency's messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.clinic import ClinicConfig, clinic_config
from bot.datafiles import ENGLISH, language_variant, load_checked
from bot.language.identify import language_settings
from bot.paths import DATA_DIR
from bot.replies.fill import CLINIC_PLACEHOLDERS, check_placeholders, fill
from bot.replies.reply import Reply

NOTICE_KEY = "notice"  # the envelope key that holds the notice
HINGLISH = "hinglish"  # answered in English, told about privacy in Hinglish
NOTICE_PLACEHOLDERS = CLINIC_PLACEHOLDERS | {"conversation_days", "transcript_days"}


class UnsafePolicyUrl(ValueError):
    """The policy URL is not an absolute http(s) URL."""


@dataclass(frozen=True)
class PrivacyNotice:
    text: str  # filled in: the clinic's name and its retention days
    link_label: str
    policy_url: str
    lang: str  # a notice language: en, hi, ar or hinglish

    def as_dict(self) -> dict[str, str]:
        return {
            "text": self.text,
            "link_label": self.link_label,
            "policy_url": self.policy_url,
            "lang": self.lang,
        }

    def plain_text(self) -> str:
        """The notice as text, the link written out: for text-only clients and WhatsApp."""
        return notice_text(self.as_dict())


def notice_path(lang: str) -> Path:
    return language_variant(DATA_DIR / "privacy_notice.yml", lang)


def notice_languages() -> tuple[str, ...]:
    """The reply languages (data/languages.yml) and Hinglish."""
    return (*language_settings().replies, HINGLISH)


def notice_language(reply_lang: str | None, written_in: str | None = None) -> str:
    """The language of the notice for a reply in `reply_lang` to a message written in
    `written_in` (a language code of bot/language/identify.py): Hinglish writers, answered in
    English, get the Hinglish notice; a language without a notice gets English."""
    if written_in == HINGLISH and reply_lang in (None, ENGLISH):
        return HINGLISH
    return reply_lang if reply_lang in notice_languages() else ENGLISH


def read_notice_texts(path: Path) -> dict[str, str]:
    """One notice file, checked (schema and placeholders); DataFileError names the file."""
    data: dict[str, str] = load_checked(path, "privacy_notice")
    check_placeholders(path, data, lambda _at: NOTICE_PLACEHOLDERS)
    return data


@cache
def notice_texts(lang: str) -> dict[str, str]:
    """The checked texts of the notice in `lang`."""
    return read_notice_texts(notice_path(lang))


def safe_policy_url(url: str) -> str:
    """`url` when it is an absolute http(s) URL with a host and no spaces or quotes; else
    UnsafePolicyUrl (data/clinic.yml's schema already refuses most such values)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in ' "<>'):
        raise UnsafePolicyUrl(f"privacy.policy_url must be an http(s) URL, not {url!r}")
    return url


def privacy_notice(lang: str, clinic: ClinicConfig | None = None) -> PrivacyNotice:
    """The notice in `lang` (English for a language without one), filled from the clinic's
    settings."""
    clinic = clinic or clinic_config()
    lang = lang if lang in notice_languages() else ENGLISH
    texts = notice_texts(lang)
    privacy = clinic.privacy
    text = fill(
        " ".join(texts["text"].split()),
        clinic,
        conversation_days=str(privacy.conversation_retention_days),
        transcript_days=str(privacy.transcript_retention_days),
    )
    return PrivacyNotice(text, texts["link_label"], safe_policy_url(privacy.policy_url), lang)


def all_privacy_notices(clinic: ClinicConfig | None = None) -> dict[str, PrivacyNotice]:
    """Every notice language's notice, each file checked (what `bot check` calls)."""
    return {lang: privacy_notice(lang, clinic) for lang in notice_languages()}


def notice_text(notice: Any) -> str:
    """A notice from an envelope (`PrivacyNotice.as_dict()`) as text, the link written out;
    "" for none. The link is shown only when it is an http(s) URL."""
    if not isinstance(notice, dict) or not notice.get("text"):
        return ""
    text = str(notice["text"])
    try:
        url = safe_policy_url(str(notice.get("policy_url") or ""))
    except UnsafePolicyUrl:
        return text
    return f"{text}\n{notice.get('link_label') or ''}: {url}"


# --- the notice on a Rasa bot message (a dict with `text` and `custom: {"meso": envelope}`) ----


def envelope_of(message: dict[str, Any]) -> dict[str, Any] | None:
    custom = message.get("custom")
    meso = custom.get("meso") if isinstance(custom, dict) else None
    return meso if isinstance(meso, dict) else None


def carries_notice(message: dict[str, Any]) -> bool:
    envelope = envelope_of(message)
    return bool(envelope and envelope.get(NOTICE_KEY))


def is_emergency(message: dict[str, Any]) -> bool:
    """True for an emergency escalation's message (the instruction or its reference)."""
    envelope = envelope_of(message) or {}
    escalation = envelope.get("escalation")
    return isinstance(escalation, dict) and escalation.get("severity") == "emergency"


def with_notice(message: dict[str, Any], notice: PrivacyNotice) -> dict[str, Any]:
    """A copy of `message` (which has an envelope) carrying `notice`: in the envelope, and
    after a blank line at the end of its text."""
    envelope = envelope_of(message)
    if envelope is None:
        raise ValueError("the notice goes on a message with a `meso` envelope")
    text = str(message.get("text") or "")
    return {
        **message,
        "text": f"{text}\n\n{notice.plain_text()}" if text else notice.plain_text(),
        "custom": {**message["custom"], "meso": {**envelope, NOTICE_KEY: notice.as_dict()}},
    }


def notice_message(notice: PrivacyNotice, reply_lang: str) -> dict[str, Any]:
    """The notice as a message of its own (after an emergency): envelope kind "notice", no
    body."""
    reply = Reply(kind="notice", body="", lang=reply_lang)
    return with_notice(reply.rasa_message(), notice)
