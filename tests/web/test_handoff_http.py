"""The handoff panel of a ticket over HTTP: a real aiohttp server on 127.0.0.1, real SQLite and
PostgreSQL. Taking, writing, handing back, the second clinician, the kiosk, the live stream."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.handoff import store
from bot.storage.db import Database
from bot.web.clinician.accounts import create_staff_user
from bot.web.settings import WebSettings
from tests.web.test_clinician import (
    FAST,
    OTHER_USER,
    PASSWORD,
    USER,
    add_ticket,
    audit_rows,
    build_app,
    hidden_csrf,
    login,
)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    create_staff_user(database, USER, PASSWORD)
    create_staff_user(database, OTHER_USER, PASSWORD)
    yield database
    database.dispose()


async def _signed_in(db: Database, user: str) -> TestClient:
    client = TestClient(TestServer(build_app(db, FAST, WebSettings())))
    await client.start_server()
    assert (await login(client, user, PASSWORD)).status == 303
    return client


@pytest.fixture
async def nurse(db: Database) -> AsyncIterator[TestClient]:
    client = await _signed_in(db, USER)
    yield client
    await client.close()


@pytest.fixture
async def doctor(db: Database) -> AsyncIterator[TestClient]:
    client = await _signed_in(db, OTHER_USER)
    yield client
    await client.close()


def _conversation(db: Database, ticket_id: str) -> str:
    from bot.storage.models import Ticket

    with db.session() as session:
        return session.get(Ticket, ticket_id).conversation_id


async def _post(client: TestClient, ticket_id: str, action: str, **fields: str):
    page = await client.get(f"/clinician/tickets/{ticket_id}")
    token = hidden_csrf(await page.text())
    return await client.post(
        f"/clinician/tickets/{ticket_id}/handoff/{action}",
        data={"csrf_token": token, **fields},
        allow_redirects=False,
    )


async def test_take_write_and_hand_back(nurse: TestClient, db: Database) -> None:
    ticket_id = add_ticket(db, "urgent", 3, channel="socketio")
    html = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    assert "Nobody holds this conversation" in html and "Take the conversation" in html
    assert "Send to the patient" not in html

    taken = await _post(nurse, ticket_id, "take")
    assert taken.status == 303
    assert taken.headers["Location"] == f"/clinician/tickets/{ticket_id}#handoff"
    html = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    assert "You hold this conversation" in html
    assert "Joined the chat" in html and "Waiting to be sent" in html
    assert "Message to the patient (website chat)" in html

    hostile = "<script>alert('x')</script> <b>bold</b>"
    sent = await _post(nurse, ticket_id, "send", message=hostile)
    assert sent.status == 303
    html = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert" not in html

    empty = await _post(nurse, ticket_id, "send", message="   ")
    assert empty.status == 303
    assert len(store.thread(db, _conversation(db, ticket_id))) == 2  # nothing queued

    back = await _post(nurse, ticket_id, "release")
    assert back.status == 303
    html = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    assert "Nobody holds this conversation" in html and "Handed back to the assistant" in html
    assert [row.actor for row in audit_rows(db, "handoff_taken")] == [USER]
    assert [row.actor for row in audit_rows(db, "handoff_message")] == [USER]
    assert [row.actor for row in audit_rows(db, "handoff_returned")] == [USER]
    activity = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    assert "handoff taken" in activity and "handoff returned" in activity


async def test_the_second_clinician_is_told_who_holds_it(
    nurse: TestClient, doctor: TestClient, db: Database
) -> None:
    ticket_id = add_ticket(db, "emergency", 1, channel="whatsapp")
    assert (await _post(nurse, ticket_id, "take")).status == 303
    html = await (await doctor.get(f"/clinician/tickets/{ticket_id}")).text()
    assert f"{USER} holds this conversation" in html
    assert "Take the conversation" not in html and "Send to the patient" not in html

    refused = await _post(doctor, ticket_id, "take")
    assert refused.status == 409
    text = await refused.text()
    assert f"{USER} holds this conversation" in text and "nothing was changed" in text

    draft = "I can call you <now>"
    refused = await _post(doctor, ticket_id, "send", message=draft)
    assert refused.status == 409
    text = await refused.text()
    assert "your message was not sent" in text
    assert "I can call you &lt;now&gt;" in text  # the draft survives, as text
    lines = store.thread(db, _conversation(db, ticket_id))
    assert [line.kind for line in lines] == [store.JOINED]
    assert store.holder(db, _conversation(db, ticket_id)).clinician == USER


async def test_kiosk_ticket_shows_the_front_desk_instead_of_a_reply_form(
    nurse: TestClient, db: Database
) -> None:
    ticket_id = add_ticket(db, "urgent", 2, channel="kiosk")
    html = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    assert "The kiosk has no return channel" in html
    assert "Please speak to the front desk now." in html  # what the kiosk told the patient
    assert "Take the conversation" not in html and "Send to the patient" not in html
    assert (await _post(nurse, ticket_id, "take")).status == 303
    assert store.holder(db, _conversation(db, ticket_id)) is None


async def test_unknown_ticket_and_no_session(nurse: TestClient, db: Database) -> None:
    page = await nurse.get("/clinician")
    token = hidden_csrf(await page.text())
    missing = await nurse.post(
        "/clinician/tickets/nope/handoff/take", data={"csrf_token": token}, allow_redirects=False
    )
    assert missing.status == 404
    nurse.session.cookie_jar.clear()
    ticket_id = add_ticket(db, "urgent", 2, channel="socketio")
    stream = await nurse.get(f"/clinician/api/tickets/{ticket_id}/handoff/events")
    assert stream.status == 401


async def _next_event(response, name: str, timeout: float = 10.0) -> dict:
    """The data of the next server-sent event called `name`."""

    async def read() -> dict:
        event = None
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == name:
                return json.loads(line.removeprefix("data: "))

    return await asyncio.wait_for(read(), timeout)


async def test_the_thread_streams_new_lines_and_delivery_results(
    nurse: TestClient, db: Database
) -> None:
    ticket_id = add_ticket(db, "urgent", 2, channel="socketio")
    conversation = _conversation(db, ticket_id)
    await _post(nurse, ticket_id, "take")
    [joined] = store.thread(db, conversation)
    html = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    assert f'data-unfinished="{joined.id}"' in html  # the page asks how it went
    response = await nurse.get(
        f"/clinician/api/tickets/{ticket_id}/handoff/events"
        f"?after={joined.id}&unfinished={joined.id},x,"
    )
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")

    store.record_received(db, conversation, store.PATIENT, ["it <b>burns</b>"])
    line = await _next_event(response, "line")
    assert (line["speaker"], line["text"], line["sender"]) == (
        "Patient",
        "it <b>burns</b>",
        "patient",
    )

    [claimed] = store.claim_pending(db)
    store.finish(db, claimed.id, store.UNDELIVERED, "the patient has left the chat")
    status = await _next_event(response, "status")
    assert status["id"] == joined.id
    assert status["status"] == "Not delivered: the patient has left the chat"

    store.hand_back(db, conversation, OTHER_USER)
    hold = await _next_event(response, "hold")
    assert hold["held"] is False
    response.close()


async def test_a_line_sent_before_the_stream_opened_still_gets_its_outcome(
    nurse: TestClient, db: Database
) -> None:
    ticket_id = add_ticket(db, "urgent", 2, channel="socketio")
    await _post(nurse, ticket_id, "take")
    html = await (await nurse.get(f"/clinician/tickets/{ticket_id}")).text()
    [joined] = store.thread(db, _conversation(db, ticket_id))
    assert "Waiting to be sent" in html
    # Delivered between the page and its stream (the relay is quick): the page must learn it.
    [claimed] = store.claim_pending(db)
    store.finish(db, claimed.id, store.DELIVERED, text="Nurse Amy has joined", lang="en")
    response = await nurse.get(
        f"/clinician/api/tickets/{ticket_id}/handoff/events?after={joined.id}&unfinished={joined.id}"
    )
    status = await _next_event(response, "status")
    assert (status["id"], status["status"], status["text"]) == (
        joined.id,
        "Delivered",
        "Nurse Amy has joined",
    )
    response.close()
