"""HTTP side of the clinician inbox: every URL under /clinician.

Default deny: the `_guard` middleware lets a request reach a handler without a valid staff
session only for the routes in `_PUBLIC` (sign-in page and stylesheet). Without a session, HTML
URLs answer 303 to the sign-in page and /clinician/api/ URLs answer 401 JSON. Every POST must
carry the session's CSRF token (sign-in: the double-submit cookie) and must not come from a
foreign Origin/Referer.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.tickets import audit, lifecycle, queries, states
from bot.web.app import SETTINGS_KEY
from bot.web.clinician import (
    accounts,
    admin,
    charts,
    csrf,
    handoff,
    inbox_list,
    privacy,
    review,
    totp,
)
from bot.web.clinician.http import (
    API_PREFIX,
    PREFIX,
    SESSION_COOKIE,
    STAFF_KEY,
    not_found,
    page,
    read_form,
    redirect,
    staff,
    text_field,
    ticket_url,
)
from bot.web.clinician.render import STATIC_DIR
from bot.web.clinician.sessions import new_token
from bot.web.clinician.state import inbox_state as _state
from bot.web.clinician.state import start_inbox

LOGIN_CSRF_COOKIE = "meso_staff_login"
LOGIN_PATH = f"{PREFIX}/login"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
SIGN_IN_FAILED = (
    "Sign-in failed: the username or password is wrong, or the account is paused after "
    "repeated failures. Check both and try again, or ask an administrator."
)
CODE_FAILED = (
    "That code did not work. Type the 6 digits your authenticator app shows now; each code "
    "works once. Repeated failures lock the account for a while."
)
CODE_EXPIRED = "The sign-in took too long. Please enter your username and password again."
PENDING_CODES_KEY = web.AppKey("clinician_pending_codes", totp.PendingSignIns)
MAX_TICKET_ID = 64

_PUBLIC = frozenset({"clinician.login", "clinician.static"})
_SAFE_METHODS = frozenset({"GET", "HEAD"})
_SAFE_NEXT = re.compile(r"/clinician(/[A-Za-z0-9_-]+)*")
_DONE = frozenset(t.done for t in states.TRANSITIONS.values())  # ?done= values a page confirms

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def register(app: web.Application) -> None:
    """Add the inbox's routes, guard and headers to `app`; they act only on /clinician URLs."""
    router = app.router
    inbox_list.register(app)
    router.add_get(f"{PREFIX}/", _to_inbox)
    router.add_get(f"{PREFIX}/tickets/{{ticket_id}}", ticket_page, name="clinician.ticket")
    router.add_post(f"{PREFIX}/tickets/{{ticket_id}}/acknowledge", acknowledge_action)
    router.add_post(f"{PREFIX}/tickets/{{ticket_id}}/resolve", resolve_action)
    router.add_post(f"{PREFIX}/tickets/{{ticket_id}}/reopen", reopen_action)
    router.add_get(f"{PREFIX}/audit", audit_page, name="clinician.audit")
    router.add_get(LOGIN_PATH, login_page, name="clinician.login")
    router.add_post(LOGIN_PATH, login_submit, name="clinician.login")
    router.add_post(f"{PREFIX}/logout", logout_action)
    router.add_static(f"{PREFIX}/static", STATIC_DIR, name="clinician.static")
    review.register(app)
    privacy.register(app)
    handoff.register(app)
    # Not a sub-application: with the locked aiohttp 3.9.5 + yarl 1.25, sub-app routing reads
    # request.url, which fails for any Host header with a port.
    app.middlewares.append(_guard)
    app.on_response_prepare.append(_security_headers)
    app.on_startup.append(start_inbox)
    charts.register(app)
    admin.register(app)
    app[PENDING_CODES_KEY] = totp.PendingSignIns()


def _target(request: web.Request) -> str:
    """The URL pattern the request was routed to (its path when no route matched), so the checks
    below do not depend on how the path was spelled."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else request.path


def _is_inbox(request: web.Request) -> bool:
    target = _target(request)
    return target == PREFIX or target.startswith(f"{PREFIX}/")


def _is_api(request: web.Request) -> bool:
    return _target(request).startswith(API_PREFIX)


# --- guard, headers, rendering ---------------------------------------------------------------


@web.middleware
async def _guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not _is_inbox(request):
        return await handler(request)
    unsafe = request.method not in _SAFE_METHODS
    if unsafe and not csrf.same_origin(request):
        return page(request, "error.html", 403, **_FORBIDDEN)
    if request.match_info.route.name in _PUBLIC:
        return await handler(request)
    token = request.cookies.get(SESSION_COOKIE)
    identity = await asyncio.to_thread(_state(request).sessions.resolve, token) if token else None
    if identity is None:
        response = _unauthenticated(request)
        if token is not None:
            response.del_cookie(SESSION_COOKIE, path=PREFIX)
        return response
    request[STAFF_KEY] = identity
    if unsafe:
        form = await read_form(request)
        if form is None or not csrf.tokens_match(identity.csrf_token, form.get(csrf.FIELD)):
            return page(request, "error.html", 403, **_FORBIDDEN)
    try:
        return await handler(request)
    except web.HTTPNotFound:
        if _is_api(request):
            raise
        return page(request, "error.html", 404, title="Page not found", message=None)


_FORBIDDEN = {
    "title": "Form expired",
    "message": "This form was out of date or was sent from another site, so nothing was "
    "changed. Go back, reload the page and try again.",
}


def _unauthenticated(request: web.Request) -> web.Response:
    if _is_api(request):
        return web.json_response({"error": "not signed in"}, status=401)
    target = LOGIN_PATH
    if request.method in _SAFE_METHODS and _SAFE_NEXT.fullmatch(request.path):
        target += "?" + urlencode({"next": request.path})
    return redirect(target)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    if not _is_inbox(request):
        return
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    if request.match_info.route.name != "clinician.static":
        headers["Cache-Control"] = "no-store"


def _set_cookie(request: web.Request, response: web.StreamResponse, name: str, value: str) -> None:
    path = LOGIN_PATH if name == LOGIN_CSRF_COOKIE else PREFIX
    response.set_cookie(
        name,
        value,
        path=path,
        httponly=True,
        samesite="Strict",
        secure=request.config_dict[SETTINGS_KEY].secure_cookies,
    )


async def _to_inbox(request: web.Request) -> web.Response:
    return redirect(PREFIX)


# --- sign-in and sign-out --------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token and await asyncio.to_thread(_state(request).sessions.resolve, token):
        return redirect(PREFIX)
    return _login_form(request, 200, next_url=request.query.get("next", ""))


def _login_form(
    request: web.Request, status: int, error: str = "", username: str = "", next_url: str = ""
) -> web.Response:
    # Keep an existing double-submit token so a second open tab still works.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(token) != 43:
        token = new_token()
    response = page(
        request,
        "login.html",
        status,
        login_csrf=token,
        error=error,
        username=username,
        next_url=_safe_next(next_url),
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


def _safe_next(value: str) -> str:
    """Only inbox pages are allowed as the place to go after sign-in (no open redirect)."""
    if _SAFE_NEXT.fullmatch(value) and not value.startswith(
        (LOGIN_PATH, f"{PREFIX}/logout", f"{PREFIX}/api")
    ):
        return value
    return PREFIX


async def login_submit(request: web.Request) -> web.Response:
    state = _state(request)
    form = await read_form(request)
    next_url = text_field(form, "next", 512)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE)
    if form is None or not csrf.tokens_match(cookie_token, form.get(csrf.FIELD)):
        return _login_form(
            request, 403, "The sign-in form expired. Please sign in again.", next_url=next_url
        )
    client = request.remote or "unknown"
    wait = state.throttle.retry_after(client)
    if wait is not None:
        minutes = max(1, round(wait / 60))
        response = _login_form(
            request,
            429,
            f"Too many failed sign-ins from this device. Try again in about {minutes} min.",
            next_url=next_url,
        )
        response.headers["Retry-After"] = str(int(wait))
        return response

    code_token = text_field(form, "code_token", 64)
    if code_token:
        return await _code_submit(request, code_token, text_field(form, "code", 32), next_url)
    raw_username = text_field(form, "username", 256)
    password = text_field(form, "password", accounts.MAX_PASSWORD_LENGTH + 1)
    async with state.password_checks:
        result = await asyncio.to_thread(
            accounts.authenticate, state.db, raw_username, password, state.config.lockout
        )
    if result.reason == "code_needed":
        assert result.staff_user_id is not None and result.username is not None
        pending = request.app[PENDING_CODES_KEY]
        token = pending.start(result.staff_user_id, result.username, next_url)
        return _code_form(request, 200, token)
    if not result.ok:
        delay = state.throttle.record_failure(client)
        await asyncio.to_thread(
            audit.record,
            state.db,
            result.username or "(not a valid username)",
            audit.LOGIN_FAILURE,
            None,
            f"{result.reason}; client {client}",
        )
        await asyncio.sleep(delay)
        return _login_form(
            request, 401, SIGN_IN_FAILED, username=result.username or "", next_url=next_url
        )

    return await _signed_in(request, result, next_url)


def _code_form(request: web.Request, status: int, code_token: str, error: str = "") -> web.Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(token) != 43:
        token = new_token()
    response = page(
        request, "login_code.html", status, login_csrf=token, code_token=code_token, error=error
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


async def _code_submit(
    request: web.Request, code_token: str, code: str, next_url: str
) -> web.Response:
    """The second step of a sign-in with a second factor; a wrong code counts like a wrong
    password (the device's throttle, the account's lockout, the audit trail)."""
    state = _state(request)
    pending_sign_ins = request.app[PENDING_CODES_KEY]
    pending = pending_sign_ins.get(code_token)
    if pending is None:
        return _login_form(request, 401, CODE_EXPIRED, next_url=next_url)
    result = await asyncio.to_thread(
        totp.check_code, state.db, pending.staff_user_id, code, state.config.lockout
    )
    if not result.ok:
        client = request.remote or "unknown"
        delay = state.throttle.record_failure(client)
        await asyncio.to_thread(
            audit.record,
            state.db,
            pending.username,
            audit.LOGIN_FAILURE,
            None,
            f"{result.reason}; client {client}",
        )
        await asyncio.sleep(delay)
        if result.reason != "wrong_code":  # locked or paused meanwhile: start again
            pending_sign_ins.end(code_token)
            return _login_form(request, 401, SIGN_IN_FAILED, username=pending.username)
        return _code_form(request, 401, code_token, CODE_FAILED)
    pending_sign_ins.end(code_token)
    return await _signed_in(request, result, pending.next_url, "with second factor")


async def _signed_in(
    request: web.Request, result: accounts.LoginResult, next_url: str, how: str = ""
) -> web.Response:
    state = _state(request)
    client = request.remote or "unknown"
    assert result.staff_user_id is not None and result.username is not None
    old_token = request.cookies.get(SESSION_COOKIE)
    if old_token:
        await asyncio.to_thread(state.sessions.end, old_token)
    token = await asyncio.to_thread(state.sessions.start, result.staff_user_id)
    await asyncio.to_thread(
        audit.record,
        state.db,
        result.username,
        audit.LOGIN_SUCCESS,
        None,
        f"client {client}" + (f"; {how}" if how else ""),
    )
    response = redirect(_safe_next(next_url))
    _set_cookie(request, response, SESSION_COOKIE, token)
    response.del_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


async def logout_action(request: web.Request) -> web.Response:
    state = _state(request)
    await asyncio.to_thread(state.sessions.end, request.cookies.get(SESSION_COOKIE))
    await asyncio.to_thread(audit.record, state.db, staff(request).username, audit.LOGOUT)
    response = redirect(LOGIN_PATH)
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response


# --- inbox pages -----------------------------------------------------------------------------


async def ticket_page(request: web.Request) -> web.Response:
    ticket_id = request.match_info["ticket_id"]
    if len(ticket_id) > MAX_TICKET_ID:
        return not_found(request)
    try:
        detail = await asyncio.to_thread(
            queries.view_ticket, _state(request).db, ticket_id, staff(request).username
        )
    except queries.TicketNotFound:
        return not_found(request)
    done = request.query.get("done")
    return page(
        request,
        "ticket.html",
        ticket=detail,
        done=done if done in _DONE else None,
        note_max=lifecycle.NOTE_MAX,
        handoff=await handoff.ticket_context(request, ticket_id),
    )


async def acknowledge_action(request: web.Request) -> web.Response:
    return await _transition(request, states.ACKNOWLEDGE, lifecycle.acknowledge)


async def resolve_action(request: web.Request) -> web.Response:
    note = text_field(await read_form(request), "note", lifecycle.NOTE_MAX)
    return await _transition(
        request,
        states.RESOLVE,
        lambda db, ticket_id, actor: lifecycle.resolve(db, ticket_id, actor, note),
    )


async def reopen_action(request: web.Request) -> web.Response:
    note = text_field(await read_form(request), "note", lifecycle.NOTE_MAX)
    return await _transition(
        request,
        states.REOPEN,
        lambda db, ticket_id, actor: lifecycle.reopen(db, ticket_id, actor, note),
    )


async def _transition(
    request: web.Request, action: str, change: Callable[[Any, str, str], None]
) -> web.Response:
    """Run `change` (one of bot.tickets.lifecycle's) and show the ticket, or the conflict."""
    ticket_id = request.match_info["ticket_id"]
    if len(ticket_id) > MAX_TICKET_ID:
        return not_found(request)
    try:
        await asyncio.to_thread(change, _state(request).db, ticket_id, staff(request).username)
    except queries.TicketNotFound:
        return not_found(request)
    except lifecycle.InvalidTransition as exc:
        done = states.TRANSITIONS[exc.action].done
        return page(request, "conflict.html", 409, ticket=exc.ticket, done=done)
    return redirect(ticket_url(ticket_id) + f"?done={states.TRANSITIONS[action].done}")


async def audit_page(request: web.Request) -> web.Response:
    entries = await asyncio.to_thread(audit.recent, _state(request).db)
    return page(request, "audit.html", section="audit", entries=entries)
