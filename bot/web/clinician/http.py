"""What every inbox handler shares: the signed-in staff member, pages, redirects and form fields.

Handlers of every inbox module (tickets, handoff, review, charts, accounts) use these, so a page
looks and behaves the same whichever room serves it. `routes._guard` has already checked the
session and the CSRF token before a handler runs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from aiohttp import web
from multidict import MultiDictProxy

from bot.web.clinician.clock import utcnow
from bot.web.clinician.sessions import StaffIdentity
from bot.web.clinician.state import inbox_state

PREFIX = "/clinician"
API_PREFIX = f"{PREFIX}/api/"
STAFF_KEY = "clinician.staff"
SESSION_COOKIE = "meso_staff"


def staff(request: web.Request) -> StaffIdentity:
    return request[STAFF_KEY]


def session_token(request: web.Request) -> str | None:
    """The staff session cookie's token as the browser sent it."""
    return request.cookies.get(SESSION_COOKIE)


def page(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    staff: StaffIdentity | None = request.get(STAFF_KEY)
    context.setdefault("section", "")
    body = inbox_state(request).templates.render(
        template,
        staff=staff,
        csrf_token=staff.csrf_token if staff else "",
        prefix=PREFIX,
        ticket_url=ticket_url,
        now=utcnow(),
        **context,
    )
    return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")


def redirect(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


async def read_form(request: web.Request) -> MultiDictProxy[Any] | None:
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError):
        return None


def text_field(form: MultiDictProxy[Any] | None, name: str, limit: int) -> str:
    value = form.get(name) if form is not None else None
    return value[:limit] if isinstance(value, str) else ""


def ticket_url(ticket_id: str, action: str = "") -> str:
    path = f"{PREFIX}/tickets/{quote(ticket_id, safe='')}"
    return f"{path}/{action}" if action else path


def not_found(request: web.Request) -> web.Response:
    return page(
        request,
        "error.html",
        404,
        title="Ticket not found",
        message="There is no ticket with this number. It may have been mistyped.",
    )
