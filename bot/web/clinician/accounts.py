"""Staff accounts: username and password rules, argon2id hashes, lockout, and the `staff` CLI.

The lead's `python -m bot staff ...` calls `main(argv)`; `python -m bot.web.clinician.accounts`
works too.
"""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from secrets import token_urlsafe
from typing import Literal, TextIO

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from bot.storage.db import Database, get_database
from bot.storage.models import StaffSession, StaffUser
from bot.web.clinician.clock import as_utc, utcnow

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,64}")
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024

# RFC 9106 "second recommended" profile (argon2id, 64 MiB, t=3, p=4): argon2-cffi's default.
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A staff account request that cannot be carried out; the message says why."""


@dataclass(frozen=True)
class LockoutPolicy:
    """After `max_failures` wrong passwords in a row the account is refused for `lock_for`."""

    max_failures: int = 5
    lock_for: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class StaffAccount:
    username: str
    created_at: datetime
    failed_logins: int
    locked_until: datetime | None


LoginReason = Literal["ok", "unknown_user", "wrong_password", "locked"]


@dataclass(frozen=True)
class LoginResult:
    """`reason` is for the audit trail only; the person signing in sees one message for all."""

    reason: LoginReason
    username: str | None = None  # the normalised username when it is well-formed
    staff_user_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def validate_username(username: str) -> str:
    """`username` itself when it is 3-64 of a-z 0-9 . _ -; otherwise AccountError."""
    if not USERNAME_PATTERN.fullmatch(username):
        raise AccountError(
            "Usernames are 3 to 64 characters: lowercase letters a-z, digits, '.', '_' or '-'."
        )
    return username


def validate_password(password: str) -> None:
    if not password.strip():
        raise AccountError("The password is empty or only whitespace.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"The password must be at most {MAX_PASSWORD_LENGTH} characters.")


def login_username(raw: str) -> str | None:
    """What a person typed into the username field, normalised; None when it cannot be valid."""
    candidate = raw.strip().lower()
    return candidate if USERNAME_PATTERN.fullmatch(candidate) else None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash nobody knows the password of: unknown usernames cost as much as wrong passwords."""
    return hash_password(token_urlsafe(32))


def create_staff_user(db: Database, username: str, password: str) -> None:
    """Add an account; AccountError when the name is taken or a rule is broken."""
    validate_username(username)
    validate_password(password)
    password_hash = hash_password(password)
    with db.session() as session:
        if session.execute(select(StaffUser.id).filter_by(username=username)).first():
            raise AccountError(f"A staff user named {username!r} already exists.")
        session.add(StaffUser(username=username, password_hash=password_hash))


def set_password(db: Database, username: str, password: str) -> None:
    """Replace the password, lift any lockout and sign the user out everywhere."""
    validate_password(password)
    password_hash = hash_password(password)
    with db.session() as session:
        user = session.execute(select(StaffUser).filter_by(username=username)).scalar_one_or_none()
        if user is None:
            raise AccountError(f"There is no staff user named {username!r}.")
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
        session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user.id))


def list_staff_users(db: Database) -> list[StaffAccount]:
    with db.session() as session:
        users = session.execute(select(StaffUser).order_by(StaffUser.username)).scalars()
        return [
            StaffAccount(
                username=u.username,
                created_at=as_utc(u.created_at),
                failed_logins=u.failed_logins,
                locked_until=as_utc(u.locked_until) if u.locked_until else None,
            )
            for u in users
        ]


def authenticate(
    db: Database,
    raw_username: str,
    password: str,
    policy: LockoutPolicy,
    now: datetime | None = None,
) -> LoginResult:
    """Check a sign-in. Every path verifies one argon2 hash, so timing does not tell them apart.

    A locked account is refused even with the right password; the lock does not grow while it
    lasts. Success clears the failure count; a stale hash is upgraded to the current parameters.
    """
    now = now or utcnow()
    username = login_username(raw_username)
    user = None
    if username is not None:
        with db.session() as session:
            user = session.execute(
                select(StaffUser).filter_by(username=username)
            ).scalar_one_or_none()
    if user is None:
        _verify(_dummy_hash(), password)
        return LoginResult("unknown_user", username)
    password_ok = _verify(user.password_hash, password)
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        return LoginResult("locked", username, user.id)
    if not password_ok:
        return _count_failure(db, user.id, username, policy, now)
    with db.session() as session:
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if _hasher.check_needs_rehash(user.password_hash):
            values["password_hash"] = hash_password(password)
        session.execute(update(StaffUser).where(StaffUser.id == user.id).values(**values))
    return LoginResult("ok", username, user.id)


def _count_failure(
    db: Database, user_id: int, username: str, policy: LockoutPolicy, now: datetime
) -> LoginResult:
    with db.session() as session:
        # Increment in SQL so concurrent attempts cannot overwrite each other's count.
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id)
            .values(failed_logins=StaffUser.failed_logins + 1)
        )
        failures = session.execute(
            select(StaffUser.failed_logins).where(StaffUser.id == user_id)
        ).scalar_one()
        if failures >= policy.max_failures:
            session.execute(
                update(StaffUser)
                .where(StaffUser.id == user_id)
                .values(failed_logins=0, locked_until=now + policy.lock_for)
            )
    return LoginResult("wrong_password", username, user_id)


# --- command line ----------------------------------------------------------------------------


def _read_password(args: argparse.Namespace, stdin: TextIO) -> str:
    if args.password_stdin:
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    if first != getpass.getpass("Repeat password: "):
        raise AccountError("The two passwords differ.")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot staff", description="Manage clinician inbox accounts."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("add", "create a staff user"), ("passwd", "set a new password")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("username")
        command.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input instead of a prompt",
        )
    commands.add_parser("list", help="list staff users")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    db: Database | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """`add USERNAME`, `passwd USERNAME` (both `[--password-stdin]`) and `list`; returns the exit
    status. The database is MESO_DATABASE_URL (or var/meso.db) unless `db` is given."""
    args = _parser().parse_args(argv)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    db = db or get_database()
    try:
        if args.command == "list":
            _print_users(list_staff_users(db), stdout)
        elif args.command == "add":
            validate_username(args.username)
            create_staff_user(db, args.username, _read_password(args, stdin))
            print(f"Created staff user {args.username!r}.", file=stdout)
        else:
            set_password(db, args.username, _read_password(args, stdin))
            print(f"Password changed for {args.username!r}; their sessions ended.", file=stdout)
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_users(users: list[StaffAccount], out: TextIO) -> None:
    if not users:
        print("No staff users yet. Add one with: python -m bot staff add USERNAME", file=out)
        return
    now = utcnow()
    for user in users:
        state = "active"
        if user.locked_until and user.locked_until > now:
            state = f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
        elif user.failed_logins:
            state = f"{user.failed_logins} failed sign-in(s)"
        print(f"{user.username}\tcreated {user.created_at:%Y-%m-%d}\t{state}", file=out)


if __name__ == "__main__":
    sys.exit(main())
