"""Handoff records on SQLite and PostgreSQL: atomic take, who may write, the relay's claim,
patient lines, audit rows, and retention / erasure / export."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot.handoff import store
from bot.storage.db import Database
from bot.storage.models import AuditEntry, HandoffMessage, utcnow

CONVERSATION = "sess-123"
TICKET = "t" * 32


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _take(db: Database, who: str, conversation: str = CONVERSATION, channel: str = "socketio"):
    return store.take(db, conversation, TICKET, channel, who)


def _actions(db: Database) -> list[tuple[str, str]]:
    with db.session() as session:
        rows = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(row.actor, row.action) for row in rows]


def test_take_queues_the_joined_notice_and_audits_it(db: Database) -> None:
    hold = _take(db, "anna")
    assert (hold.clinician, hold.ticket_id, hold.channel) == ("anna", TICKET, "socketio")
    [line] = store.thread(db, CONVERSATION)
    assert (line.sender, line.kind, line.author, line.delivery) == (
        store.CLINICIAN,
        store.JOINED,
        "anna",
        store.PENDING,
    )
    assert _actions(db) == [("anna", "handoff_taken")]
    assert _take(db, "anna") == hold  # taking one's own again changes nothing
    assert len(store.thread(db, CONVERSATION)) == 1


def test_a_second_clinician_is_told_who_holds_it(db: Database) -> None:
    _take(db, "anna")
    with pytest.raises(store.AlreadyHeld) as refused:
        _take(db, "bose")
    assert refused.value.holder is not None and refused.value.holder.clinician == "anna"
    assert store.holder(db, CONVERSATION).clinician == "anna"


def _race(db: Database, conversation: str) -> dict[str, str]:
    """Two clinicians take `conversation` at the same moment; what each was told."""
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def attempt(who: str) -> None:
        start.wait()
        try:
            _take(db, who, conversation)
            outcomes[who] = "took"
        except store.AlreadyHeld as held:
            outcomes[who] = f"held by {held.holder.clinician if held.holder else '?'}"

    threads = [threading.Thread(target=attempt, args=(who,)) for who in ("anna", "bose")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_clinicians_taking_at_once_exactly_one_wins(db: Database) -> None:
    for round_number in range(5):
        conversation = f"race-{round_number}"
        outcomes = _race(db, conversation)
        winner = store.holder(db, conversation).clinician
        loser = "bose" if winner == "anna" else "anna"
        assert outcomes == {winner: "took", loser: f"held by {winner}"}
        joined = [line for line in store.thread(db, conversation) if line.kind == store.JOINED]
        assert [line.author for line in joined] == [winner]


def test_only_the_holder_writes_and_anyone_may_hand_back(db: Database) -> None:
    with pytest.raises(store.NotHeld) as nobody:
        store.send(db, CONVERSATION, "anna", "hello")
    assert nobody.value.holder is None
    _take(db, "anna")
    with pytest.raises(store.NotHeld) as other:
        store.send(db, CONVERSATION, "bose", "hello")
    assert other.value.holder.clinician == "anna"
    with pytest.raises(ValueError):
        store.send(db, CONVERSATION, "anna", "   ")
    line = store.send(db, CONVERSATION, "anna", "  <script>alert(1)</script> hi  ")
    assert line.text == "<script>alert(1)</script> hi"  # kept as typed; pages escape it
    long = store.send(db, CONVERSATION, "anna", "x" * (store.MESSAGE_MAX + 50))
    assert len(long.text) == store.MESSAGE_MAX

    hold = store.hand_back(db, CONVERSATION, "bose")
    assert hold.clinician == "anna"
    assert store.holder(db, CONVERSATION) is None
    assert store.thread(db, CONVERSATION)[-1].kind == store.HANDED_BACK
    with pytest.raises(store.NotHeld):
        store.hand_back(db, CONVERSATION, "anna")
    assert [a for _, a in _actions(db)] == [
        "handoff_taken",
        "handoff_message",
        "handoff_message",
        "handoff_returned",
    ]
    with db.session() as session:
        details = list(session.execute(select(AuditEntry.detail)).scalars())
    assert not any("script" in (d or "") for d in details)  # the audit names lines, not text
    assert "anna held it" in details[-1]


def test_kiosk_lines_are_kept_but_never_queued(db: Database) -> None:
    _take(db, "anna", channel="kiosk")
    store.send(db, CONVERSATION, "anna", "please come to the desk")
    assert {line.delivery for line in store.thread(db, CONVERSATION)} == {store.NO_RETURN_CHANNEL}
    assert store.claim_pending(db) == []


def test_each_pending_line_is_claimed_once_and_finished(db: Database) -> None:
    _take(db, "anna")
    store.send(db, CONVERSATION, "anna", "first")
    claimed = store.claim_pending(db)
    assert [line.kind for line in claimed] == [store.JOINED, store.MESSAGE]
    assert store.claim_pending(db) == []
    store.finish(db, claimed[0].id, store.DELIVERED, text="Anna has joined", lang="hi")
    store.finish(db, claimed[1].id, store.UNDELIVERED, "the patient has left the chat")
    joined, message = store.thread(db, CONVERSATION)
    assert (joined.delivery, joined.text, joined.lang) == (store.DELIVERED, "Anna has joined", "hi")
    assert (message.delivery, message.detail, message.text) == (
        store.UNDELIVERED,
        "the patient has left the chat",
        "first",
    )


def test_patient_lines_are_kept_only_while_held(db: Database) -> None:
    assert store.record_received(db, CONVERSATION, store.PATIENT, ["hello?"]) == 0
    _take(db, "anna")
    assert store.record_received(db, CONVERSATION, store.PATIENT, ["it <b>hurts</b>"]) == 1
    assert store.record_received(db, CONVERSATION, store.ASSISTANT, ["", "Call 112 now"]) == 1
    lines = store.thread(db, CONVERSATION)
    assert [(line.sender, line.text, line.delivery) for line in lines[1:]] == [
        (store.PATIENT, "it <b>hurts</b>", store.RECEIVED),
        (store.ASSISTANT, "Call 112 now", store.RECEIVED),
    ]
    assert store.thread(db, CONVERSATION, after=lines[1].id) == lines[2:]


def test_erase_expire_and_export(db: Database) -> None:
    _take(db, "anna")
    store.send(db, CONVERSATION, "anna", "hello")
    store.save_contact(db, "whatsapp", CONVERSATION, "15550001111")
    store.save_contact(db, "whatsapp", CONVERSATION, "15550002222")  # the newest number wins
    assert store.contact(db, "whatsapp", CONVERSATION) == "15550002222"
    _take(db, "bose", conversation="other")

    exported = store.export_conversation(db, CONVERSATION)
    tables = sorted(row["table"] for row in exported)
    assert tables == ["handoff_contacts", "handoff_holds", "handoff_messages", "handoff_messages"]
    assert {"phone": "15550002222"}.items() <= exported[-1].items()

    assert store.erase_conversation(db, CONVERSATION) == 4
    assert store.export_conversation(db, CONVERSATION) == []
    assert store.holder(db, "other") is not None  # another conversation is untouched

    with db.session() as session:
        session.execute(update(HandoffMessage).values(at=utcnow() - timedelta(days=40)))
    assert store.expire_before(db, utcnow() - timedelta(days=30)) == 1
    assert store.thread(db, "other") == []
    assert store.expire_before(db, utcnow() - timedelta(days=30)) == 0


def test_a_line_a_dead_relay_took_is_sent_again_after_the_claim_timeout(db: Database) -> None:
    _take(db, "anna")
    [line] = store.claim_pending(db)
    assert store.claim_pending(db) == []  # taken, and its relay may still be sending it
    with db.session() as session:
        session.execute(
            update(HandoffMessage).values(
                claimed_at=utcnow() - store.CLAIM_TIMEOUT - timedelta(seconds=1)
            )
        )
    assert [again.id for again in store.claim_pending(db)] == [line.id]
    assert store.claim_pending(db) == []
