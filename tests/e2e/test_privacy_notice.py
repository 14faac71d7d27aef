"""The privacy notice against the real stack, on every channel (REST, socket.io, WhatsApp at the
fake Graph API) and in every language (en, hinglish, hi, ar): with the first reply of a
conversation, not on the second turn, again in a new conversation; after an emergency's
instruction, never in it. The stack's clinic file has its own retention days and policy link
(tests/stack.py STACK_PRIVACY), so the numbers seen here come from clinic.yml."""

from __future__ import annotations

import time
import urllib.request
import uuid
from typing import Any

import pytest

from bot.clinic import clinic_config
from bot.readiness import wait_until
from bot.replies.notice import notice_texts
from bot.serve import Stack
from tests.channels import whatsapp_fakes as wa
from tests.channels.whatsapp_fakes import FakeGraph
from tests.conftest import rest_messages
from tests.stack import STACK_PRIVACY
from tests.support.socketio_patient import socketio_patient

pytestmark = pytest.mark.e2e

# (notice language, reply language, a first question, a second question) in each language
LANGUAGES = [
    ("en", "en", "how much does it cost", "how many sessions do I need"),
    ("hinglish", "en", "mesotherapy ka kitna kharcha hota hai", "kitne sessions lagenge"),
    ("hi", "hi", "मेसोथेरेपी की कीमत कितनी है", "कितने सेशन लगेंगे"),
    ("ar", "ar", "كم تكلفة الميزوثيرابي", "كم جلسة أحتاج"),
]
ERASE_PHRASES = {
    "en": '"delete my data"',
    "hinglish": '"mera data delete karo"',
    "hi": '"मेरा डेटा मिटाओ"',
    "ar": '"احذف بياناتي"',
}
EMERGENCY = "my lips are swelling and I can't breathe"


def _notices(messages: list[dict[str, Any]], key: str = "custom") -> list[dict[str, Any]]:
    """The notices of `messages` (REST: custom.meso; socket.io: meso at the top)."""
    envelopes = [
        (m.get(key) or {}).get("meso") if key == "custom" else m.get("meso") for m in messages
    ]
    return [e["notice"] for e in envelopes if isinstance(e, dict) and e.get("notice")]


def _check_notice(notice: dict[str, Any], lang: str) -> None:
    """The notice in `lang` with the stack's numbers and link, not data/clinic.yml's."""
    assert notice["lang"] == lang
    assert notice["policy_url"] == STACK_PRIVACY["policy_url"]
    assert notice["link_label"] == notice_texts(lang)["link_label"]
    text = notice["text"]
    for days in ("conversation_retention_days", "transcript_retention_days"):
        assert str(STACK_PRIVACY[days]) in text
        assert str(getattr(clinic_config().privacy, days)) not in text  # not the repo's numbers
    assert ERASE_PHRASES[lang] in text
    assert clinic_config().name in text


def _sender() -> str:
    return f"notice-{uuid.uuid4().hex[:12]}"


# --- REST ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("lang", "reply_lang", "first", "second"), LANGUAGES)
def test_rest_first_reply_carries_the_notice_once(
    rasa_stack: Stack, lang: str, reply_lang: str, first: str, second: str
) -> None:
    sender = _sender()
    messages = rest_messages(rasa_stack, sender, first)
    [notice] = _notices(messages)
    _check_notice(notice, lang)
    carrier = next(m for m in messages if m["custom"]["meso"].get("notice"))
    assert carrier is messages[0]  # the first reply
    assert carrier["custom"]["meso"]["lang"] == reply_lang
    assert carrier["custom"]["meso"]["kind"] != "notice"  # on the reply, not beside it
    # a text-only client sees it too, after the reply
    assert carrier["text"].startswith(carrier["custom"]["meso"]["body"][:20])
    assert carrier["text"].endswith(
        f"{notice['text']}\n{notice['link_label']}: {notice['policy_url']}"
    )

    later = rest_messages(rasa_stack, sender, second)
    assert later and _notices(later) == []
    assert all(notice["text"] not in m.get("text", "") for m in later)

    again = rest_messages(rasa_stack, _sender(), first)  # a new conversation
    assert len(_notices(again)) == 1


def test_rest_emergency_instruction_first_and_alone_then_the_notice(rasa_stack: Stack) -> None:
    sender = _sender()
    messages = rest_messages(rasa_stack, sender, EMERGENCY, timeout=60)
    instruction = messages[0]
    meso = instruction["custom"]["meso"]
    assert meso["escalation"]["severity"] == "emergency" and "notice" not in meso
    assert instruction["text"].startswith("Call emergency services now on 112")
    assert "privacy" not in instruction["text"].lower()
    # every emergency message before the notice, the notice last and on its own
    *emergency, last = messages
    assert all(m["custom"]["meso"]["escalation"]["severity"] == "emergency" for m in emergency)
    assert last["custom"]["meso"]["kind"] == "notice" and last["custom"]["meso"]["body"] == ""
    [notice] = _notices(messages)
    _check_notice(notice, "en")
    assert _notices(rest_messages(rasa_stack, sender, "thank you")) == []


# --- socket.io -------------------------------------------------------------------------------


async def _socketio_turns(stack: Stack, texts: list[str]) -> list[list[dict[str, Any]]]:
    """Send `texts` one by one in one new session; the `bot_uttered` data of each turn."""
    async with socketio_patient(stack.rasa_url) as patient:
        return [await patient.turn(text) for text in texts]


@pytest.mark.parametrize(("lang", "reply_lang", "first", "second"), LANGUAGES)
async def test_socketio_first_reply_carries_the_notice_once(
    rasa_stack: Stack, lang: str, reply_lang: str, first: str, second: str
) -> None:
    first_turn, second_turn = await _socketio_turns(rasa_stack, [first, second])
    assert first_turn and second_turn
    [notice] = _notices(first_turn, key="meso")
    _check_notice(notice, lang)
    assert first_turn[0]["meso"]["notice"] == notice and first_turn[0]["meso"]["lang"] == reply_lang
    assert _notices(second_turn, key="meso") == []
    [new_conversation] = await _socketio_turns(rasa_stack, [first])
    assert len(_notices(new_conversation, key="meso")) == 1


async def test_socketio_emergency_instruction_comes_first_without_the_notice(
    rasa_stack: Stack,
) -> None:
    [turn] = await _socketio_turns(rasa_stack, [EMERGENCY])
    assert turn[0]["meso"]["escalation"]["severity"] == "emergency"
    assert "notice" not in turn[0]["meso"] and "privacy" not in turn[0]["text"].lower()
    assert turn[-1]["meso"]["kind"] == "notice"
    assert len(_notices(turn, key="meso")) == 1


# --- WhatsApp --------------------------------------------------------------------------------


def _whatsapp_turn(stack: Stack, graph: FakeGraph, phone: str, text: str) -> list[str]:
    """Post `text` from `phone`; the texts sent back to `phone`, once nothing more comes."""
    before = len([c for c in graph.sent if c.body.get("to") == phone])
    body = wa.encode(wa.notification([wa.text_message(phone, text)], phone_for_contacts=phone))
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=body, headers=wa.signed_headers(body)
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200

    def to_phone() -> list[str]:
        return [c.text for c in graph.sent if c.body.get("to") == phone][before:]

    wait_until(lambda: to_phone(), 60, "an answer on WhatsApp", interval=0.2)
    seen = -1
    while seen != len(to_phone()):  # nothing more for 3 s: that cannot be polled for
        seen = len(to_phone())
        time.sleep(3)
    return to_phone()


@pytest.mark.parametrize(("lang", "reply_lang", "first", "second"), LANGUAGES)
def test_whatsapp_sends_the_notice_after_the_first_reply_once(
    rasa_stack: Stack,
    whatsapp_graph: FakeGraph,
    lang: str,
    reply_lang: str,
    first: str,
    second: str,
) -> None:
    phone = f"9198{uuid.uuid4().int % 10**8:08d}"
    expected = notice_texts(lang)["link_label"] + ": " + STACK_PRIVACY["policy_url"]
    first_turn = _whatsapp_turn(rasa_stack, whatsapp_graph, phone, first)
    *replies, notice = first_turn
    assert replies, first_turn
    assert notice.endswith(expected) and ERASE_PHRASES[lang] in notice
    assert str(STACK_PRIVACY["conversation_retention_days"]) in notice
    assert all(expected not in r for r in replies)
    second_turn = _whatsapp_turn(rasa_stack, whatsapp_graph, phone, second)
    assert second_turn and all(expected not in m for m in second_turn)


def test_whatsapp_emergency_instruction_first_and_alone_then_the_notice(
    rasa_stack: Stack, whatsapp_graph: FakeGraph
) -> None:
    phone = f"9197{uuid.uuid4().int % 10**8:08d}"
    sent = _whatsapp_turn(rasa_stack, whatsapp_graph, phone, EMERGENCY)
    assert sent[0].startswith("Call emergency services now on 112")
    assert "privacy" not in sent[0].lower()
    assert sent[-1].startswith("Your privacy:")
    assert sum("Your privacy:" in m for m in sent) == 1
