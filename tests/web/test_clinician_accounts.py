"""Staff accounts, the `staff` CLI, sessions and the sign-in throttle, against real SQLite."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.paths import PROJECT_ROOT
from bot.storage.db import Database
from bot.storage.models import StaffSession, StaffUser, utcnow
from bot.web.clinician import accounts
from bot.web.clinician.accounts import (
    AccountError,
    LockoutPolicy,
    authenticate,
    create_staff_user,
    list_staff_users,
    set_password,
)
from bot.web.clinician.sessions import SessionPolicy, SessionStore
from bot.web.clinician.throttle import LoginThrottle, ThrottlePolicy

PASSWORD = "a long enough secret"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _user(db: Database, username: str) -> StaffUser:
    with db.session() as session:
        return session.execute(select(StaffUser).filter_by(username=username)).scalar_one()


def test_password_is_stored_as_an_argon2id_hash(db: Database) -> None:
    create_staff_user(db, "nurse.amy", PASSWORD)
    stored = _user(db, "nurse.amy").password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


@pytest.mark.parametrize(
    "username", ["ab", "a" * 65, "Nurse", "nurse amy", "nurse@clinic", "", "ännа"]
)
def test_malformed_usernames_are_refused(db: Database, username: str) -> None:
    with pytest.raises(AccountError, match="3 to 64 characters"):
        create_staff_user(db, username, PASSWORD)


@pytest.mark.parametrize(
    ("password", "reason"),
    [("", "empty"), (" " * 20, "empty"), ("\t\n" * 8, "empty"), ("short pass", "at least 12")],
)
def test_weak_passwords_are_refused(db: Database, password: str, reason: str) -> None:
    with pytest.raises(AccountError, match=reason):
        create_staff_user(db, "nurse.amy", password)
    with db.session() as session:
        assert session.execute(select(StaffUser)).first() is None


def test_a_username_can_only_be_taken_once(db: Database) -> None:
    create_staff_user(db, "nurse.amy", PASSWORD)
    with pytest.raises(AccountError, match="already exists"):
        create_staff_user(db, "nurse.amy", "another long password")


def test_set_password_replaces_the_hash_lifts_the_lock_and_ends_sessions(db: Database) -> None:
    create_staff_user(db, "nurse.amy", PASSWORD)
    policy = LockoutPolicy(max_failures=2)
    for _ in range(2):
        assert authenticate(db, "nurse.amy", "wrong wrong wrong", policy).reason == "wrong_password"
    assert _user(db, "nurse.amy").locked_until is not None
    store = SessionStore(db, SessionPolicy())
    token = store.start(_user(db, "nurse.amy").id)

    set_password(db, "nurse.amy", "a brand new passphrase")

    user = _user(db, "nurse.amy")
    assert (user.failed_logins, user.locked_until) == (0, None)
    assert store.resolve(token) is None
    assert authenticate(db, "nurse.amy", PASSWORD, policy).reason == "wrong_password"
    assert authenticate(db, "nurse.amy", "a brand new passphrase", policy).ok
    with pytest.raises(AccountError, match="no staff user"):
        set_password(db, "nobody", "a brand new passphrase")


def test_lockout_counts_consecutive_failures_and_expires(db: Database) -> None:
    create_staff_user(db, "nurse.amy", PASSWORD)
    policy = LockoutPolicy(max_failures=3, lock_for=timedelta(minutes=15))
    now = utcnow()
    for _ in range(2):
        assert authenticate(db, "nurse.amy", "nope nope nope", policy, now).reason == (
            "wrong_password"
        )
    assert authenticate(db, "nurse.amy", PASSWORD, policy, now).ok  # success resets the count
    for _ in range(3):
        authenticate(db, "nurse.amy", "nope nope nope", policy, now)
    assert authenticate(db, "nurse.amy", PASSWORD, policy, now).reason == "locked"
    later = now + timedelta(minutes=14)
    assert authenticate(db, "nurse.amy", PASSWORD, policy, later).reason == "locked"
    after = now + timedelta(minutes=15, seconds=1)
    assert authenticate(db, "nurse.amy", PASSWORD, policy, after).ok


def test_unknown_and_malformed_usernames_fail_without_error(db: Database) -> None:
    policy = LockoutPolicy()
    assert authenticate(db, "ghost", PASSWORD, policy).reason == "unknown_user"
    result = authenticate(db, "<script>", PASSWORD, policy)
    assert (result.reason, result.username) == ("unknown_user", None)


# --- sessions --------------------------------------------------------------------------------


def test_session_expiry_slides_with_use_up_to_an_absolute_limit(db: Database) -> None:
    create_staff_user(db, "nurse.amy", PASSWORD)
    store = SessionStore(db, SessionPolicy(idle=timedelta(hours=8), absolute=timedelta(hours=12)))
    start = utcnow()
    token = store.start(_user(db, "nurse.amy").id, now=start)
    with db.session() as session:
        assert session.execute(select(StaffSession.token_hash)).scalar_one() != token

    assert store.resolve(token, start + timedelta(hours=7)) is not None
    # Use at 7 h slides the idle expiry to 15 h, but the absolute limit of 12 h still applies.
    assert store.resolve(token, start + timedelta(hours=11, minutes=59)) is not None
    assert store.resolve(token, start + timedelta(hours=12, seconds=1)) is None

    idle_token = store.start(_user(db, "nurse.amy").id, now=start)
    assert store.resolve(idle_token, start + timedelta(hours=8, seconds=1)) is None
    identity = store.resolve(store.start(_user(db, "nurse.amy").id))
    assert identity is not None and identity.username == "nurse.amy"
    assert len(identity.csrf_token) == 43
    for bad in ("", "short", "A" * 43, "A" * 42 + "!"):
        assert store.resolve(bad) is None


# --- throttle --------------------------------------------------------------------------------


def test_throttle_slows_then_blocks_a_client_until_the_window_passes() -> None:
    clock = [1000.0]
    throttle = LoginThrottle(
        ThrottlePolicy(
            max_failures=5,
            window_seconds=60,
            free_failures=2,
            first_delay_seconds=0.5,
            max_delay_seconds=1.5,
        ),
        clock=lambda: clock[0],
    )
    delays = [throttle.record_failure("10.0.0.1") for _ in range(4)]
    assert delays == [0.0, 0.0, 0.5, 1.0]
    assert throttle.retry_after("10.0.0.1") is None
    assert throttle.record_failure("10.0.0.1") == 1.5
    assert throttle.retry_after("10.0.0.1") == 60
    assert throttle.retry_after("10.0.0.2") is None  # other clients are unaffected
    clock[0] += 61
    assert throttle.retry_after("10.0.0.1") is None


def test_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(ThrottlePolicy(max_failures=1, max_clients=3))
    for n in range(10):
        throttle.record_failure(f"10.0.0.{n}")
    assert throttle.retry_after("10.0.0.9") is not None
    assert throttle.retry_after("10.0.0.0") is None  # forgotten


# --- command line ----------------------------------------------------------------------------


def test_cli_adds_lists_and_changes_passwords(db: Database, capsys: pytest.CaptureFixture) -> None:
    assert (
        accounts.main(
            ["add", "nurse.amy", "--password-stdin"], db=db, stdin=io.StringIO(PASSWORD + "\n")
        )
        == 0
    )
    assert authenticate(db, "nurse.amy", PASSWORD, LockoutPolicy()).ok
    assert accounts.main(["list"], db=db) == 0
    assert (
        capsys.readouterr().out.splitlines()[-1].startswith("nurse.amy\tadmin\tcreated ")
    )  # the first

    new = "changed passphrase 2"
    assert (
        accounts.main(
            ["passwd", "nurse.amy", "--password-stdin"], db=db, stdin=io.StringIO(new + "\r\n")
        )
        == 0
    )
    assert authenticate(db, "nurse.amy", new, LockoutPolicy()).ok

    assert (
        accounts.main(["add", "nurse.amy", "--password-stdin"], db=db, stdin=io.StringIO(PASSWORD))
        == 1
    )
    assert "already exists" in capsys.readouterr().err
    assert (
        accounts.main(["add", "Bad Name", "--password-stdin"], db=db, stdin=io.StringIO(PASSWORD))
        == 1
    )
    assert (
        accounts.main(["add", "nurse.bo", "--password-stdin"], db=db, stdin=io.StringIO("\n")) == 1
    )
    assert "empty" in capsys.readouterr().err
    assert [u.username for u in list_staff_users(db)] == ["nurse.amy"]


def test_cli_runs_as_a_module_against_the_configured_database(database_url: str) -> None:
    url = database_url
    env = {**os.environ, "MESO_DATABASE_URL": url}
    command = [sys.executable, "-m", "bot.web.clinician.accounts"]
    added = subprocess.run(
        [*command, "add", "dr.bose", "--password-stdin"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    listed = subprocess.run(
        [*command, "list"], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, timeout=120
    )
    assert listed.stdout.startswith("dr.bose\t")
    database = Database(url)
    try:
        assert authenticate(database, "dr.bose", PASSWORD, LockoutPolicy()).ok
    finally:
        database.dispose()
