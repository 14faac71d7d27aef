"""WhatsApp channel settings from credentials.yml, falling back to WHATSAPP_* variables.

Contract: `resolve_settings` returns settings when every required value is present, None when
none is (the channel then stays disabled so Rasa starts without it), and raises
`WhatsAppConfigError` naming the missing variables when only some are set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_GRAPH_URL = "https://graph.facebook.com/v25.0"

# credentials.yml key -> environment variable used when the key is absent or empty.
REQUIRED = {
    "verify_token": "WHATSAPP_VERIFY_TOKEN",
    "app_secret": "WHATSAPP_APP_SECRET",
    "access_token": "WHATSAPP_ACCESS_TOKEN",
    "phone_number_id": "WHATSAPP_PHONE_NUMBER_ID",
}
GRAPH_URL_ENV = "WHATSAPP_GRAPH_URL"
PSEUDONYM_KEY_ENV = "MESO_PSEUDONYM_KEY"


class WhatsAppConfigError(ValueError):
    """The WhatsApp channel is partly configured: some required values are missing."""


@dataclass(frozen=True)
class WhatsAppSettings:
    verify_token: str = field(repr=False)
    app_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    phone_number_id: str
    graph_url: str = DEFAULT_GRAPH_URL
    pseudonym_key: str = field(default="", repr=False)

    @property
    def messages_url(self) -> str:
        return f"{self.graph_url}/{self.phone_number_id}/messages"

    @property
    def conversation_key(self) -> bytes:
        """Key for the sender pseudonym: MESO_PSEUDONYM_KEY if set, else the app secret."""
        return (self.pseudonym_key or self.app_secret).encode()


def _text(value: Any) -> str:
    return str(value).strip() if value is not None else ""


def resolve_settings(
    credentials: Mapping[str, Any] | None, environ: Mapping[str, str]
) -> WhatsAppSettings | None:
    """Settings from the credentials block, each missing value taken from the environment."""
    credentials = credentials or {}
    values = {
        key: _text(credentials.get(key)) or _text(environ.get(env)) for key, env in REQUIRED.items()
    }
    missing = [REQUIRED[key] for key, value in values.items() if not value]
    if len(missing) == len(REQUIRED):
        return None
    if missing:
        raise WhatsAppConfigError(
            "The WhatsApp channel is only partly configured; set "
            + ", ".join(missing)
            + " (or the matching keys under bot.rasa.channels.whatsapp.WhatsAppInput in "
            "credentials.yml), or unset all WHATSAPP_* variables to run without WhatsApp."
        )
    graph_url = _text(credentials.get("graph_url")) or _text(environ.get(GRAPH_URL_ENV))
    graph_url = graph_url or DEFAULT_GRAPH_URL
    if not graph_url.startswith(("https://", "http://")):
        raise WhatsAppConfigError(f"{GRAPH_URL_ENV} must be an http(s) URL, got {graph_url!r}")
    return WhatsAppSettings(
        graph_url=graph_url.rstrip("/"),
        pseudonym_key=_text(environ.get(PSEUDONYM_KEY_ENV)),
        **values,
    )
