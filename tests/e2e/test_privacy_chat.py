"""Erasure on request in chat, against the real system (REST channel, action server, Rasa's
tracker store, the worker): asked in each language, confirmed with a button or a typed yes,
refused with a no, not started by a question about data, and once only when asked twice."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.privacy.texts import privacy_texts
from bot.serve import Stack
from bot.storage.db import Database
from bot.storage.models import ErasureJob, Ticket
from bot.tickets.lifecycle import resolve
from tests.conftest import envelopes, rest_messages
from tests.privacy.helpers import files_containing, tables_containing
from tests.stack import STACK_PRIVACY


@pytest.fixture
def stack(rasa_stack: Stack) -> Stack:
    return rasa_stack


def _sender() -> str:
    return f"patient-{uuid.uuid4().hex[:10]}"


def _tracker_url(stack: Stack) -> str:
    return f"sqlite:///{stack.settings.work_dir / 'rasa_tracker.db'}"


def _jobs(stack: Stack) -> int:
    db = Database(stack.database_url)
    try:
        with db.session() as session:
            return session.execute(select(func.count()).select_from(ErasureJob)).scalar_one()
    finally:
        db.dispose()


def _text(messages: list[dict]) -> str:  # type: ignore[type-arg]
    return "\n".join(m.get("text") or "" for m in messages)


@pytest.mark.parametrize(
    ("request_text", "yes", "lang"),
    [
        ("delete my data", "yes", "en"),
        ("forget me", "/affirm", "en"),  # the button
        ("mera data delete karo", "haan", "en"),  # Hinglish is answered in English
        ("मेरा डेटा मिटा दो", "हाँ", "hi"),
        ("احذف بياناتي", "نعم", "ar"),
    ],
)
def test_an_erasure_request_is_confirmed_then_erases_the_conversation(
    stack: Stack, request_text: str, yes: str, lang: str
) -> None:
    sender = _sender()
    secret = f"zebrafinch{uuid.uuid4().hex[:8]}"
    rest_messages(stack, sender, f"how much does mesotherapy cost for my cheeks {secret}")
    texts = privacy_texts(lang)

    [question] = rest_messages(stack, sender, request_text)

    assert question["text"].startswith(texts["confirm"])
    assert [b["payload"] for b in question["buttons"]] == ["/affirm", "/deny"]
    assert [b["title"] for b in question["buttons"]] == [texts["yes_button"], texts["no_button"]]
    assert tables_containing(_tracker_url(stack), secret)  # nothing erased before the yes

    [done] = rest_messages(stack, sender, yes)

    assert done["text"].startswith(texts["erased"])
    assert envelopes([done])[0]["lang"] == lang
    work: Path = stack.settings.work_dir
    assert tables_containing(_tracker_url(stack), secret) == []
    assert tables_containing(stack.database_url, secret) == []
    assert files_containing(work, secret) == []


@pytest.mark.parametrize(
    ("request_text", "no", "lang"),
    [
        ("delete my data", "no", "en"),
        ("मेरा डेटा मिटा दो", "नहीं", "hi"),
        ("احذف بياناتي", "لا", "ar"),
    ],
)
def test_a_no_keeps_everything(stack: Stack, request_text: str, no: str, lang: str) -> None:
    sender = _sender()
    secret = f"quokka{uuid.uuid4().hex[:8]}"
    rest_messages(stack, sender, f"how many sessions do I need for {secret}")
    rest_messages(stack, sender, request_text)
    [kept] = rest_messages(stack, sender, no)
    assert kept["text"] == privacy_texts(lang)["not_erased"]
    assert tables_containing(_tracker_url(stack), secret)


@pytest.mark.parametrize(
    "question",
    ["do you keep my data?", "kya aap mera data rakhte ho", "क्या आप मेरा डेटा रखते हैं?"],
)
def test_a_question_about_data_does_not_start_an_erasure(stack: Stack, question: str) -> None:
    sender = _sender()
    messages = rest_messages(stack, sender, question)
    assert not any(m.get("buttons") for m in messages)
    # the retention, from the stack's clinic settings (tests/stack.py)
    assert str(STACK_PRIVACY["conversation_retention_days"]) in _text(messages)
    jobs = _jobs(stack)
    rest_messages(stack, sender, "yes")
    assert _jobs(stack) == jobs


def test_asking_twice_is_one_erasure(stack: Stack) -> None:
    sender = _sender()
    rest_messages(stack, sender, "what is mesotherapy")
    jobs = _jobs(stack)
    rest_messages(stack, sender, "delete my data")
    [again] = rest_messages(stack, sender, "delete my data")
    assert again["buttons"]
    rest_messages(stack, sender, "yes")
    assert _jobs(stack) == jobs + 1
    [late] = rest_messages(stack, sender, "yes")  # a second yes is not a second erasure
    assert _jobs(stack) == jobs + 1 and "erased" not in late["text"].lower()


@pytest.mark.parametrize(
    "request_text",
    ["Bitte löschen Sie sofort alle meine Daten", "Supprimez toutes mes données personnelles"],
)
def test_an_erasure_request_in_another_language_gets_the_unsupported_language_answer(
    stack: Stack, request_text: str
) -> None:
    messages = rest_messages(stack, _sender(), request_text)
    text = _text(messages)
    assert not any(m.get("buttons") for m in messages)
    assert "112" in text and "+91 80 4000 1234" in text  # emergency line and clinic phone


def test_an_open_urgent_report_is_kept_until_resolved(stack: Stack) -> None:
    sender = _sender()
    rest_messages(stack, sender, "my lip is swollen and getting worse since the injections")
    db = Database(stack.database_url)
    with db.session() as session:
        ticket_id = session.execute(
            select(Ticket.id).where(Ticket.conversation_id == sender)
        ).scalar_one()
    rest_messages(stack, sender, "delete my data")

    [done] = rest_messages(stack, sender, "yes")

    assert privacy_texts("en")["held"].split(":")[0] in done["text"]
    with db.session() as session:
        assert "swollen" in session.get(Ticket, ticket_id).trigger_text
    resolve(db, ticket_id, "dr.bose")  # the clinician's resolution finishes the erasure
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.trigger_text == "" and ticket.conversation_id == f"erased:{ticket_id}"
    db.dispose()
