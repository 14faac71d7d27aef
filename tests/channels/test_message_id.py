"""A client's own message id (bot/channels/message_id.py): usable ids are scoped, others ignored."""

from __future__ import annotations

import pytest

from bot.channels.message_id import client_message_id


def test_a_usable_id_is_kept_scoped_to_clients() -> None:
    assert client_message_id({"message_id": "load-1a2b-3-0"}) == "client:load-1a2b-3-0"


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "text",
        {},
        {"message_id": ""},
        {"message_id": 12},
        {"message_id": "a b"},
        {"message_id": "x" * 65},
    ],
)
def test_anything_else_is_no_id(metadata: object) -> None:
    assert client_message_id(metadata) is None
