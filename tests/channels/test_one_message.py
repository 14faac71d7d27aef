"""Every channel sends a bot response as one message: a `Reply` keeps its text, buttons and
`meso` envelope together, and its text is never cut at blank lines (Rasa 3.6's channels do both)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.channels.rest import RestInput
from rasa.core.run import create_http_input_channels
from rasa.shared.core.events import BotUttered

from bot.channels.output import bot_message, socketio_message
from bot.rasa.channels.rest import MesoRestInput, OneMessageOutput
from bot.rasa.channels.socketio import MesoSocketIOInput, MesoSocketIOOutput
from bot.replies.reply import Button, Reply
from bot.serve import runtime_credentials
from tests.channels.whatsapp_fakes import CITATIONS, NOTE, FakeBot, serve_channel

BUTTONS = (Button("Cost", "/ask_cost"), Button("Side effects", "/ask_side_effects"))


def answer() -> Reply:
    return Reply(
        kind="answer",
        body="First paragraph.\n\nSecond paragraph.",
        topic="hair_growth",
        efficacy=True,
        evidence_note=NOTE,
        citations=CITATIONS,
        buttons=BUTTONS,
    )


def rasa_response(reply: Reply) -> dict[str, Any]:
    """What Rasa hands an output channel for a dispatcher message (`BotUttered.message()`)."""
    message = reply.rasa_message()
    data = {"buttons": message.get("buttons"), "custom": message["custom"]}
    uttered = BotUttered(message["text"], data, {"utter_action": "action_answer_topic"})
    return uttered.message()


def test_bot_message_keeps_a_response_whole_and_drops_rasa_bookkeeping() -> None:
    reply = answer()
    assert bot_message(rasa_response(reply)) == reply.rasa_message()
    assert bot_message({"text": "Hi", "quick_replies": [{"title": "A", "payload": "/a"}]}) == {
        "text": "Hi",
        "buttons": [{"title": "A", "payload": "/a"}],
    }
    assert bot_message({"text": None, "custom": None, "timestamp": 1.0}) == {}


def test_socketio_message_is_one_event_in_rasa_socketio_form() -> None:
    reply = answer()
    data = socketio_message(rasa_response(reply))
    assert data == {
        "text": reply.plain_text(),
        "quick_replies": [
            {"content_type": "text", "title": "Cost", "payload": "/ask_cost"},
            {"content_type": "text", "title": "Side effects", "payload": "/ask_side_effects"},
        ],
        "meso": reply.envelope(),
    }


async def test_rasa_collector_splits_but_ours_keeps_one_message() -> None:
    reply = answer()
    rasa_own = CollectingOutputChannel()
    await rasa_own.send_response("me", rasa_response(reply))
    assert len(rasa_own.messages) > 1  # the defect this channel exists for

    collector = CollectingOutputChannel()
    await OneMessageOutput(collector).send_response("me", rasa_response(reply))
    assert collector.messages == [{"recipient_id": "me", **reply.rasa_message()}]


class RecordingSio:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str | None]] = []

    async def emit(self, event: str, data: Any = None, room: str | None = None, **_: Any) -> None:
        self.emitted.append((event, data, room))


async def test_socketio_output_emits_one_event_per_response() -> None:
    sio = RecordingSio()
    output = MesoSocketIOOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    reply = answer()
    await output.send_response("room-1", rasa_response(reply))
    await output.send_response("room-1", rasa_response(Reply(kind="chitchat", body="A\n\nB")))
    assert [(e, room) for e, _, room in sio.emitted] == [("bot_uttered", "room-1")] * 2
    first, second = (data for _, data, _ in sio.emitted)
    assert first == socketio_message(rasa_response(reply))
    assert second["text"] == "A\n\nB" and second["meso"]["body"] == "A\n\nB"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
async def test_rest_channel_answers_one_message_per_reply(stream: bool) -> None:
    replies = [answer(), Reply(kind="chitchat", body="Anything else?\n\nAsk away.")]
    bot = FakeBot(lambda text: replies)
    async with (
        serve_channel(MesoRestInput(), bot) as url,
        aiohttp.ClientSession() as http,
    ):
        assert url.endswith("/webhooks/rest")
        body = {"sender": "me", "message": "does it help hair"}
        async with http.post(f"{url}/webhook", json=body, params={"stream": str(stream)}) as resp:
            assert resp.status == 200
            if stream:
                got = [json.loads(line) for line in (await resp.text()).splitlines() if line]
            else:
                got = await resp.json()
    assert got == [{"recipient_id": "me", **r.rasa_message()} for r in replies]
    assert bot.received[0].input_channel == "rest"


def test_run_time_credentials_mount_our_rest_channel_at_rasa_rest_url(tmp_path: Path) -> None:
    credentials, _ = runtime_credentials({})
    path = tmp_path / "credentials.run.yml"
    path.write_text(yaml.safe_dump(credentials))
    channels = create_http_input_channels(None, str(path))
    rest = [c for c in channels if isinstance(c, RestInput)]
    assert [type(c) for c in rest] == [MesoRestInput]  # Rasa's own `rest` would split replies
    assert rest[0].url_prefix() == "rest"  # /webhooks/rest/webhook
    assert any(isinstance(c, MesoSocketIOInput) for c in channels)
