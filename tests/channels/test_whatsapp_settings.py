"""Configuration: credentials.yml, WHATSAPP_* variables, and running Rasa without WhatsApp."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from rasa.core.run import create_http_input_channels
from rasa.shared.exceptions import RasaException

from bot.channels.whatsapp.privacy import message_ref, pseudonym, redact, sign, signature_valid
from bot.channels.whatsapp.settings import (
    DEFAULT_GRAPH_URL,
    WhatsAppConfigError,
    resolve_settings,
)
from bot.rasa.channels.whatsapp import WhatsAppInput
from tests.channels.whatsapp_fakes import FakeBot, default_replies, serve_channel

FULL_ENV = {
    "WHATSAPP_VERIFY_TOKEN": "verify-token-value",
    "WHATSAPP_APP_SECRET": "app-secret-value",
    "WHATSAPP_ACCESS_TOKEN": "access-token-value",
    "WHATSAPP_PHONE_NUMBER_ID": "123",
}
VAR_BLOCK = """
bot.rasa.channels.whatsapp.WhatsAppInput:
  verify_token: ${WHATSAPP_VERIFY_TOKEN}
  app_secret: ${WHATSAPP_APP_SECRET}
  access_token: ${WHATSAPP_ACCESS_TOKEN}
  phone_number_id: ${WHATSAPP_PHONE_NUMBER_ID}
  graph_url: ${WHATSAPP_GRAPH_URL}
"""
ENV_BLOCK = """
bot.rasa.channels.whatsapp.WhatsAppInput:
  # settings come from the WHATSAPP_* environment variables
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in [*FULL_ENV, "WHATSAPP_GRAPH_URL", "MESO_PSEUDONYM_KEY"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MESO_DATABASE_URL", f"sqlite:///{tmp_path / 'meso.db'}")
    return monkeypatch


def test_nothing_set_means_disabled() -> None:
    assert resolve_settings(None, {}) is None
    assert resolve_settings({"verify_token": "", "graph_url": ""}, {}) is None


def test_partly_set_is_a_clear_error() -> None:
    with pytest.raises(WhatsAppConfigError) as error:
        resolve_settings(None, {"WHATSAPP_VERIFY_TOKEN": "v", "WHATSAPP_APP_SECRET": "s"})
    assert "WHATSAPP_ACCESS_TOKEN" in str(error.value)
    assert "WHATSAPP_PHONE_NUMBER_ID" in str(error.value)
    assert "WHATSAPP_VERIFY_TOKEN" not in str(error.value)


def test_environment_fills_what_credentials_leave_out() -> None:
    settings = resolve_settings({"phone_number_id": "999"}, FULL_ENV)
    assert settings is not None
    assert settings.phone_number_id == "999" and settings.app_secret == "app-secret-value"
    assert settings.graph_url == DEFAULT_GRAPH_URL
    assert settings.messages_url == f"{DEFAULT_GRAPH_URL}/999/messages"
    assert "value" not in repr(settings)  # secrets stay out of reprs
    with pytest.raises(WhatsAppConfigError):
        resolve_settings({"graph_url": "graph.facebook.com"}, FULL_ENV)


def test_pseudonym_key_defaults_to_app_secret_and_can_be_separate() -> None:
    settings = resolve_settings(None, FULL_ENV)
    assert settings is not None and settings.conversation_key == b"app-secret-value"
    separate = resolve_settings(None, {**FULL_ENV, "MESO_PSEUDONYM_KEY": "k"})
    assert separate is not None and separate.conversation_key == b"k"


def test_signatures_pseudonyms_and_redaction() -> None:
    body = b'{"a": 1}'
    assert signature_valid(body, sign(body, "s"), "s")
    assert signature_valid(body, sign(body, "s").upper().replace("SHA256=", "sha256="), "s")
    assert not signature_valid(body, sign(body, "other"), "s")
    assert not signature_valid(body, sign(body, "s")[7:], "s")  # without the "sha256=" prefix
    assert not signature_valid(body, None, "s")
    assert not signature_valid(body + b" ", sign(body, "s"), "s")
    assert pseudonym("919812345678", b"k") == pseudonym("919812345678", b"k")
    assert pseudonym("919812345678", b"k") != pseudonym("919812345678", b"other")
    assert "919812345678" not in pseudonym("919812345678", b"k")
    assert message_ref("wamid.x", b"k").startswith("wa:")
    assert redact("call +91 98123 45678 or 919812345678 now") == "call [number] or [number] now"


def test_rasa_starts_without_whatsapp_when_the_block_reads_the_environment(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(ENV_BLOCK)
    [channel] = create_http_input_channels(None, str(credentials))
    assert isinstance(channel, WhatsAppInput) and not channel.enabled
    for name, value in FULL_ENV.items():
        clean_env.setenv(name, value)
    [channel] = create_http_input_channels(None, str(credentials))
    assert isinstance(channel, WhatsAppInput) and channel.enabled


def test_rasa_refuses_unset_variables_in_a_substituted_block(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    credentials = tmp_path / "credentials.yml"
    credentials.write_text(VAR_BLOCK)
    with pytest.raises(RasaException, match="WHATSAPP_VERIFY_TOKEN"):
        create_http_input_channels(None, str(credentials))
    for name in [*FULL_ENV, "WHATSAPP_GRAPH_URL"]:
        clean_env.setenv(name, "")
    [channel] = create_http_input_channels(None, str(credentials))  # all empty: disabled
    assert isinstance(channel, WhatsAppInput) and not channel.enabled
    for name, value in FULL_ENV.items():
        clean_env.setenv(name, value)
    clean_env.setenv("WHATSAPP_GRAPH_URL", "http://127.0.0.1:9/v25.0")
    [channel] = create_http_input_channels(None, str(credentials))
    assert isinstance(channel, WhatsAppInput) and channel.enabled
    assert channel.settings is not None and channel.settings.graph_url == "http://127.0.0.1:9/v25.0"


async def test_disabled_channel_answers_503_with_the_reason(clean_env: pytest.MonkeyPatch) -> None:
    channel = WhatsAppInput.from_credentials(None)
    bot = FakeBot(default_replies)
    async with serve_channel(channel, bot) as url, aiohttp.ClientSession() as http:
        async with http.post(f"{url}/webhook", data=b"{}") as response:
            assert response.status == 503
            assert "WHATSAPP_APP_SECRET" in (await response.json())["error"]
        async with http.get(f"{url}/webhook", params={"hub.challenge": "1"}) as response:
            assert response.status == 503
        async with http.get(f"{url}/") as response:
            assert (await response.json()) == {"status": "disabled"}
    assert bot.received == []
