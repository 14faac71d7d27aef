"""The WhatsApp webhook end to end at unit level: real Sanic server, fake Graph API, real SQLite."""

from __future__ import annotations

import asyncio
import logging
import re

import pytest
from sqlalchemy import select

from bot.channels.whatsapp.privacy import pseudonym
from bot.clinic import clinic_config
from bot.rasa.channels.whatsapp import input as whatsapp_input
from bot.storage.models import SeenChannelMessage, TemplateFallback, Ticket
from bot.triage.escalation import turn_failed_reply
from tests.channels.whatsapp_fakes import (
    APP_SECRET,
    PHONE,
    VERIFY_TOKEN,
    Harness,
    encode,
    interactive_reply,
    media_message,
    notification,
    signed_headers,
    status,
    text_message,
)


def answers_with_note(harness: Harness) -> list[str]:
    return [c.text for c in harness.graph.sent if "Evidence note:" in c.text]


# --- verification and signatures -------------------------------------------------------------


async def test_verification_echoes_challenge_when_token_matches(harness: Harness) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8412"}
    async with harness.http.get(f"{harness.base_url}/webhook", params=params) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "8412"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
)
async def test_verification_refused_otherwise(harness: Harness, params: dict[str, str]) -> None:
    async with harness.http.get(f"{harness.base_url}/webhook", params=params) as response:
        assert response.status == 403
        assert "1" not in await response.text()


@pytest.mark.parametrize("signature", ["forged", "missing", "other-secret"])
async def test_unsigned_or_forged_post_is_refused_and_not_processed(
    harness: Harness, signature: str, caplog: pytest.LogCaptureFixture
) -> None:
    body = encode(notification([text_message(PHONE, "does it hurt")]))
    headers = {"Content-Type": "application/json"}
    if signature == "forged":
        headers["X-Hub-Signature-256"] = "sha256=" + "0" * 64
    if signature == "other-secret":
        headers = signed_headers(body, secret="not-the-app-secret")
    with caplog.at_level(logging.DEBUG):
        code, text, _ = await harness.post(None, headers=headers, raw=body)
        await harness.settle()
    assert code == 403
    assert "signature" in text.lower()
    assert harness.bot.received == []
    assert harness.graph.calls == []
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "does it hurt" not in logged and PHONE not in logged


async def test_signature_is_checked_before_parsing(harness: Harness) -> None:
    code, _, _ = await harness.post(None, headers={}, raw=b"{not json")
    assert code == 403


# --- acknowledgement and processing ----------------------------------------------------------


async def test_answer_is_rendered_once_with_note_and_sources(harness: Harness) -> None:
    code, _, _ = await harness.post(notification([text_message(PHONE, "does it help hair")]))
    await harness.settle()
    assert code == 200
    assert len(harness.graph.sent) == 1  # one Reply, one Rasa message, one WhatsApp message
    call = harness.graph.sent[0]
    assert call.body["to"] == PHONE
    assert call.authorization == "Bearer test-access-token"
    assert call.path.endswith("/106540352242922/messages")
    assert "*thinning hair*" in call.text and "**" not in call.text
    assert "Evidence note: Studies of scalp injections" in call.text
    assert (
        "Sources: A review of injected treatments for hair thinning (sources/review.md)"
        in call.text
    )


async def test_slow_bot_still_gets_a_fast_acknowledgement(make_harness) -> None:  # type: ignore[no-untyped-def]
    harness = await make_harness(delay=2.0)
    code, _, elapsed = await harness.post(notification([text_message(PHONE, "hello")]))
    assert code == 200
    assert elapsed < 0.1
    assert harness.graph.calls == []  # the bot is still thinking
    await harness.settle()
    assert len(answers_with_note(harness)) == 1


async def test_replayed_message_is_answered_once_even_after_restart(harness: Harness) -> None:
    message = text_message(PHONE, "does it help hair")
    for _ in range(2):
        assert (await harness.post(notification([message])))[0] == 200
        await harness.settle()
    await harness.start_channel()  # a new channel instance on the same database
    assert (await harness.post(notification([message])))[0] == 200
    await harness.settle()
    assert len(harness.bot.received) == 1
    assert len(answers_with_note(harness)) == 1
    with harness.database.session() as session:
        rows = session.execute(select(SeenChannelMessage)).scalars().all()
    assert [r.channel for r in rows] == ["whatsapp"]
    assert (
        rows[0].message_id != message["id"]
    )  # the raw wamid (it encodes the number) is not stored


async def test_fifty_simultaneous_deliveries_yield_one_answer(harness: Harness) -> None:
    body = encode(notification([text_message(PHONE, "does it help hair")]))
    results = await asyncio.wait_for(
        asyncio.gather(
            *(harness.post(None, raw=body, headers=signed_headers(body)) for _ in range(50))
        ),
        timeout=1.0,
    )
    await harness.settle()
    assert [code for code, _, _ in results] == [200] * 50
    assert len(harness.bot.received) == 1
    assert len(harness.graph.sent) == 1


async def test_status_callbacks_are_ignored(harness: Harness) -> None:
    statuses = [status(PHONE, "sent"), status(PHONE, "delivered"), status(PHONE, "read")]
    code, _, _ = await harness.post(notification(statuses=statuses))
    await harness.settle()
    assert code == 200
    assert harness.bot.received == [] and harness.graph.calls == []


async def test_unsupported_types_get_a_polite_request_to_type(harness: Harness) -> None:
    kinds = ["audio", "voice", "image", "sticker", "location", "video", "document", "contacts"]
    code, _, _ = await harness.post(notification([media_message(PHONE, k) for k in kinds]))
    await harness.settle()
    assert code == 200
    assert harness.bot.received == []
    assert len(harness.graph.sent) == len(kinds)
    assert {c.text for c in harness.graph.sent} == {harness.channel.texts.unsupported_message}
    assert (
        "type" in harness.channel.texts.unsupported_message
        or "write" in harness.channel.texts.unsupported_message
    )


async def test_reactions_get_no_reply(harness: Harness) -> None:
    reaction = {"from": PHONE, "id": "wamid.r1", "type": "reaction", "reaction": {"emoji": "+"}}
    await harness.post(notification([reaction]))
    await harness.settle()
    assert harness.graph.calls == [] and harness.bot.received == []


@pytest.mark.parametrize("kind", ["button_reply", "list_reply"])
async def test_interactive_replies_reach_rasa_as_payloads(harness: Harness, kind: str) -> None:
    await harness.post(notification([interactive_reply(PHONE, kind, "/ask_cost", "Cost")]))
    await harness.settle()
    assert [m.text for m in harness.bot.received] == ["/ask_cost"]


async def test_malformed_json_is_a_clear_400_and_nothing_else(harness: Harness) -> None:
    raw = b'{"object": "whatsapp_business_account", "entry": ['
    code, text, _ = await harness.post(None, raw=raw, headers=signed_headers(raw))
    await harness.settle()
    assert code == 400
    assert "not valid JSON" in text
    assert harness.bot.received == [] and harness.graph.calls == []


async def test_unknown_fields_are_ignored(harness: Harness) -> None:
    payload = notification([{**text_message(PHONE, "does it help hair"), "novel": {"x": 1}}])
    payload["brand_new_top_level"] = [1, 2]
    payload["entry"][0]["changes"][0]["value"]["unexpected"] = {"deep": True}
    payload["entry"][0]["changes"].append({"field": "account_update", "value": {"event": "x"}})
    code, _, _ = await harness.post(payload)
    await harness.settle()
    assert code == 200
    assert len(answers_with_note(harness)) == 1


@pytest.mark.parametrize(
    "payload", [notification([]), {"object": "whatsapp_business_account", "entry": []}, [], {}]
)
async def test_nothing_to_answer_is_200_and_silent(harness: Harness, payload: object) -> None:
    code, _, _ = await harness.post(payload)
    await harness.settle()
    assert code == 200
    assert harness.bot.received == [] and harness.graph.calls == []


async def test_messages_for_another_phone_number_id_are_skipped(harness: Harness) -> None:
    payload = notification([text_message(PHONE, "hello")])
    payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"] = "999"
    await harness.post(payload)
    await harness.settle()
    assert harness.bot.received == []


async def test_64_kb_text_is_processed_with_one_answer(harness: Harness) -> None:
    text = ("A long question about aftercare and results. " * 1500)[: 64 * 1024]
    code, _, _ = await harness.post(notification([text_message(PHONE, text)]))
    await harness.settle()
    assert code == 200
    assert len(harness.bot.received) == 1
    assert len(harness.bot.received[0].text or "") == len(text.strip())
    assert len(answers_with_note(harness)) == 1


async def test_bot_failure_gets_an_honest_apology(failing: Harness) -> None:
    harness = failing
    await harness.post(notification([text_message(PHONE, "hello")]))
    await harness.settle()
    assert [c.text for c in harness.graph.sent] == [_apology()]
    assert len(harness.bot.received) > 1  # it was tried again before the apology


# --- a turn the assistant could not run: the channel triages it itself -----------------------


@pytest.fixture
async def failing(make_harness, monkeypatch) -> Harness:  # type: ignore[no-untyped-def]
    """A harness whose bot fails on every message, with short turn retries."""
    monkeypatch.setattr(whatsapp_input, "TURN_RETRY_SECONDS", 0.3)
    monkeypatch.setattr(whatsapp_input, "TURN_RETRY_DELAYS", (0.1,))
    return await make_harness(fail=True)


def _apology(lang: str = "en") -> str:
    return turn_failed_reply(clinic_config(), lang).body


def _tickets(harness: Harness) -> list[Ticket]:
    with harness.database.session() as session:
        return list(session.execute(select(Ticket)).scalars().all())


async def test_an_emergency_whose_turn_fails_gets_the_instruction_and_a_ticket_at_once(
    make_harness, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(whatsapp_input, "TURN_RETRY_SECONDS", 30.0)
    harness = await make_harness(fail=True)
    started = asyncio.get_running_loop().time()
    fainted = text_message(PHONE, "I fainted in the car park after my session")
    await harness.post(notification([fainted]))
    await harness.settle()
    assert asyncio.get_running_loop().time() - started < 10  # not after the turn's retries
    assert len(harness.bot.received) == 1  # an emergency is not run again: it is answered now
    [sent] = [c.text for c in harness.graph.sent]
    assert "112" in sent and _apology() not in sent
    [ticket] = _tickets(harness)
    assert ticket.severity == "emergency" and ticket.channel == "whatsapp"
    assert ticket.conversation_id == pseudonym(PHONE, harness.channel.settings.conversation_key)
    assert ticket.message_id == harness.bot.received[0].message_id  # Rasa's key: no double


async def test_an_urgent_report_whose_turn_fails_gets_its_advice_reference_and_ticket(
    failing: Harness,
) -> None:
    harness = failing
    fever = text_message(PHONE, "I have had a fever since the injection")
    await harness.post(notification([fever]))
    await harness.settle()
    assert len(harness.bot.received) > 1  # tried again first
    [ticket] = _tickets(harness)
    assert ticket.severity == "urgent"
    [sent] = [c.text for c in harness.graph.sent]
    assert "today" in sent and f"Your reference: {ticket.id[:8].upper()}." in sent


@pytest.mark.parametrize(
    ("text", "script"),
    [("ساعدوني 🆘", "\u0600-\u06ff"), ("मदद करो प्लीज़", "\u0900-\u097f")],
)
async def test_a_cry_for_help_whose_turn_fails_gets_the_emergency_number_in_its_language(
    failing: Harness, text: str, script: str
) -> None:
    harness = failing
    await harness.post(notification([text_message(PHONE, text)]))
    await harness.settle()
    sent = " ".join(c.text for c in harness.graph.sent)
    assert "112" in sent and re.search(f"[{script}]", sent)
    assert _tickets(harness) == []


async def test_a_question_whose_turn_fails_gets_the_apology_in_its_language(
    failing: Harness,
) -> None:
    harness = failing
    await harness.post(notification([text_message(PHONE, "كم سعر جلسة الميزو للشعر؟")]))
    await harness.settle()
    [sent] = [c.text for c in harness.graph.sent]
    assert sent == _apology("ar")
    assert "112" in sent and _tickets(harness) == []


async def test_a_turn_that_failed_before_any_reply_is_run_again(
    make_harness, monkeypatch, caplog
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(whatsapp_input, "TURN_RETRY_DELAYS", (0.1,))
    harness = await make_harness(fail_times=2)
    with caplog.at_level(logging.WARNING):
        await harness.post(notification([text_message(PHONE, "does it hurt")]))
        await harness.settle()
    assert len(harness.bot.received) == 3
    sent = [c.text for c in harness.graph.sent]
    assert _apology() not in sent
    assert len(answers_with_note(harness)) == 1 and len(sent) == 1
    retried = [r for r in caplog.records if "running it again" in r.getMessage()]
    assert len(retried) == 2 and "does it hurt" not in retried[0].getMessage()


# --- rendering through the real channel ------------------------------------------------------


async def test_escalation_goes_first_and_the_answer_follows(harness: Harness) -> None:
    await harness.post(notification([text_message(PHONE, "swelling and a hair question")]))
    await harness.settle()
    texts = [c.text for c in harness.graph.sent]
    assert len(texts) == 2
    assert texts[0].startswith("What you describe needs a clinician today")
    assert "Evidence note:" in texts[1]


async def test_three_or_fewer_options_become_reply_buttons(harness: Harness) -> None:
    await harness.post(notification([text_message(PHONE, "menu 3")]))
    await harness.settle()
    [call] = harness.graph.sent
    interactive = call.body["interactive"]
    assert interactive["type"] == "button"
    buttons = interactive["action"]["buttons"]
    assert [b["reply"]["id"] for b in buttons] == ["/ask_cost", "/ask_sessions", "/ask_downtime"]
    assert all(len(b["reply"]["title"]) <= 20 for b in buttons)
    assert interactive["body"]["text"] == "Which of these would you like to know about?"


async def test_more_than_three_options_become_a_list(harness: Harness) -> None:
    await harness.post(notification([text_message(PHONE, "menu 5")]))
    await harness.settle()
    [call] = harness.graph.sent
    interactive = call.body["interactive"]
    assert interactive["type"] == "list"
    rows = interactive["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows][:2] == ["/ask_cost", "/ask_sessions"]
    assert len(rows) == 5 and all(len(r["title"]) <= 24 for r in rows)
    assert len(interactive["action"]["button"]) <= 20


# --- sending: retries and the 24-hour window -------------------------------------------------


@pytest.mark.parametrize("status_code", [429, 500, 503])
async def test_rate_limits_and_server_errors_are_retried(
    harness: Harness, status_code: int
) -> None:
    harness.graph.fail_next(status_code, code=130429 if status_code == 429 else 1, times=2)
    await harness.post(notification([text_message(PHONE, "does it help hair")]))
    await harness.settle()
    assert [c.status for c in harness.graph.calls] == [status_code, status_code, 200]
    assert len(answers_with_note(harness)) == 1


async def test_retries_are_bounded(harness: Harness) -> None:
    harness.graph.fail_next(500, times=10)
    await harness.post(notification([text_message(PHONE, "does it help hair")]))
    await harness.settle()
    assert len(harness.graph.calls) == 4  # RetryPolicy(attempts=4)
    assert harness.graph.sent == []


async def test_other_client_errors_are_logged_not_retried(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.graph.fail_next(400, code=131026)
    with caplog.at_level(logging.WARNING):
        await harness.post(notification([text_message(PHONE, "swelling and a hair question")]))
        await harness.settle()
    assert [c.status for c in harness.graph.calls] == [400, 200]  # next message still goes
    assert any("131026" in r.getMessage() for r in caplog.records)


async def test_closed_window_sends_the_template_and_records_it(harness: Harness) -> None:
    harness.graph.fail_next(400, code=131047)
    await harness.post(notification([text_message(PHONE, "swelling and a hair question")]))
    await harness.settle()
    bodies = [c.body for c in harness.graph.calls]
    assert bodies[0]["type"] == "text"  # refused: window closed
    assert bodies[1] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PHONE,
        "type": "template",
        "template": {"name": "clinic_reply_waiting", "language": {"code": "en"}},
    }
    assert len(bodies) == 2  # the rest of the turn would be refused too
    with harness.database.session() as session:
        [row] = session.execute(select(TemplateFallback)).scalars().all()
    assert row.channel == "whatsapp" and row.error_code == 131047
    assert row.template == "clinic_reply_waiting"
    assert row.conversation_id == pseudonym(PHONE, APP_SECRET.encode())


async def test_closed_window_reported_by_status_webhook_sends_one_template(
    harness: Harness,
) -> None:
    failed = [status(PHONE, "failed", error_code=131047) for _ in range(3)]
    await harness.post(notification(statuses=failed))
    await harness.settle()
    await harness.post(notification(statuses=[status(PHONE, "failed", error_code=131047)]))
    await harness.settle()
    assert [c.body["type"] for c in harness.graph.calls] == ["template"]
    with harness.database.session() as session:
        assert len(session.execute(select(TemplateFallback)).scalars().all()) == 1


# --- privacy ---------------------------------------------------------------------------------


async def test_phone_number_never_reaches_logs_or_rasa(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    harness.graph.fail_next(400, code=131026)
    messages = [
        text_message(PHONE, "does it help hair"),
        media_message(PHONE, "image"),
        text_message(PHONE, "swelling and a hair question"),
    ]
    with caplog.at_level(logging.DEBUG):
        await harness.post(notification(messages, phone_for_contacts=PHONE))
        await harness.post(notification(messages))  # duplicates are logged too
        await harness.post(notification(statuses=[status(PHONE, "failed", error_code=131026)]))
        await harness.settle()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") + str(r.args) for r in caplog.records)
    assert caplog.records  # the channel did log
    assert PHONE not in logged
    for message in messages:
        assert message["id"] not in logged
    received = harness.bot.received
    assert len(received) == 2
    for user_message in received:
        assert re.fullmatch(r"wa:[0-9a-f]{32}", user_message.sender_id)
        assert user_message.sender_id == pseudonym(PHONE, APP_SECRET.encode())
        assert PHONE not in repr(user_message.metadata)
        assert PHONE not in user_message.message_id and "wamid" not in user_message.message_id
    assert harness.graph.sent and all(c.body["to"] == PHONE for c in harness.graph.calls)
