"""Roles, account administration and the TOTP second factor: the migration, the account rules,
the command line, and the web pages over HTTP (a real aiohttp server, SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
import shutil
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.exc import OperationalError

from bot.storage import migrate
from bot.storage.db import Database
from bot.storage.models import AuditEntry, StaffUser, utcnow
from bot.storage.schema_version import VERSIONS_DIR
from bot.web.clinician import accounts, totp
from bot.web.clinician.accounts import AccountError, LockoutPolicy, authenticate
from bot.web.settings import WebSettings
from tests.support.clinician_browser import PASSWORD, USER
from tests.web.test_clinician import FAST, build_app, hidden_csrf, login

ADMIN, STAFF = "admin.ann", USER
# Two demotions meet in a different order each time; one round let the old deadlock pass.
RACE_ROUNDS = 20


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    accounts.create_staff_user(database, ADMIN, PASSWORD, "admin")
    accounts.create_staff_user(database, STAFF, PASSWORD)
    yield database
    database.dispose()


def _row(db: Database, username: str) -> StaffUser:
    with db.session() as session:
        return session.execute(select(StaffUser).filter_by(username=username)).scalar_one()


def _audit(db: Database, action: str) -> list[tuple[str, str | None]]:
    with db.session() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.detail)
            .where(AuditEntry.action == action)
            .order_by(AuditEntry.id)
        )
        return [tuple(r) for r in rows]


# --- migration and rules ---------------------------------------------------------------------


def test_accounts_that_existed_before_roles_become_admins(
    database_url: str, tmp_path: Path
) -> None:
    before = tmp_path / "versions"
    before.mkdir()
    for path in sorted(VERSIONS_DIR.glob("*.py")):
        if path.name < "0006_staff_roles.py":  # every revision before roles, as a clinic had them
            shutil.copy(path, before / path.name)
    migrate.upgrade(database_url, before)
    engine = create_engine(database_url, future=True)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO staff_users (username, password_hash, created_at, failed_logins) "
                "VALUES ('old.hand', 'x', CURRENT_TIMESTAMP, 0)"
            )
        )
    engine.dispose()
    assert migrate.upgrade(database_url)[0] == "0006_staff_roles"
    database = Database(database_url)
    try:
        assert _row(database, "old.hand").role == "admin"
        accounts.create_staff_user(database, "new.hand", PASSWORD)
        assert _row(database, "new.hand").role == "staff"
    finally:
        database.dispose()


def test_a_clinics_first_account_is_an_admin_unless_told(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        out = io.StringIO()
        for name in ("first.one", "second.one"):
            stdin = io.StringIO(PASSWORD + "\n")
            command = ["add", name, "--password-stdin"]
            assert accounts.main(command, db=database, stdin=stdin, stdout=out) == 0
        assert out.getvalue().splitlines() == [
            "Created admin account 'first.one'.",
            "Created staff account 'second.one'.",
        ]
    finally:
        database.dispose()


def test_the_last_active_admin_cannot_be_demoted_or_paused(db: Database) -> None:
    with pytest.raises(AccountError, match="last active admin"):
        accounts.set_role(db, ADMIN, "staff", actor=ADMIN)
    with pytest.raises(AccountError, match="last active admin"):
        accounts.set_paused(db, ADMIN, True, actor=STAFF)
    assert accounts.set_role(db, STAFF, "admin", actor=ADMIN)
    accounts.set_paused(db, STAFF, True, actor=ADMIN)  # a paused admin does not count
    with pytest.raises(AccountError, match="last active admin"):
        accounts.set_role(db, ADMIN, "staff", actor=ADMIN)
    accounts.set_paused(db, STAFF, False, actor=ADMIN)
    assert accounts.set_role(db, ADMIN, "staff", actor=STAFF)
    assert not accounts.set_role(db, ADMIN, "staff", actor=STAFF)  # already
    with pytest.raises(AccountError, match="one of: staff, admin"):
        accounts.set_role(db, ADMIN, "owner")
    with pytest.raises(AccountError, match="your own account"):
        accounts.set_paused(db, STAFF, True, actor=STAFF)
    assert _audit(db, "account_role_changed") == [
        (ADMIN, f"{STAFF}: staff to admin"),
        (STAFF, f"{ADMIN}: admin to staff"),
    ]


def _demote_each_other_at_once(db: Database) -> list[str]:
    """ADMIN and STAFF (both admins) demote each other at the same moment; each one's outcome."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def demote(username: str, actor: str) -> None:
        barrier.wait()
        try:
            accounts.set_role(db, username, "staff", actor=actor)
            outcomes.append("demoted")
        except AccountError:
            outcomes.append("refused")
        except OperationalError:  # a deadlock or a lock timeout: an admin sees an error
            outcomes.append("busy")

    threads = [
        threading.Thread(target=demote, args=(ADMIN, STAFF)),
        threading.Thread(target=demote, args=(STAFF, ADMIN)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_admins_demoting_each_other_at_once_leave_one(db: Database) -> None:
    """Every time, one change goes through and the other is refused; neither gets an error."""
    accounts.set_role(db, STAFF, "admin", actor=ADMIN)
    for _ in range(RACE_ROUNDS):
        outcomes = _demote_each_other_at_once(db)
        assert sorted(outcomes) == ["demoted", "refused"]
        roles = {u.username: u.role for u in accounts.list_staff_users(db)}
        assert sorted(roles.values()) == ["admin", "staff"], outcomes
        demoted = next(name for name, role in roles.items() if role == "staff")
        accounts.set_role(db, demoted, "admin")


def test_a_paused_account_cannot_sign_in_even_with_its_password(db: Database) -> None:
    accounts.set_paused(db, STAFF, True, actor=ADMIN)
    assert authenticate(db, STAFF, PASSWORD, LockoutPolicy()).reason == "paused"
    assert authenticate(db, STAFF, "wrong password!", LockoutPolicy()).reason == "wrong_password"
    accounts.set_paused(db, STAFF, False, actor=ADMIN)
    assert authenticate(db, STAFF, PASSWORD, LockoutPolicy()).ok
    assert _audit(db, "account_paused") == [(ADMIN, STAFF)]
    assert _audit(db, "account_unpaused") == [(ADMIN, STAFF)]


def test_cli_roles_pause_and_list(db: Database, capsys: pytest.CaptureFixture) -> None:
    stdin = io.StringIO(PASSWORD + "\n")
    command = ["add", "dr.bose", "--role", "admin", "--password-stdin"]
    assert accounts.main(command, db=db, stdin=stdin) == 0
    assert _row(db, "dr.bose").role == "admin"
    assert accounts.main(["role", STAFF, "admin"], db=db) == 0
    assert accounts.main(["pause", "dr.bose"], db=db) == 0
    assert accounts.main(["list"], db=db) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Created admin account 'dr.bose'."
    assert lines[1] == "'nurse.amy' is admin."
    assert lines[2] == "'dr.bose' is paused."
    listed = [line.split("\t") for line in lines[3:]]
    assert [(r[0], r[1], r[3], r[4]) for r in listed] == [
        (ADMIN, "admin", "active", "password only"),
        ("dr.bose", "admin", "paused", "password only"),
        (STAFF, "admin", "active", "password only"),
    ]
    with pytest.raises(SystemExit):  # argparse refuses it
        accounts.main(["role", STAFF, "owner"], db=db)
    accounts.main(["role", ADMIN, "staff"], db=db)
    assert accounts.main(["role", STAFF, "staff"], db=db) == 1
    assert "last active admin" in capsys.readouterr().err
    assert _audit(db, "account_paused") == [("(command line)", "dr.bose")]


# --- over HTTP -------------------------------------------------------------------------------


_clients: list[TestClient] = []


@pytest.fixture
async def server(db: Database) -> AsyncIterator[TestServer]:
    """One server for several browsers (clients); closing a TestClient would close the server,
    so each client's HTTP session is closed instead, then the server."""
    server = TestServer(build_app(db, FAST, WebSettings()))
    await server.start_server()
    yield server
    while _clients:
        await _clients.pop().session.close()
    await server.close()


def _client(server: TestServer) -> TestClient:
    client = TestClient(server)
    _clients.append(client)
    return client


async def _signed_in(server: TestServer, username: str) -> TestClient:
    client = _client(server)
    assert (await login(client, username, PASSWORD)).status == 303
    return client


async def _post(client: TestClient, path: str, **fields: str):  # type: ignore[no-untyped-def]
    page = await client.get("/clinician/account")
    token = hidden_csrf(await page.text())
    return await client.post(path, data={"csrf_token": token, **fields}, allow_redirects=False)


async def test_staff_cannot_reach_admin_pages(server: TestServer, db: Database) -> None:
    client = await _signed_in(server, STAFF)
    response = await client.get("/clinician/admin")
    assert response.status == 403
    assert "For administrators only" in await response.text()
    assert 'href="/clinician/admin"' not in await (await client.get("/clinician")).text()
    for path, fields in (
        ("/clinician/admin/create", {"username": "x.y.z", "password": PASSWORD}),
        (f"/clinician/admin/users/{ADMIN}/role", {"role": "staff"}),
        (f"/clinician/admin/users/{ADMIN}/pause", {}),
    ):
        assert (await _post(client, path, **fields)).status == 403
    assert _row(db, ADMIN).role == "admin" and _row(db, ADMIN).paused_at is None
    assert len(_audit(db, "admin_page_refused")) == 4


async def test_an_admin_manages_accounts_from_the_web(server: TestServer, db: Database) -> None:
    admin = await _signed_in(server, ADMIN)
    nurse = await _signed_in(server, STAFF)
    page = await admin.get("/clinician/admin")
    assert page.status == 200
    html = await page.text()
    assert 'href="/clinician/admin" aria-current="page"' in html and STAFF in html

    created = await _post(
        admin, "/clinician/admin/create", username="Dr.New", password=PASSWORD, role="admin"
    )
    assert created.status == 303 and created.headers["Location"].endswith("done=created")
    assert _row(db, "dr.new").role == "admin"
    bad = await _post(admin, "/clinician/admin/create", username="<b>x</b>", password="short")
    assert bad.status == 400
    assert "Usernames are 3 to 64 characters" in (bad_html := await bad.text())
    assert "<b>x</b>" not in bad_html and "&lt;b&gt;x&lt;/b&gt;" in bad_html

    paused = await _post(admin, f"/clinician/admin/users/{STAFF}/pause")
    assert paused.headers["Location"].endswith("done=paused")
    kicked = await nurse.get("/clinician", allow_redirects=False)
    assert kicked.status == 303  # the paused nurse's session ended
    assert (await login(nurse, STAFF, PASSWORD)).status == 401
    await _post(admin, f"/clinician/admin/users/{STAFF}/unpause")
    new_password = "a brand new passphrase"
    reset = await _post(admin, f"/clinician/admin/users/{STAFF}/password", password=new_password)
    assert reset.headers["Location"].endswith("done=password")
    assert (await login(nurse, STAFF, new_password)).status == 303

    promoted = await _post(admin, f"/clinician/admin/users/{STAFF}/role", role="admin")
    assert promoted.status == 303
    assert 'href="/clinician/admin"' in await (await nurse.get("/clinician")).text()
    await _post(admin, "/clinician/admin/users/dr.new/pause")
    await _post(admin, f"/clinician/admin/users/{STAFF}/role", role="staff")
    last = await _post(admin, f"/clinician/admin/users/{ADMIN}/role", role="staff")
    assert last.status == 409
    assert "last active admin" in await last.text()
    assert _row(db, ADMIN).role == "admin"
    missing = await _post(admin, "/clinician/admin/users/nobody/pause")
    assert missing.status == 409 and "no staff user named" in await missing.text()
    assert _audit(db, "account_created")[-1] == (ADMIN, "dr.new as admin")
    assert _audit(db, "account_password_set") == [(ADMIN, STAFF)]


async def _sign_in_with_code(client: TestClient, username: str, code: str):  # type: ignore[no-untyped-def]
    first = await login(client, username, PASSWORD)
    assert first.status == 200
    html = await first.text()
    assert "Sign-in code" in html
    token = hidden_csrf(html)
    code_token = html.split('name="code_token" value="')[1].split('"')[0]
    return await client.post(
        "/clinician/login",
        data={"csrf_token": token, "code_token": code_token, "code": code},
        allow_redirects=False,
    )


async def test_totp_enrolment_sign_in_lockout_and_reset(server: TestServer, db: Database) -> None:
    nurse = await _signed_in(server, STAFF)
    await _post(nurse, "/clinician/account/second-factor/start")
    html = await (await nurse.get("/clinician/account")).text()
    secret = _row(db, STAFF).totp_pending_secret
    assert secret and f'id="totp-secret">{secret}<' in html
    assert "otpauth://totp/Clinic%20inbox:nurse.amy?secret=" in html
    assert "<svg" in html  # the QR code, drawn by segno; no script but the inbox's own files
    assert all('src="/clinician/static/' in tag for tag in re.findall(r"<script[^>]*>", html))
    wrong = await _post(nurse, "/clinician/account/second-factor/confirm", code="000000")
    assert wrong.status == 400 and "did not match" in await wrong.text()
    right = pyotp.TOTP(secret).now()
    done = await _post(nurse, "/clinician/account/second-factor/confirm", code=right)
    assert done.status == 200 and "The second factor is on" in await done.text()
    assert _row(db, STAFF).totp_secret == secret

    client = _client(server)
    # The password alone is no longer enough; a wrong code counts like a wrong password.
    failed = await _sign_in_with_code(client, STAFF, "123456")
    assert failed.status == 401 and "That code did not work" in await failed.text()
    assert _row(db, STAFF).failed_logins == 1
    assert "wrong_code" in _audit(db, "login_failure")[-1][1]
    # The code used to confirm cannot be used again.
    reused = await _sign_in_with_code(client, STAFF, right)
    assert reused.status == 401
    with db.session() as session:  # as if 90 s had passed since the enrolment's code
        session.execute(update(StaffUser).filter_by(username=STAFF).values(totp_last_step=0))
    ok = await _sign_in_with_code(client, STAFF, pyotp.TOTP(secret).now())
    assert ok.status == 303 and ok.headers["Location"] == "/clinician"
    assert _row(db, STAFF).failed_logins == 0
    assert _audit(db, "login_success")[-1][1].endswith("with second factor")

    attacker = _client(server)
    for _ in range(FAST.lockout.max_failures):
        await _sign_in_with_code(attacker, STAFF, "999999")
    assert _row(db, STAFF).locked_until is not None
    # Locked: even the right password is refused, so no code is asked for.
    locked = await login(attacker, STAFF, PASSWORD)
    assert locked.status == 401 and "Sign-in failed" in await locked.text()

    with db.session() as session:
        session.execute(update(StaffUser).filter_by(username=STAFF).values(locked_until=None))
    admin = await _signed_in(server, ADMIN)
    assert "Reset second factor of nurse.amy" in await (await admin.get("/clinician/admin")).text()
    reset = await _post(admin, f"/clinician/admin/users/{STAFF}/second-factor")
    assert reset.headers["Location"].endswith("done=second_factor")
    assert _row(db, STAFF).totp_secret is None
    assert _audit(db, "second_factor_reset") == [(ADMIN, STAFF)]
    assert [a for a, _ in _audit(db, "second_factor_enabled")] == [STAFF]
    plain = _client(server)
    assert (await login(plain, STAFF, PASSWORD)).status == 303


async def test_a_pending_code_expires(server: TestServer, db: Database) -> None:
    secret = pyotp.random_base32()
    with db.session() as session:
        session.execute(update(StaffUser).filter_by(username=STAFF).values(totp_secret=secret))
    client = _client(server)
    token_page = await client.get("/clinician/login")
    token = hidden_csrf(await token_page.text())
    stale = await client.post(
        "/clinician/login",
        data={"csrf_token": token, "code_token": "not-a-pending-sign-in", "code": "123456"},
        allow_redirects=False,
    )
    assert stale.status == 401
    assert "took too long" in await stale.text()


def test_codes_one_step_either_side_are_accepted(db: Database) -> None:
    secret = pyotp.random_base32()
    now = utcnow()
    totp_ = pyotp.TOTP(secret)
    for offset, accepted in ((-60, False), (-30, True), (0, True), (30, True), (60, False)):
        code = totp_.at(now + timedelta(seconds=offset))
        assert (totp._matching_step(secret, code, now) is not None) == accepted, offset
    assert totp._matching_step(secret, "12345", now) is None
    assert totp._matching_step(secret, "abcdef", now) is None
