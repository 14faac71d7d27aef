"""Account pages. /clinician/admin (admins only; staff get a 403 page): create accounts, set a
new password, pause and unpause, change the role, reset a second factor; the last active admin
cannot be demoted or paused. /clinician/account (everyone): set up the optional TOTP second
factor. Every change goes through bot/web/clinician/accounts.py or totp.py, which audit it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from bot.tickets import audit
from bot.web.clinician import accounts, totp
from bot.web.clinician.http import PREFIX, page, read_form, redirect, staff, text_field
from bot.web.clinician.state import inbox_state

ADMIN_PATH = f"{PREFIX}/admin"
ACCOUNT_PATH = f"{PREFIX}/account"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DONE = {
    "created": "The account was created.",
    "password": "The password was changed; that person's sessions ended.",
    "role": "The role was changed.",
    "paused": "The account was paused; that person is signed out.",
    "unpaused": "The account can sign in again.",
    "second_factor": "The second factor was removed; that person can set it up again.",
    "unchanged": "Nothing needed changing.",
}


def register(app: web.Application) -> None:
    router = app.router
    router.add_get(ADMIN_PATH, _admins_only(admin_page), name="clinician.admin")
    router.add_post(f"{ADMIN_PATH}/create", _admins_only(create_action))
    for action in ("password", "role", "pause", "unpause", "second-factor"):
        router.add_post(f"{ADMIN_PATH}/users/{{username}}/{action}", _admins_only(user_action))
    router.add_get(ACCOUNT_PATH, account_page, name="clinician.account")
    router.add_post(f"{ACCOUNT_PATH}/second-factor/start", enrol_start)
    router.add_post(f"{ACCOUNT_PATH}/second-factor/confirm", enrol_confirm)


def _admins_only(handler: Handler) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        who = staff(request)
        if not who.is_admin:
            await asyncio.to_thread(
                audit.record,
                inbox_state(request).db,
                who.username,
                audit.ADMIN_PAGE_REFUSED,
                None,
                f"{request.method} {request.path}"[:200],
            )
            return page(
                request,
                "error.html",
                403,
                title="For administrators only",
                message="Only an administrator can manage accounts. Ask one if you need a "
                "change to an account.",
            )
        return await handler(request)

    return guarded


async def admin_page(
    request: web.Request, status: int = 200, error: str = "", username: str = "", role: str = ""
) -> web.Response:
    users = await asyncio.to_thread(accounts.list_staff_users, inbox_state(request).db)
    done = request.query.get("done", "")
    return page(
        request,
        "admin.html",
        status,
        section="admin",
        users=users,
        roles=accounts.ROLES,
        error=error,
        done=DONE.get(done, ""),
        new_username=username,
        new_role=role or "staff",
        min_password=accounts.MIN_PASSWORD_LENGTH,
    )


def _back(done: str) -> web.Response:
    return redirect(f"{ADMIN_PATH}?{urlencode({'done': done})}")


async def create_action(request: web.Request) -> web.Response:
    form = await read_form(request)
    username = text_field(form, "username", 128).strip().lower()
    role = text_field(form, "role", 16)
    password = text_field(form, "password", accounts.MAX_PASSWORD_LENGTH + 1)
    try:
        await asyncio.to_thread(
            accounts.create_staff_user,
            inbox_state(request).db,
            username,
            password,
            role,
            staff(request).username,
        )
    except accounts.AccountError as exc:
        return await admin_page(request, 400, str(exc), username[:64], role)
    return _back("created")


async def user_action(request: web.Request) -> web.Response:
    db = inbox_state(request).db
    actor = staff(request).username
    username = request.match_info["username"][:64]
    action = request.path.rsplit("/", 1)[1]
    form = await read_form(request)
    try:
        if action == "password":
            password = text_field(form, "password", accounts.MAX_PASSWORD_LENGTH + 1)
            await asyncio.to_thread(accounts.set_password, db, username, password, actor)
            return _back("password")
        if action == "role":
            role = text_field(form, "role", 16)
            changed = await asyncio.to_thread(accounts.set_role, db, username, role, actor)
            return _back("role" if changed else "unchanged")
        if action in ("pause", "unpause"):
            paused = action == "pause"
            changed = await asyncio.to_thread(accounts.set_paused, db, username, paused, actor)
            return _back(("paused" if paused else "unpaused") if changed else "unchanged")
        changed = await asyncio.to_thread(totp.reset, db, username, actor)
        return _back("second_factor" if changed else "unchanged")
    except accounts.AccountError as exc:
        return await admin_page(request, 409, f"{username}: {exc}")


# --- the signed-in person's own account ------------------------------------------------------


async def account_page(
    request: web.Request, status: int = 200, error: str = "", done: str = ""
) -> web.Response:
    db = inbox_state(request).db
    username = staff(request).username
    enabled = await asyncio.to_thread(totp.has_second_factor, db, username)
    enrolment = None if enabled else await asyncio.to_thread(totp.pending_enrolment, db, username)
    return page(
        request,
        "account.html",
        status,
        section="account",
        enabled=enabled,
        enrolment=enrolment,
        qr=Markup(enrolment.qr_svg()) if enrolment else None,  # segno's SVG: no script, no input
        error=error,
        done=done,
    )


async def enrol_start(request: web.Request) -> web.Response:
    try:
        db, username = inbox_state(request).db, staff(request).username
        await asyncio.to_thread(totp.start_enrolment, db, username)
    except accounts.AccountError as exc:
        return await account_page(request, 409, str(exc))
    return redirect(ACCOUNT_PATH)


async def enrol_confirm(request: web.Request) -> web.Response:
    code = text_field(await read_form(request), "code", 32)
    db = inbox_state(request).db
    try:
        ok = await asyncio.to_thread(totp.confirm_enrolment, db, staff(request).username, code)
    except accounts.AccountError as exc:
        return await account_page(request, 409, str(exc))
    if not ok:
        return await account_page(
            request,
            400,
            "That code did not match. Check the time on your phone is right and type the "
            "6 digits the app shows now.",
        )
    return await account_page(
        request, done="The second factor is on: sign-in will ask for a code from now on."
    )
