"""Staff privacy actions on a ticket's conversation: export everything held about it as JSON (for a
patient who asks for a copy), and erase it (for a patient who asks to be forgotten).

Both act on the conversation the ticket came from, through bot/privacy. Both are audited with
the ticket id, the actor and counts, never content. Erasure needs the confirmation box ticked;
an active emergency or urgent ticket of the conversation is kept until it is resolved.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from bot.privacy.erasure import ErasureOutcome, request_erasure
from bot.privacy.export import export_conversation, item_counts
from bot.privacy.registry import PrivacyContext
from bot.storage.db import Database
from bot.storage.models import Ticket
from bot.tickets import audit
from bot.web.clinician.http import PREFIX, not_found, page, read_form, staff
from bot.web.clinician.state import inbox_state

CONVERSATION_EXPORTED = "conversation_exported"
MAX_TICKET_ID = 64
CONTEXT_KEY = web.AppKey("clinician_privacy_context", PrivacyContext)  # tests: other storage


def register(app: web.Application) -> None:
    router = app.router
    router.add_get(f"{PREFIX}/tickets/{{ticket_id}}/export", export_action)
    router.add_post(f"{PREFIX}/tickets/{{ticket_id}}/erase", erase_action)


def _context(request: web.Request) -> PrivacyContext:
    given = request.config_dict.get(CONTEXT_KEY)
    return given or PrivacyContext.default(inbox_state(request).db)


def _conversation_of(db: Database, ticket_id: str) -> str | None:
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        return ticket.conversation_id if ticket is not None else None


def _export(ctx: PrivacyContext, ticket_id: str, actor: str) -> dict[str, Any] | None:
    conversation_id = _conversation_of(ctx.db, ticket_id)
    if conversation_id is None:
        return None
    exported = export_conversation(ctx, conversation_id)
    counts = " ".join(f"{name}={n}" for name, n in sorted(item_counts(exported).items()))
    audit.record(ctx.db, actor, CONVERSATION_EXPORTED, ticket_id, counts)
    return exported


async def export_action(request: web.Request) -> web.StreamResponse:
    ticket_id = request.match_info["ticket_id"]
    if len(ticket_id) > MAX_TICKET_ID:
        return not_found(request)
    exported = await asyncio.to_thread(
        _export, _context(request), ticket_id, staff(request).username
    )
    if exported is None:
        return not_found(request)
    body = json.dumps(exported, ensure_ascii=False, indent=2, default=str)
    return web.Response(
        text=body,
        content_type="application/json",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="conversation-{ticket_id}.json"',
            "Cache-Control": "no-store",
        },
    )


def _erase(ctx: PrivacyContext, ticket_id: str, actor: str) -> ErasureOutcome | None:
    conversation_id = _conversation_of(ctx.db, ticket_id)
    if conversation_id is None:
        return None
    return request_erasure(ctx, conversation_id, actor)


async def erase_action(request: web.Request) -> web.Response:
    ticket_id = request.match_info["ticket_id"]
    if len(ticket_id) > MAX_TICKET_ID:
        return not_found(request)
    form = await read_form(request)
    if form is None or form.get("confirm") != "yes":
        return page(
            request,
            "error.html",
            400,
            title="Not erased",
            message="Nothing was erased: tick the box that confirms the patient asked for it.",
        )
    outcome = await asyncio.to_thread(_erase, _context(request), ticket_id, staff(request).username)
    if outcome is None:
        return not_found(request)
    return page(request, "privacy_erased.html", ticket_id=ticket_id, outcome=outcome)
