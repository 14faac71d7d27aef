"""Clinician inbox over HTTP: a real aiohttp server on 127.0.0.1 and a real SQLite file."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select, update

from bot.storage.db import Database
from bot.storage.models import AuditEntry, StaffSession, StaffUser, Ticket, utcnow
from bot.web.app import SETTINGS_KEY, create_app
from bot.web.clinician.accounts import LockoutPolicy, create_staff_user
from bot.web.clinician.clock import as_utc
from bot.web.clinician.routes import register
from bot.web.clinician.state import CONFIG_KEY, DATABASE_KEY, InboxConfig
from bot.web.clinician.throttle import ThrottlePolicy
from bot.web.settings import WebSettings
from tests.support.clinician_browser import PASSWORD, USER

OTHER_USER = "dr.bose"

# No artificial delays, and an IP limit high enough that only the throttle test reaches it.
FAST = InboxConfig(
    lockout=LockoutPolicy(max_failures=5, lock_for=timedelta(minutes=15)),
    throttle=ThrottlePolicy(max_failures=50, free_failures=50),
)


def build_app(db: Database, config: InboxConfig, settings: WebSettings) -> web.Application:
    """The project's app once bot/web/pages.py exists; until then the inbox alone."""
    if importlib.util.find_spec("bot.web.pages") is not None:
        app = create_app(settings)
    else:
        app = web.Application()
        app[SETTINGS_KEY] = settings
        register(app)
    app[DATABASE_KEY] = db
    app[CONFIG_KEY] = config
    return app


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    create_staff_user(database, USER, PASSWORD)
    yield database
    database.dispose()


async def _client(
    db: Database, config: InboxConfig = FAST, settings: WebSettings | None = None
) -> TestClient:
    client = TestClient(TestServer(build_app(db, config, settings or WebSettings())))
    await client.start_server()
    return client


@pytest.fixture
async def client(db: Database) -> AsyncIterator[TestClient]:
    client = await _client(db)
    yield client
    await client.close()


@pytest.fixture
async def staff(client: TestClient) -> TestClient:
    """`client`, signed in as USER."""
    response = await login(client, USER, PASSWORD)
    assert response.status == 303
    return client


def add_ticket(
    db: Database,
    severity: str,
    minutes_ago: int,
    status: str = "open",
    trigger: str = "my lips are swelling",
    **fields: object,
) -> str:
    with db.session() as session:
        ticket = Ticket(
            channel=fields.pop("channel", "widget"),
            conversation_id=f"conv-{severity}-{minutes_ago}-{status}",
            message_id="m1",
            severity=severity,
            symptoms=fields.pop("symptoms", ["swelling"]),
            trigger_text=trigger,
            transcript=fields.pop("transcript", []),
            status=status,
            created_at=utcnow() - timedelta(minutes=minutes_ago),
            **fields,
        )
        session.add(ticket)
        session.flush()
        return ticket.id


def hidden_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def login(client: TestClient, username: str, password: str, next_url: str = ""):
    form_page = await client.get("/clinician/login")
    token = hidden_csrf(await form_page.text())
    return await client.post(
        "/clinician/login",
        data={"csrf_token": token, "username": username, "password": password, "next": next_url},
        allow_redirects=False,
    )


async def page_csrf(client: TestClient, path: str = "/clinician") -> str:
    response = await client.get(path)
    assert response.status == 200
    return hidden_csrf(await response.text())


def audit_rows(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as session:
        return list(
            session.execute(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            ).scalars()
        )


def ticket_row(db: Database, ticket_id: str) -> Ticket:
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket


# --- no session, no data ---------------------------------------------------------------------


async def test_every_inbox_url_refuses_requests_without_a_session(
    client: TestClient, db: Database
) -> None:
    secret = "SECRET-SYMPTOM-TEXT"
    ticket_id = add_ticket(db, "urgent", 5, trigger=secret)
    html_urls = [
        "/clinician",
        "/clinician/",
        "/clinician/resolved",
        f"/clinician/tickets/{ticket_id}",
        "/clinician/tickets/does-not-exist",
        "/clinician/audit",
        "/clinician/no-such-page",
    ]
    for cookie in (None, "A" * 43):  # no cookie, then a well-formed but unknown token
        client.session.cookie_jar.clear()
        if cookie:
            client.session.cookie_jar.update_cookies({"meso_staff": cookie})
        for url in html_urls:
            response = await client.get(url, allow_redirects=False)
            assert response.status == 303, url
            assert response.headers["Location"].startswith("/clinician/login"), url
            assert secret not in await response.text()
        api = await client.get("/clinician/api/tickets", allow_redirects=False)
        assert api.status == 401
        assert await api.json() == {"error": "not signed in"}
        for url in (
            f"/clinician/tickets/{ticket_id}/acknowledge",
            f"/clinician/tickets/{ticket_id}/resolve",
            f"/clinician/tickets/{ticket_id}/reopen",
            "/clinician/logout",
        ):
            response = await client.post(url, data={"csrf_token": "x"}, allow_redirects=False)
            assert response.status == 303, url
            assert response.headers["Location"].startswith("/clinician/login")
    assert ticket_row(db, ticket_id).status == "open"
    assert audit_rows(db, "ticket_view") == []
    outside = await client.get("/not-the-inbox", allow_redirects=False)
    assert outside.status == 404  # the guard leaves other rooms' URLs alone
    assert "X-Frame-Options" not in outside.headers


async def test_login_page_and_stylesheet_are_public(client: TestClient) -> None:
    page = await client.get("/clinician/login")
    assert page.status == 200
    assert '<label for="username">' in await page.text()
    css = await client.get("/clinician/static/clinician.css")
    assert css.status == 200
    assert ".badge" in await css.text()


async def test_unauthenticated_page_sends_back_after_login(client: TestClient, db: Database):
    ticket_id = add_ticket(db, "routine", 3)
    first = await client.get(f"/clinician/tickets/{ticket_id}", allow_redirects=False)
    assert (
        first.headers["Location"] == f"/clinician/login?next=%2Fclinician%2Ftickets%2F{ticket_id}"
    )
    response = await login(client, USER, PASSWORD, next_url=f"/clinician/tickets/{ticket_id}")
    assert response.headers["Location"] == f"/clinician/tickets/{ticket_id}"


@pytest.mark.parametrize(
    "next_url",
    [
        "//evil.example/x",
        "https://evil.example",
        "/elsewhere",
        "/clinician/../kiosk",
        "/clinician/api/tickets",
    ],
)
async def test_login_never_redirects_off_the_inbox(client: TestClient, next_url: str) -> None:
    response = await login(client, USER, PASSWORD, next_url=next_url)
    assert response.status == 303
    assert response.headers["Location"] == "/clinician"


# --- sign-in ---------------------------------------------------------------------------------


async def test_login_sets_a_strict_httponly_session_cookie_and_stores_only_its_hash(
    client: TestClient, db: Database
) -> None:
    response = await login(client, USER, PASSWORD)
    assert response.status == 303
    assert response.headers["Location"] == "/clinician"
    cookie = next(c for c in response.headers.getall("Set-Cookie") if c.startswith("meso_staff="))
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "path=/clinician" in attributes
    assert "secure" not in attributes
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) == 43
    with db.session() as session:
        stored = session.execute(select(StaffSession.token_hash)).scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    inbox = await client.get("/clinician")
    assert inbox.status == 200
    assert "Signed in as <strong>nurse.amy</strong>" in await inbox.text()
    [entry] = audit_rows(db, "login_success")
    assert entry.actor == USER


async def test_session_cookie_is_secure_when_configured(db: Database) -> None:
    client = await _client(db, settings=WebSettings(secure_cookies=True))
    try:
        form_page = await client.get("/clinician/login")
        login_cookie = form_page.headers["Set-Cookie"]
        assert "secure" in [part.strip().lower() for part in login_cookie.split(";")]
        token = hidden_csrf(await form_page.text())
        # The client keeps Secure cookies off plain HTTP; send it by hand as a browser on HTTPS.
        response = await client.post(
            "/clinician/login",
            data={"csrf_token": token, "username": USER, "password": PASSWORD},
            headers={"Cookie": f"meso_staff_login={token}"},
            allow_redirects=False,
        )
        assert response.status == 303
        cookie = next(
            c for c in response.headers.getall("Set-Cookie") if c.startswith("meso_staff=")
        )
        assert "secure" in [part.strip().lower() for part in cookie.split(";")]
    finally:
        await client.close()


async def test_failed_login_answers_the_same_for_unknown_user_and_wrong_password(
    client: TestClient, db: Database
) -> None:
    wrong = await login(client, USER, "not the password!!")
    unknown = await login(client, "nobody.here", "not the password!!")
    for response in (wrong, unknown):
        assert response.status == 401
        assert "meso_staff=" not in "".join(response.headers.getall("Set-Cookie", []))
    assert _alert(await wrong.text()) == _alert(await unknown.text())
    failures = audit_rows(db, "login_failure")
    assert [(f.actor, f.detail.split(";")[0]) for f in failures] == [
        (USER, "wrong_password"),
        ("nobody.here", "unknown_user"),
    ]
    assert all("not the password" not in (f.detail or "") for f in failures)
    with db.session() as session:
        assert session.execute(select(StaffSession)).first() is None


def _alert(html: str) -> str:
    match = re.search(r'<p class="alert" role="alert"[^>]*>(.*?)</p>', html, re.S)
    assert match
    return match.group(1)


async def test_login_is_case_and_space_tolerant_for_the_username(client: TestClient) -> None:
    response = await login(client, "  Nurse.Amy ", PASSWORD)
    assert response.status == 303


async def test_account_locks_after_five_failures_and_refuses_the_right_password(
    client: TestClient, db: Database
) -> None:
    for _ in range(5):
        assert (await login(client, USER, "wrong password 123")).status == 401
    with db.session() as session:
        user = session.execute(select(StaffUser).filter_by(username=USER)).scalar_one()
        locked_until = as_utc(user.locked_until)
    assert timedelta(minutes=14) < locked_until - utcnow() <= timedelta(minutes=15)

    refused = await login(client, USER, PASSWORD)
    assert refused.status == 401
    assert audit_rows(db, "login_failure")[-1].detail.startswith("locked")

    with db.session() as session:
        session.execute(update(StaffUser).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert (await login(client, USER, PASSWORD)).status == 303
    with db.session() as session:
        user = session.execute(select(StaffUser).filter_by(username=USER)).scalar_one()
        assert (user.failed_logins, user.locked_until) == (0, None)


async def test_a_client_with_many_failures_is_throttled_even_for_unknown_usernames(
    db: Database,
) -> None:
    config = replace(
        FAST,
        throttle=ThrottlePolicy(
            max_failures=3, free_failures=1, first_delay_seconds=0.2, max_delay_seconds=0.2
        ),
    )
    client = await _client(db, config)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for name in ("ghost.one", "ghost.two", "ghost.three"):
            assert (await login(client, name, "whatever password")).status == 401
        assert loop.time() - started >= 0.4  # failures after the first free one were slowed
        throttled = await login(client, USER, PASSWORD)
        assert throttled.status == 429
        assert int(throttled.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins" in await throttled.text()
        assert "meso_staff=" not in "".join(throttled.headers.getall("Set-Cookie", []))
    finally:
        await client.close()


async def test_login_without_a_matching_form_token_is_refused(
    client: TestClient, db: Database
) -> None:
    await client.get("/clinician/login")  # sets the double-submit cookie
    for data in (
        {"username": USER, "password": PASSWORD},
        {"username": USER, "password": PASSWORD, "csrf_token": "B" * 43},
    ):
        response = await client.post("/clinician/login", data=data, allow_redirects=False)
        assert response.status == 403
    client.session.cookie_jar.clear()  # a forged form with a token but no cookie
    response = await client.post(
        "/clinician/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": "B" * 43},
        allow_redirects=False,
    )
    assert response.status == 403
    assert audit_rows(db, "login_success") == []


async def test_logout_ends_the_session(staff: TestClient, db: Database) -> None:
    token = await page_csrf(staff)
    response = await staff.post(
        "/clinician/logout", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/clinician/login"
    with db.session() as session:
        assert session.execute(select(StaffSession)).first() is None
    after = await staff.get("/clinician", allow_redirects=False)
    assert after.status == 303
    assert [e.actor for e in audit_rows(db, "logout")] == [USER]


async def test_expired_session_is_refused(staff: TestClient, db: Database) -> None:
    with db.session() as session:
        session.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    response = await staff.get("/clinician", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/clinician/login?next=%2Fclinician"


# --- CSRF and headers ------------------------------------------------------------------------


async def test_post_without_the_session_csrf_token_is_refused(
    staff: TestClient, db: Database
) -> None:
    ticket_id = add_ticket(db, "urgent", 10)
    url = f"/clinician/tickets/{ticket_id}/acknowledge"
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "C" * 43}):
        response = await staff.post(url, data=data, allow_redirects=False)
        assert response.status == 403
        assert "nothing was changed" in await response.text()
    assert ticket_row(db, ticket_id).status == "open"


async def test_post_from_another_origin_is_refused_even_with_the_token(
    staff: TestClient, db: Database
) -> None:
    ticket_id = add_ticket(db, "urgent", 10)
    token = await page_csrf(staff)
    url = f"/clinician/tickets/{ticket_id}/acknowledge"
    for headers in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/page"}):
        response = await staff.post(
            url, data={"csrf_token": token}, headers=headers, allow_redirects=False
        )
        assert response.status == 403
    assert ticket_row(db, ticket_id).status == "open"
    # What a browser sends under Referrer-Policy: no-referrer.
    response = await staff.post(
        url, data={"csrf_token": token}, headers={"Origin": "null"}, allow_redirects=False
    )
    assert response.status == 303
    assert ticket_row(db, ticket_id).status == "acknowledged"


async def test_pages_carry_security_headers(staff: TestClient, db: Database) -> None:
    ticket_id = add_ticket(db, "routine", 1)
    for url in ("/clinician", f"/clinician/tickets/{ticket_id}", "/clinician/login"):
        response = await staff.get(url, allow_redirects=False)
        headers = response.headers
        assert headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["Cache-Control"] == "no-store"
        html = await response.text()
        # Scripts only from the inbox's own static files, never inline (the CSP forbids it).
        for tag, body in re.findall(r"(<script[^>]*>)(.*?)</script>", html, re.DOTALL):
            assert 'src="/clinician/static/' in tag and not body.strip(), tag
        assert html.count("<script") == len(re.findall(r"<script[^>]*>.*?</script>", html, re.S))
        assert "http://" not in html and "https://" not in html  # nothing from a CDN


# --- listing ---------------------------------------------------------------------------------


async def test_open_tickets_are_ordered_by_severity_then_age(
    staff: TestClient, db: Database
) -> None:
    routine_old = add_ticket(db, "routine", 300)
    urgent_new = add_ticket(db, "urgent", 5)
    emergency_new = add_ticket(db, "emergency", 2)
    urgent_old = add_ticket(db, "urgent", 90)
    emergency_old = add_ticket(db, "emergency", 30, status="acknowledged", acknowledged_by=USER)
    resolved = add_ticket(db, "emergency", 400, status="resolved", resolved_by=USER)
    expected = [emergency_old, emergency_new, urgent_old, urgent_new, routine_old]

    html = await (await staff.get("/clinician")).text()
    positions = [html.index(f"/clinician/tickets/{ticket_id}") for ticket_id in expected]
    assert positions == sorted(positions)
    assert resolved not in html
    assert 'class="badge severity-emergency"' in html
    assert "1 h 30 min ago" in html

    api = await staff.get("/clinician/api/tickets")
    assert api.status == 200
    assert api.headers["Cache-Control"] == "no-store"
    body = await api.json()
    assert [t["id"] for t in body["tickets"]] == expected
    first = body["tickets"][0]
    assert first["status"] == "acknowledged"
    assert first["acknowledged_by"] == USER
    assert first["url"] == f"/clinician/tickets/{emergency_old}"
    assert "trigger_text" not in first and "callback_number" not in first

    resolved_page = await (await staff.get("/clinician/resolved")).text()
    assert f"/clinician/tickets/{resolved}" in resolved_page
    assert routine_old not in resolved_page


# --- detail ----------------------------------------------------------------------------------


async def test_ticket_detail_shows_patient_text_escaped(staff: TestClient, db: Database) -> None:
    ticket_id = add_ticket(
        db,
        "emergency",
        12,
        trigger="<script>alert('trigger')</script> I can't breathe",
        transcript=[
            {"sender": "user", "text": "hello <b>there</b>", "timestamp": 1732170000.0},
            {"sender": "bot", "text": "Hi! How can I help?", "knowledge_version": "b99c1237a37f"},
            {"sender": "user", "text": '<img src=x onerror="alert(1)">'},
        ],
        symptoms=["breathing_difficulty"],
        callback_number="+91 98450 12345",
        channel="whatsapp",
    )
    response = await staff.get(f"/clinician/tickets/{ticket_id}")
    assert response.status == 200
    html = await response.text()
    assert "<script>alert" not in html and "<img src=x" not in html and "<b>there" not in html
    assert "&lt;script&gt;alert(&#39;trigger&#39;)&lt;/script&gt; I can&#39;t breathe" in html
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in html
    assert "hello &lt;b&gt;there&lt;/b&gt;" in html
    assert "knowledge base version <code>b99c1237a37f</code>" in html
    assert "breathing difficulty" in html
    assert 'href="tel:+919845012345"' in html
    assert "Whatsapp" in html
    assert [(e.actor, e.ticket_id) for e in audit_rows(db, "ticket_view")] == [(USER, ticket_id)]


async def test_unknown_ticket_is_a_404_page(staff: TestClient) -> None:
    token = await page_csrf(staff)
    for response in (
        await staff.get("/clinician/tickets/0123456789abcdef"),
        await staff.get("/clinician/tickets/" + "f" * 200),
        await staff.post(
            "/clinician/tickets/0123456789abcdef/acknowledge", data={"csrf_token": token}
        ),
        await staff.post("/clinician/tickets/0123456789abcdef/resolve", data={"csrf_token": token}),
        await staff.post("/clinician/tickets/0123456789abcdef/reopen", data={"csrf_token": token}),
    ):
        assert response.status == 404
        assert "Ticket not found" in await response.text()


# --- status changes --------------------------------------------------------------------------


async def test_acknowledge_then_resolve_records_who_and_when(
    staff: TestClient, db: Database
) -> None:
    ticket_id = add_ticket(db, "urgent", 20)
    token = await page_csrf(staff, f"/clinician/tickets/{ticket_id}")
    before = utcnow()

    ack = await staff.post(
        f"/clinician/tickets/{ticket_id}/acknowledge",
        data={"csrf_token": token},
        allow_redirects=False,
    )
    assert ack.status == 303
    assert ack.headers["Location"] == f"/clinician/tickets/{ticket_id}?done=acknowledged"
    row = ticket_row(db, ticket_id)
    assert (row.status, row.acknowledged_by) == ("acknowledged", USER)
    assert before <= as_utc(row.acknowledged_at) <= utcnow()
    page = await (await staff.get(ack.headers["Location"])).text()
    assert "You acknowledged this ticket." in page
    assert "Acknowledged by nurse.amy" in page

    resolve = await staff.post(
        f"/clinician/tickets/{ticket_id}/resolve",
        data={"csrf_token": token, "note": "Called back; <advised> ice."},
        allow_redirects=False,
    )
    assert resolve.status == 303
    row = ticket_row(db, ticket_id)
    assert (row.status, row.resolved_by) == ("resolved", USER)
    assert as_utc(row.acknowledged_at) <= as_utc(row.resolved_at) <= utcnow()
    assert [(e.actor, e.ticket_id) for e in audit_rows(db, "ticket_acknowledge")] == [
        (USER, ticket_id)
    ]
    [resolved_entry] = audit_rows(db, "ticket_resolve")
    assert resolved_entry.detail == "from acknowledged; note: Called back; <advised> ice."
    page = await (await staff.get(f"/clinician/tickets/{ticket_id}")).text()
    assert "Called back; &lt;advised&gt; ice." in page
    # Resolved: neither acknowledge nor resolve is offered any more; only reopening is.
    assert f'action="/clinician/tickets/{ticket_id}/acknowledge"' not in page
    assert f'action="/clinician/tickets/{ticket_id}/resolve"' not in page
    assert f'action="/clinician/tickets/{ticket_id}/reopen"' in page


async def test_invalid_transitions_answer_409(staff: TestClient, db: Database) -> None:
    acknowledged = add_ticket(db, "urgent", 20, status="acknowledged", acknowledged_by=OTHER_USER)
    resolved = add_ticket(db, "routine", 30, status="resolved", resolved_by=OTHER_USER)
    token = await page_csrf(staff)
    for ticket_id, action in (
        (acknowledged, "acknowledge"),
        (resolved, "acknowledge"),
        (resolved, "resolve"),
    ):
        response = await staff.post(
            f"/clinician/tickets/{ticket_id}/{action}", data={"csrf_token": token}
        )
        assert response.status == 409
        text = await response.text()
        assert "Nothing changed" in text
        assert OTHER_USER in text
    assert ticket_row(db, acknowledged).acknowledged_by == OTHER_USER
    assert ticket_row(db, resolved).resolved_by == OTHER_USER
    assert audit_rows(db, "ticket_acknowledge") == audit_rows(db, "ticket_resolve") == []


async def test_an_open_ticket_can_be_resolved_directly(staff: TestClient, db: Database) -> None:
    ticket_id = add_ticket(db, "routine", 5)
    token = await page_csrf(staff)
    response = await staff.post(
        f"/clinician/tickets/{ticket_id}/resolve", data={"csrf_token": token}
    )
    assert response.status == 200  # followed the redirect to the ticket
    row = ticket_row(db, ticket_id)
    assert (row.status, row.resolved_by, row.acknowledged_by) == ("resolved", USER, None)
    assert row.resolved_at is not None
    assert "Resolved without acknowledgement first by nurse.amy" in await response.text()
    assert audit_rows(db, "ticket_resolve")[0].detail == "from open"


async def test_two_clinicians_acknowledging_at_once_get_one_success(db: Database) -> None:
    create_staff_user(db, OTHER_USER, PASSWORD)
    ticket_id = add_ticket(db, "emergency", 1)
    first, second = await _client(db), await _client(db)
    try:
        tokens = []
        for client, name in ((first, USER), (second, OTHER_USER)):
            assert (await login(client, name, PASSWORD)).status == 303
            tokens.append(await page_csrf(client))
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/clinician/tickets/{ticket_id}/acknowledge",
                    data={"csrf_token": token},
                    allow_redirects=False,
                )
                for client, token in zip((first, second), tokens, strict=True)
            )
        )
        assert sorted(r.status for r in responses) == [303, 409]
        assert len(audit_rows(db, "ticket_acknowledge")) == 1
    finally:
        await first.close()
        await second.close()


async def test_a_resolved_ticket_is_reopened_from_its_page(staff: TestClient, db: Database) -> None:
    ticket_id = add_ticket(
        db, "urgent", 60, status="resolved", resolved_by=OTHER_USER, resolved_at=utcnow()
    )
    page = await (await staff.get(f"/clinician/tickets/{ticket_id}")).text()
    reopen_url = f"/clinician/tickets/{ticket_id}/reopen"
    form = page[page.index(f'action="{reopen_url}"') :]
    form = form[: form.index("</form>")]
    assert ">Reopen</button>" in form
    token = hidden_csrf(form)  # the form carries the session's CSRF token

    response = await staff.post(
        reopen_url, data={"csrf_token": token, "note": "Worse <again>"}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == f"/clinician/tickets/{ticket_id}?done=reopened"
    row = ticket_row(db, ticket_id)
    assert (row.status, row.resolved_by, row.resolved_at) == ("open", None, None)
    [entry] = audit_rows(db, "ticket_reopen")
    assert (entry.actor, entry.ticket_id) == (USER, ticket_id)
    assert entry.detail.startswith(f"was resolved by {OTHER_USER} at ")
    assert entry.detail.endswith("; note: Worse <again>")

    page = await (await staff.get(response.headers["Location"])).text()
    assert "You reopened this ticket." in page
    assert "Not yet acknowledged" in page
    assert "Reopened by nurse.amy" in page
    assert "Worse &lt;again&gt;" in page
    assert f'action="/clinician/tickets/{ticket_id}/acknowledge"' in page
    assert reopen_url not in page
    assert f"/clinician/tickets/{ticket_id}" in await (await staff.get("/clinician")).text()
    assert ticket_id not in await (await staff.get("/clinician/resolved")).text()


async def test_reopen_needs_the_csrf_token_and_a_resolved_ticket(
    staff: TestClient, db: Database
) -> None:
    resolved = add_ticket(db, "routine", 30, status="resolved", resolved_by=OTHER_USER)
    acknowledged = add_ticket(db, "urgent", 20, status="acknowledged", acknowledged_by=OTHER_USER)
    for data in ({}, {"csrf_token": "C" * 43}):
        response = await staff.post(
            f"/clinician/tickets/{resolved}/reopen", data=data, allow_redirects=False
        )
        assert response.status == 403
    assert ticket_row(db, resolved).status == "resolved"

    token = await page_csrf(staff)
    response = await staff.post(
        f"/clinician/tickets/{acknowledged}/reopen", data={"csrf_token": token}
    )
    assert response.status == 409
    text = await response.text()
    assert "cannot be reopened because it is already acknowledged" in text
    assert OTHER_USER in text
    assert ticket_row(db, acknowledged).acknowledged_by == OTHER_USER
    assert audit_rows(db, "ticket_reopen") == []


# --- audit page ------------------------------------------------------------------------------


async def test_audit_page_lists_recent_entries(client: TestClient, db: Database) -> None:
    assert (await login(client, "<b>mallory</b>", "guess guess guess")).status == 401
    assert (await login(client, USER, PASSWORD)).status == 303
    staff = client
    ticket_id = add_ticket(db, "routine", 5)
    await staff.get(f"/clinician/tickets/{ticket_id}")
    html = await (await staff.get("/clinician/audit")).text()
    assert html.index("ticket view") < html.index("login success") < html.index("login failure")
    assert "(not a valid username)" in html  # a malformed username is not echoed into the trail
    assert "<b>mallory" not in html
    assert f'href="/clinician/tickets/{ticket_id}"' in html
