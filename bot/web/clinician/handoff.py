"""Live handoff from a ticket page: take the conversation, write to the patient, watch the
replies arrive, hand it back to the assistant.

Routes (all behind routes._guard: signed in, CSRF on every POST):
- POST /clinician/tickets/{id}/handoff/take: hold the ticket's conversation; a conversation
  another clinician holds answers 409 naming them;
- POST /clinician/tickets/{id}/handoff/send: queue a message (field `message`); only the holder;
- POST /clinician/tickets/{id}/handoff/release: hand it back to the assistant;
- GET /clinician/api/tickets/{id}/handoff/events: the thread as server-sent events
  (`line` for a new line, `status` when a line's delivery is known, `hold` when who holds the
  conversation changes), polled from the handoff table (live.stream_events).

The records and their rules are bot/handoff/store.py; sending is the Rasa server's relay.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.handoff import store
from bot.handoff.store import Hold, ThreadLine
from bot.handoff.texts import display_name
from bot.storage.db import Database
from bot.tickets import queries
from bot.web.clinician.http import (
    API_PREFIX,
    PREFIX,
    not_found,
    page,
    read_form,
    redirect,
    staff,
    text_field,
    ticket_url,
)
from bot.web.clinician.live import LiveEvent, stream_events
from bot.web.clinician.state import inbox_state
from bot.web.ui_texts import ui_texts

MAX_TICKET_ID = 64
MAX_UNFINISHED = 100  # line ids a page may ask about in one stream
SPEAKERS = {store.PATIENT: "Patient", store.ASSISTANT: "Assistant"}
DELIVERY_LABELS = {
    store.PENDING: "Waiting to be sent",
    store.SENDING: "Sending",
    store.DELIVERED: "Delivered",
    store.TEMPLATE: "Not delivered: WhatsApp's 24-hour window had closed, so the clinic's "
    "approved template was sent to ask the patient to reply",
    store.UNDELIVERED: "Not delivered",
    store.NO_RETURN_CHANNEL: "Not sent: this channel has no way back to the patient",
    store.RECEIVED: "",
}
NOTICES = {store.JOINED: "Joined the chat", store.HANDED_BACK: "Handed back to the assistant"}
CHANNEL_NAMES = {"socketio": "website chat", "whatsapp": "WhatsApp", "kiosk": "waiting-room kiosk"}


def register(app: web.Application) -> None:
    base = f"{PREFIX}/tickets/{{ticket_id}}/handoff"
    app.router.add_post(f"{base}/take", take_action, name="clinician.handoff.take")
    app.router.add_post(f"{base}/send", send_action, name="clinician.handoff.send")
    app.router.add_post(f"{base}/release", release_action, name="clinician.handoff.release")
    app.router.add_get(
        f"{API_PREFIX}tickets/{{ticket_id}}/handoff/events",
        events_stream,
        name="clinician.api.handoff.events",
    )


@dataclass(frozen=True)
class Conversation:
    """The conversation behind a ticket."""

    ticket_id: str
    conversation_id: str
    channel: str


def _conversation(db: Database, ticket_id: str) -> Conversation:
    with db.session() as session:
        ticket = queries.get_ticket(session, ticket_id)
        return Conversation(ticket.id, ticket.conversation_id, ticket.channel)


async def _find(request: web.Request) -> Conversation | None:
    ticket_id = request.match_info["ticket_id"]
    if len(ticket_id) > MAX_TICKET_ID:
        return None
    try:
        return await asyncio.to_thread(_conversation, inbox_state(request).db, ticket_id)
    except queries.TicketNotFound:
        return None


def line_view(line: ThreadLine) -> dict[str, Any]:
    """A thread line as the page shows it (the template and the live stream use this one)."""
    if line.sender == store.CLINICIAN:
        speaker = display_name(line.author)
    else:
        speaker = SPEAKERS.get(line.sender, line.sender)
    status = DELIVERY_LABELS.get(line.delivery, line.delivery)
    if line.delivery == store.UNDELIVERED and line.detail:
        status = f"{status}: {line.detail}"
    return {
        "id": line.id,
        "at": line.at.isoformat(),
        "time": line.at.astimezone().strftime("%H:%M:%S"),
        "sender": line.sender,
        "speaker": speaker,
        "notice": NOTICES.get(line.kind, ""),
        "text": line.text,  # a notice has its words once they are sent
        "delivery": line.delivery,
        "status": status,
        "final": line.delivery in store.FINAL_STATES,
    }


def hold_view(hold: Hold | None, me: str) -> dict[str, Any]:
    if hold is None:
        return {
            "held": False,
            "mine": False,
            "text": "Nobody holds this conversation: the assistant answers the patient.",
        }
    mine = hold.clinician == me
    since = hold.started_at.astimezone().strftime("%H:%M")
    who = "You hold" if mine else f"{hold.clinician} holds"
    return {
        "held": True,
        "mine": mine,
        "clinician": hold.clinician,
        "text": f"{who} this conversation since {since}: the assistant answers no questions "
        "in it, but every message is still checked for symptoms and an emergency still gets "
        "the emergency instruction at once.",
    }


async def ticket_context(request: web.Request, ticket_id: str) -> dict[str, Any]:
    """What ticket.html's handoff panel needs (routes.ticket_page passes it as `handoff`)."""
    db = inbox_state(request).db
    me = staff(request).username

    def load() -> dict[str, Any]:
        conversation = _conversation(db, ticket_id)
        hold = store.holder(db, conversation.conversation_id)
        lines = store.thread(db, conversation.conversation_id)
        return {
            "channel": conversation.channel,
            "channel_name": CHANNEL_NAMES.get(conversation.channel, conversation.channel),
            "can_write_back": store.can_write_back(conversation.channel),
            "kiosk": conversation.channel == "kiosk",
            "front_desk": ui_texts().texts[ui_texts().default]["kiosk_alert"],
            "hold": hold_view(hold, me),
            "lines": [line_view(line) for line in lines],
            "cursor": lines[-1].id if lines else 0,
            "unfinished": ",".join(
                str(line.id) for line in lines if line.delivery not in store.FINAL_STATES
            ),
            "message_max": store.MESSAGE_MAX,
            "events_url": f"{API_PREFIX}tickets/{ticket_id}/handoff/events",
        }

    return await asyncio.to_thread(load)


def _back(conversation: Conversation) -> web.Response:
    return redirect(ticket_url(conversation.ticket_id) + "#handoff")


def _conflict(
    request: web.Request, conversation: Conversation, hold: Hold | None, draft: str = ""
) -> web.Response:
    """409: the conversation is someone else's (or, for a message, nobody's any more). A
    message that was not sent is shown again, so nothing typed is lost."""
    unsent = "your message was not sent" if draft else "nothing was changed"
    if hold is None:
        message = (
            f"Nobody holds this conversation now (it was handed back to the assistant), so "
            f"{unsent}. Take the conversation first."
        )
    else:
        since = hold.started_at.astimezone().strftime("%H:%M")
        message = (
            f"{hold.clinician} holds this conversation (since {since}), so {unsent}. "
            f"Ask {hold.clinician} to hand it back, or wait until they do."
        )
    return page(
        request,
        "handoff_conflict.html",
        409,
        message=message,
        ticket_id=conversation.ticket_id,
        draft=draft,
    )


async def take_action(request: web.Request) -> web.Response:
    conversation = await _find(request)
    if conversation is None:
        return not_found(request)
    if not store.can_write_back(conversation.channel):
        return _back(conversation)  # the page explains; nothing to hold
    try:
        await asyncio.to_thread(
            store.take,
            inbox_state(request).db,
            conversation.conversation_id,
            conversation.ticket_id,
            conversation.channel,
            staff(request).username,
        )
    except store.AlreadyHeld as held:
        return _conflict(request, conversation, held.holder)
    return _back(conversation)


async def send_action(request: web.Request) -> web.Response:
    conversation = await _find(request)
    if conversation is None:
        return not_found(request)
    text = text_field(await read_form(request), "message", store.MESSAGE_MAX + 1)
    if not text.strip():
        return _back(conversation)
    try:
        await asyncio.to_thread(
            store.send,
            inbox_state(request).db,
            conversation.conversation_id,
            staff(request).username,
            text,
        )
    except store.NotHeld as refused:
        return _conflict(request, conversation, refused.holder, draft=text)
    return _back(conversation)


async def release_action(request: web.Request) -> web.Response:
    conversation = await _find(request)
    if conversation is None:
        return not_found(request)
    with contextlib.suppress(store.NotHeld):  # already handed back: the page shows so
        await asyncio.to_thread(
            store.hand_back,
            inbox_state(request).db,
            conversation.conversation_id,
            staff(request).username,
        )
    return _back(conversation)


async def events_stream(request: web.Request) -> web.StreamResponse:
    conversation = await _find(request)
    if conversation is None:
        raise web.HTTPNotFound()
    db = inbox_state(request).db
    me = staff(request).username
    conversation_id = conversation.conversation_id
    unfinished: set[int] = set()
    state: dict[str, Any] = {"hold": None}
    query = request.query
    start = int(query["after"]) if query.get("after", "").isdigit() else 0
    # The lines the page showed as not yet sent: their outcome is sent however soon it came.
    unfinished.update(
        int(part)
        for part in query.get("unfinished", "").split(",")[:MAX_UNFINISHED]
        if part.isdigit()
    )

    def read(cursor: str | None) -> tuple[list[LiveEvent], str | None]:
        after = int(cursor) if cursor and cursor.isdigit() else start
        events: list[LiveEvent] = []
        new = store.thread(db, conversation_id, after)
        for line in store.lines(db, sorted(unfinished)):
            if line.delivery in store.FINAL_STATES:
                unfinished.discard(line.id)
                events.append(LiveEvent("status", line_view(line)))
        for line in new:
            events.append(LiveEvent("line", line_view(line)))
            if line.delivery not in store.FINAL_STATES:
                unfinished.add(line.id)
        hold = hold_view(store.holder(db, conversation_id), me)
        if hold != state["hold"]:
            if state["hold"] is not None:
                events.append(LiveEvent("hold", hold))
            state["hold"] = hold
        return events, str(new[-1].id if new else after)

    async def poll(cursor: str | None) -> tuple[list[LiveEvent], str | None]:
        return await asyncio.to_thread(read, cursor)

    return await stream_events(request, poll)
