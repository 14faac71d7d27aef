"""A turn Rasa could not run: the REST and socket.io channels answer a report or a cry for help
themselves (bot/rasa/channels/failsafe.py) and record its ticket; anything else fails as before,
for the client's retry. (WhatsApp: tests/channels/test_whatsapp_webhook.py.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sqlalchemy import select

from bot.clinic import clinic_config
from bot.rasa.channels.failsafe import run_or_answer_report
from bot.rasa.channels.rest import MesoRestInput
from bot.rasa.channels.socketio import MesoSocketIOOutput
from bot.storage.db import Database, get_database
from bot.storage.models import Ticket
from bot.triage.escalation import escalation_reply
from tests.channels.test_one_message import RecordingSio
from tests.channels.whatsapp_fakes import FakeBot, serve_channel


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Database:
    url = f"sqlite:///{tmp_path / 'meso.db'}"
    monkeypatch.setenv("MESO_DATABASE_URL", url)
    database = get_database(url)
    database.prepare_schema()
    return database


def tickets(database: Database) -> list[Ticket]:
    with database.session() as session:
        return list(session.execute(select(Ticket)).scalars().all())


async def failing_turn(message: UserMessage) -> None:
    raise RuntimeError("simulated: the conversation lock could not be acquired")


def socketio_message(text: str, output: MesoSocketIOOutput, **metadata: Any) -> UserMessage:
    return UserMessage(
        text, output, "session-1", input_channel="socketio", message_id="m-1", metadata=metadata
    )


async def test_rest_emergency_gets_the_instruction_and_a_ticket_when_the_turn_fails(
    database: Database,
) -> None:
    bot = FakeBot(lambda text: [], fail=True)
    async with serve_channel(MesoRestInput(), bot) as url, aiohttp.ClientSession() as http:
        body = {
            "sender": "patient-1",
            "message": "my throat is closing up and I can't swallow",
            "metadata": {"message_id": "client-42"},
        }
        async with http.post(f"{url}/webhook", json=body) as response:
            assert response.status == 200
            got = await response.json()
    [ticket] = tickets(database)
    assert (ticket.severity, ticket.channel) == ("emergency", "rest")
    assert ticket.conversation_id == "patient-1"
    assert ticket.message_id == bot.received[0].message_id  # the client's id: a retry is one ticket
    expected = escalation_reply("emergency", ticket.id, clinic_config())
    assert [m["text"] for m in got] == [expected.rasa_message()["text"]]
    assert got[0]["custom"]["meso"]["escalation"]["severity"] == "emergency"


async def test_rest_question_whose_turn_fails_is_left_for_the_client_retry(
    database: Database,
) -> None:
    bot = FakeBot(lambda text: [], fail=True)
    async with serve_channel(MesoRestInput(), bot) as url, aiohttp.ClientSession() as http:
        body = {"sender": "patient-1", "message": "how much does hair meso cost"}
        async with http.post(f"{url}/webhook", json=body) as response:
            assert response.status == 200
            assert await response.json() == []  # empty: the client sends it again
    assert tickets(database) == []


@pytest.mark.parametrize(
    ("metadata", "channel"), [({}, "socketio"), ({"surface": "kiosk"}, "kiosk")]
)
async def test_socketio_report_in_hindi_is_answered_in_hindi_with_its_ticket(
    database: Database, metadata: dict[str, str], channel: str
) -> None:
    sio = RecordingSio()
    output = MesoSocketIOOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    message = socketio_message("इंजेक्शन के बाद से बुखार है", output, **metadata)
    await run_or_answer_report(message, failing_turn, lambda: output.escalated)
    [ticket] = tickets(database)
    assert (ticket.severity, ticket.channel, ticket.message_id) == ("urgent", channel, "m-1")
    [(event, data, room)] = sio.emitted
    assert (event, room) == ("bot_uttered", "session-1")
    assert data["meso"]["lang"] == "hi" and data["meso"]["escalation"]["severity"] == "urgent"


async def test_socketio_emergency_already_instructed_gets_only_its_reference(
    database: Database,
) -> None:
    sio = RecordingSio()
    output = MesoSocketIOOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    message = socketio_message("I fainted and my lips are swelling", output)

    async def instruct_then_fail(message: UserMessage) -> None:
        instruction = escalation_reply("emergency", None, clinic_config())
        await output.send_response(message.sender_id, instruction.rasa_message())
        raise RuntimeError("simulated: the action server went away")

    await run_or_answer_report(message, instruct_then_fail, lambda: output.escalated)
    [ticket] = tickets(database)
    texts = [data["text"] for _, data, _ in sio.emitted]
    reference = escalation_reply("emergency", ticket.id, clinic_config(), instruction_sent=True)
    assert len(texts) == 2 and texts[1] == reference.plain_text()


async def test_socketio_question_whose_turn_fails_raises_for_the_client_retry(
    database: Database,
) -> None:
    output = MesoSocketIOOutput(RecordingSio(), "bot_uttered")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError):
        await run_or_answer_report(
            socketio_message("is it safe?", output), failing_turn, lambda: output.escalated
        )
    assert tickets(database) == []
