"""End to end over REST with the real Rasa model and action server: the messages the assistant
was unsure about reach the review table, a confident answer does not, and the reply is the
ordinary one either way."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from bot.readiness import wait_until
from bot.serve import Stack
from bot.storage import Database
from bot.storage.models import ReviewItem
from tests.conftest import envelopes, rest_messages

pytestmark = pytest.mark.e2e

# Reply kind -> the reason recorded for it.
UNSURE = [
    ("Wie viel kostet eine Sitzung Mesotherapie bei Ihnen?", "clarify", "unsupported_language"),
    ("which football team will win the league this year", "out_of_scope", "out_of_scope"),
]
SURE = "how much does one session of mesotherapy cost"


def _items(stack: Stack, conversation: str) -> list[ReviewItem]:
    db = Database(stack.database_url)
    with db.session() as session:
        rows = session.execute(
            select(ReviewItem).where(ReviewItem.conversation_id == conversation)
        ).scalars()
        return list(rows)


@pytest.mark.parametrize(("text", "kind", "reason"), UNSURE, ids=[r for *_, r in UNSURE])
def test_an_unsure_reply_is_queued_for_review(
    rasa_stack: Stack, text: str, kind: str, reason: str
) -> None:
    sender = f"review-{uuid.uuid4().hex[:10]}"
    replies = envelopes(rest_messages(rasa_stack, sender, text))
    assert [e["kind"] for e in replies] == [kind]
    (item,) = wait_until(lambda: _items(rasa_stack, sender), 20, "the review row", interval=0.3)
    assert (item.reason, item.text) == (reason, text)
    assert item.top_intents and item.label is None


def test_a_confident_answer_is_not_queued(rasa_stack: Stack) -> None:
    sender = f"review-{uuid.uuid4().hex[:10]}"
    replies = envelopes(rest_messages(rasa_stack, sender, SURE))
    assert [e["kind"] for e in replies] == ["answer"]
    later = f"review-{uuid.uuid4().hex[:10]}"  # a queued row of a later message shows the
    rest_messages(rasa_stack, later, UNSURE[1][0])  # writer has passed this one
    wait_until(lambda: _items(rasa_stack, later), 20, "the later review row", interval=0.3)
    assert _items(rasa_stack, sender) == []
