"""The privacy notice on WhatsApp (bot/channels/whatsapp/render.py): a text message of its own
after the turn's replies, the policy link written out, within WhatsApp's limits; after an
emergency's instruction, never before it or inside it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.channels.whatsapp.render import INTERACTIVE_BODY_LIMIT, TEXT_LIMIT, TurnRenderer
from bot.channels.whatsapp.texts import load_texts
from bot.clinic import clinic_config
from bot.replies.notice import notice_message, privacy_notice, with_notice
from bot.replies.reply import Button, Reply
from tests.channels.whatsapp_fakes import as_rasa, efficacy_answer, escalation


@pytest.fixture(scope="module")
def renderer() -> TurnRenderer:
    return TurnRenderer(load_texts())


def _body(message: dict[str, Any]) -> str:
    if message["type"] == "text":
        return message["text"]["body"]
    return message["interactive"]["body"]["text"]


@pytest.mark.parametrize("lang", ["en", "hinglish", "hi", "ar"])
def test_the_notice_follows_the_first_reply_as_its_own_text(
    renderer: TurnRenderer, lang: str
) -> None:
    notice = privacy_notice(lang)
    answer = with_notice(efficacy_answer().rasa_message(), notice)
    out = renderer.render([as_rasa(answer)])
    *replies, last = out
    assert replies and all(notice.text not in _body(m) for m in replies)
    assert last == {
        "type": "text",
        "text": {
            "body": f"{notice.text}\n{notice.link_label}: {notice.policy_url}",
            "preview_url": False,
        },
    }
    privacy = clinic_config().privacy
    assert str(privacy.conversation_retention_days) in last["text"]["body"]
    assert len(last["text"]["body"]) <= TEXT_LIMIT


def test_a_reply_with_buttons_keeps_its_buttons_and_the_notice_comes_after(
    renderer: TurnRenderer,
) -> None:
    reply = Reply("chitchat", "Hello!", buttons=(Button("Cost", "/ask_cost"),))
    message = with_notice(reply.rasa_message(), privacy_notice("en"))
    first, notice = renderer.render([as_rasa(message)])
    assert first["type"] == "interactive" and _body(first) == "Hello!"
    assert len(_body(first)) <= INTERACTIVE_BODY_LIMIT
    assert _body(notice).startswith("Your privacy:")


def test_after_an_emergency_the_instruction_goes_first_and_alone(
    renderer: TurnRenderer,
) -> None:
    instruction = escalation("Call 112 now. Do not wait for a reply here.")
    notice = notice_message(privacy_notice("en"), "en")
    out = renderer.render([as_rasa(instruction.rasa_message()), as_rasa(notice)])
    assert [m["type"] for m in out] == ["text", "text"]
    assert _body(out[0]).startswith("Call 112 now.") and "privacy" not in _body(out[0]).lower()
    assert _body(out[1]).startswith("Your privacy:")


def test_a_notice_with_an_unsafe_link_is_sent_without_it(renderer: TurnRenderer) -> None:
    message = with_notice(efficacy_answer().rasa_message(), privacy_notice("en"))
    message["custom"]["meso"]["notice"]["policy_url"] = "javascript:alert(1)"
    out = renderer.render([as_rasa(message)])
    assert "javascript" not in _body(out[-1]) and _body(out[-1]).startswith("Your privacy:")
