"""Staff export and erasure from the ticket page: a real aiohttp server, real storage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.privacy.registry import PrivacyContext
from bot.web.clinician.accounts import create_staff_user
from bot.web.clinician.privacy import CONTEXT_KEY, CONVERSATION_EXPORTED
from bot.web.settings import WebSettings
from tests.web.test_clinician import FAST, PASSWORD, USER, audit_rows, build_app, login, page_csrf

from .helpers import SECRET, WHEN, files_containing, make_context, populate, tables_containing


@pytest.fixture
def ctx(database_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    context = make_context(database_url, tmp_path / "var")
    create_staff_user(context.db, USER, PASSWORD)
    yield context
    context.db.dispose()


@pytest.fixture
async def staff(ctx: PrivacyContext) -> AsyncIterator[TestClient]:
    app = build_app(ctx.db, FAST, WebSettings())
    app[CONTEXT_KEY] = ctx
    client = TestClient(TestServer(app))
    await client.start_server()
    assert (await login(client, USER, PASSWORD)).status == 303
    yield client
    await client.close()


async def test_export_holds_messages_tickets_and_the_callback_number(staff, ctx) -> None:  # type: ignore[no-untyped-def]
    ticket_id = await asyncio.to_thread(populate, ctx, "wa:patient", SECRET, WHEN)
    page = await (await staff.get(f"/clinician/tickets/{ticket_id}")).text()
    assert f"/clinician/tickets/{ticket_id}/export" in page

    response = await staff.get(f"/clinician/tickets/{ticket_id}/export")

    assert response.status == 200 and response.content_type == "application/json"
    assert "attachment" in response.headers["Content-Disposition"]
    exported = json.loads(await response.text())
    places = exported["places"]
    assert exported["conversation_id"] == "wa:patient"
    messages = places["tracker_events"]["items"]
    assert [m["from"] for m in messages] == ["patient", "assistant", "patient", "assistant"]
    assert messages[2]["text"] == SECRET
    (ticket,) = places["tickets"]["items"]
    assert ticket["ticket"] == ticket_id and ticket["message"] == SECRET
    assert ticket["callback_number"] == "+919876543210" and ticket["severity"] == "urgent"
    assert places["spool"]["items"][0]["report"]["text"] == SECRET
    assert places["whatsapp_journal"]["items"][0]["text"] == SECRET
    (row,) = audit_rows(ctx.db, CONVERSATION_EXPORTED)
    assert row.actor == USER and row.ticket_id == ticket_id and "tracker_events=4" in row.detail
    assert SECRET not in row.detail


async def test_erasure_needs_the_confirmation_box(staff, ctx, database_url: str) -> None:  # type: ignore[no-untyped-def]
    ticket_id = await asyncio.to_thread(populate, ctx, "wa:patient", SECRET, WHEN)
    token = await page_csrf(staff, f"/clinician/tickets/{ticket_id}")
    response = await staff.post(f"/clinician/tickets/{ticket_id}/erase", data={"csrf_token": token})
    assert response.status == 400 and "Nothing was erased" in await response.text()
    assert "tickets" in tables_containing(database_url, SECRET)


async def test_staff_erase_a_conversation_from_the_ticket_page(
    staff, ctx, database_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    ticket_id = await asyncio.to_thread(populate, ctx, "wa:patient", SECRET, WHEN)
    token = await page_csrf(staff, f"/clinician/tickets/{ticket_id}")

    response = await staff.post(
        f"/clinician/tickets/{ticket_id}/erase", data={"csrf_token": token, "confirm": "yes"}
    )

    html = await response.text()
    assert response.status == 200 and "Conversation erased" in html
    assert "tracker events" in html
    assert tables_containing(database_url, SECRET) == []
    assert tables_containing(ctx.tracker_url, SECRET) == []
    assert files_containing(tmp_path / "var", SECRET) == []
    # The ticket page still opens: the record without the patient's words.
    page = await (await staff.get(f"/clinician/tickets/{ticket_id}")).text()
    assert SECRET not in page and "resolved" in page.lower()
    requested = audit_rows(ctx.db, "erasure_requested")
    assert [row.actor for row in requested] == [USER]


async def test_unknown_tickets_and_signed_out_requests_are_refused(staff, ctx) -> None:  # type: ignore[no-untyped-def]
    assert (await staff.get("/clinician/tickets/nope/export")).status == 404
    assert (await staff.get("/clinician/tickets/" + "x" * 80 + "/export")).status == 404
    token = await page_csrf(staff)
    response = await staff.post(
        "/clinician/tickets/nope/erase", data={"csrf_token": token, "confirm": "yes"}
    )
    assert response.status == 404
    forged = await staff.post(
        "/clinician/tickets/nope/erase",
        data={"csrf_token": "forged", "confirm": "yes"},
        allow_redirects=False,
    )
    assert forged.status in (400, 403)
