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
from sqlalchemy.orm import Session, aliased

from bot.storage.db import Database, get_database
from bot.storage.models import StaffSession, StaffUser
from bot.tickets import audit
from bot.web.clinician.clock import as_utc, utcnow

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,64}")
Role = Literal["staff", "admin"]
ROLES: tuple[Role, ...] = ("staff", "admin")
ADMIN: Role = "admin"
COMMAND_LINE = "(command line)"  # the audit trail's actor for changes made with the CLI
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
    role: str = "staff"
    paused: bool = False
    second_factor: bool = False


LoginReason = Literal[
    "ok", "unknown_user", "wrong_password", "locked", "paused", "code_needed", "wrong_code"
]


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


def validate_role(role: str) -> Role:
    if role not in ROLES:
        raise AccountError(f"The role must be one of: {', '.join(ROLES)}.")
    return role  # type: ignore[return-value]


def create_staff_user(
    db: Database,
    username: str,
    password: str,
    role: str | None = "staff",
    actor: str = COMMAND_LINE,
) -> Role:
    """Add an account and return its role; AccountError when the name is taken or a rule is
    broken. Audited. `role` None: admin for a clinic's first account (someone must be able to
    manage the others from the web), staff after that."""
    validate_username(username)
    validate_password(password)
    if role is not None:
        validate_role(role)
    password_hash = hash_password(password)
    with db.session() as session:
        if session.execute(select(StaffUser.id).filter_by(username=username)).first():
            raise AccountError(f"A staff user named {username!r} already exists.")
        if role is None:
            first = session.execute(select(StaffUser.id).limit(1)).first() is None
            role = ADMIN if first else "staff"
        session.add(StaffUser(username=username, password_hash=password_hash, role=role))
        audit.add(session, actor, audit.ACCOUNT_CREATED, detail=f"{username} as {role}")
    return validate_role(role)


def _user(session: Session, username: str, lock: bool = False) -> StaffUser:
    query = select(StaffUser).filter_by(username=username)
    user = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if user is None:
        raise AccountError(f"There is no staff user named {username!r}.")
    return user


def _user_locked_for_admin_change(session: Session, username: str) -> StaffUser:
    """The user's row, locked for a role or pause change. The active admins' rows are locked
    first, in id order, so two such changes at once queue instead of deadlocking on PostgreSQL
    (each holding its own target's row while waiting for the other's)."""
    session.execute(
        select(StaffUser.id)
        .where(StaffUser.role == ADMIN, StaffUser.paused_at.is_(None))
        .order_by(StaffUser.id)
        .with_for_update()
    ).all()
    return _user(session, username, lock=True)


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(StaffSession).where(StaffSession.staff_user_id == user_id))


def set_password(db: Database, username: str, password: str, actor: str = COMMAND_LINE) -> None:
    """Replace the password, lift any lockout and sign the user out everywhere. Audited."""
    validate_password(password)
    password_hash = hash_password(password)
    with db.session() as session:
        user = _user(session, username)
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
        _end_sessions(session, user.id)
        audit.add(session, actor, audit.ACCOUNT_PASSWORD_SET, detail=username)


def _last_admin(user: StaffUser) -> AccountError:
    return AccountError(
        f"{user.username!r} is the last active admin. Make another account admin first."
    )


def _demote_or_pause(session: Session, user: StaffUser, values: dict[str, object]) -> None:
    """Apply `values` (role staff, or paused) to an active admin only while another active
    admin remains; AccountError otherwise. Two admins demoting each other at once cannot leave
    none: on PostgreSQL the caller holds the active admins' rows (`_user_locked_for_admin_change`;
    the second waits, then sees the first's change); on SQLite the check and the change are one
    UPDATE statement, which runs under the database's single write lock."""
    other = aliased(StaffUser)
    another_admin = (
        select(other.id)
        .where(other.role == ADMIN, other.paused_at.is_(None), other.id != user.id)
        .exists()
    )
    changed = session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id, another_admin)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        raise _last_admin(user)
    session.refresh(user)


def set_role(db: Database, username: str, role: str, actor: str = COMMAND_LINE) -> bool:
    """Give `username` the role; False when it had it already. The last active admin cannot
    become staff. Audited; the user's open sessions see the new role on their next request."""
    validate_role(role)
    with db.session() as session:
        user = _user_locked_for_admin_change(session, username)
        old = user.role
        if old == role:
            return False
        if old == ADMIN and user.paused_at is None:
            _demote_or_pause(session, user, {"role": role})
        else:
            user.role = role
        audit.add(session, actor, audit.ACCOUNT_ROLE_CHANGED, detail=f"{username}: {old} to {role}")
        return True


def set_paused(db: Database, username: str, paused: bool, actor: str = COMMAND_LINE) -> bool:
    """Pause (no sign-in, sessions ended) or unpause an account; False when nothing changed.
    The last active admin cannot be paused, nor can anyone pause themselves. Audited."""
    with db.session() as session:
        user = _user_locked_for_admin_change(session, username)
        if (user.paused_at is not None) == paused:
            return False
        if paused:
            if username == actor:
                raise AccountError("You cannot pause your own account.")
            if user.role == ADMIN:
                _demote_or_pause(session, user, {"paused_at": utcnow()})
            else:
                user.paused_at = utcnow()
            _end_sessions(session, user.id)
        else:
            user.paused_at = None
            user.failed_logins = 0
            user.locked_until = None
        action = audit.ACCOUNT_PAUSED if paused else audit.ACCOUNT_UNPAUSED
        audit.add(session, actor, action, detail=username)
        return True


def list_staff_users(db: Database) -> list[StaffAccount]:
    with db.session() as session:
        users = session.execute(select(StaffUser).order_by(StaffUser.username)).scalars()
        return [
            StaffAccount(
                username=u.username,
                created_at=as_utc(u.created_at),
                failed_logins=u.failed_logins,
                locked_until=as_utc(u.locked_until) if u.locked_until else None,
                role=u.role,
                paused=u.paused_at is not None,
                second_factor=u.totp_secret is not None,
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
    lasts. A paused account is refused after a right password ("paused"). An account with a
    second factor answers "code_needed" (bot/web/clinician/totp.py checks the code next).
    Success clears the failure count; a stale hash is upgraded to the current parameters.
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
        return count_failure(db, user.id, username, policy, now, "wrong_password")
    if user.paused_at is not None:
        return LoginResult("paused", username, user.id)
    if _hasher.check_needs_rehash(user.password_hash):
        with db.session() as session:
            session.execute(
                update(StaffUser)
                .where(StaffUser.id == user.id)
                .values(password_hash=hash_password(password))
            )
    if user.totp_secret is not None:
        # The failure count stays until the code is right too: a known password alone must
        # not reset the lockout a guessed code is counting towards.
        return LoginResult("code_needed", username, user.id)
    clear_failures(db, user.id)
    return LoginResult("ok", username, user.id)


def clear_failures(db: Database, user_id: int) -> None:
    with db.session() as session:
        session.execute(
            update(StaffUser)
            .where(StaffUser.id == user_id)
            .values(failed_logins=0, locked_until=None)
        )


def count_failure(
    db: Database,
    user_id: int,
    username: str,
    policy: LockoutPolicy,
    now: datetime,
    reason: LoginReason,
) -> LoginResult:
    """Count a wrong password or a wrong second-factor code towards the account's lockout."""
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
    return LoginResult(reason, username, user_id)


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
    for name, help_text in (("add", "create an account"), ("passwd", "set a new password")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("username")
        command.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from the first line of standard input instead of a prompt",
        )
        if name == "add":
            command.add_argument(
                "--role",
                choices=ROLES,
                default=None,
                help="staff or admin (default: admin for the first account, staff after it)",
            )
    role = commands.add_parser("role", help="make an account staff or admin")
    role.add_argument("username")
    role.add_argument("role", choices=ROLES)
    for name, help_text in (
        ("pause", "stop an account signing in (and end its sessions)"),
        ("unpause", "let a paused account sign in again"),
        ("reset-second-factor", "remove an account's authenticator-app second factor"),
    ):
        commands.add_parser(name, help=help_text).add_argument("username")
    commands.add_parser("list", help="list accounts")
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    db: Database | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
) -> int:
    """`add USERNAME [--role staff|admin]`, `passwd USERNAME` (both `[--password-stdin]`),
    `role USERNAME staff|admin`, `pause`/`unpause`/`reset-second-factor USERNAME` and `list`;
    returns the exit status. The database is MESO_DATABASE_URL (or var/meso.db) unless `db` is
    given. Every change is in the audit trail, by "(command line)"."""
    args = _parser().parse_args(argv)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    db = db or get_database()
    name = getattr(args, "username", "")
    try:
        if args.command == "list":
            _print_users(list_staff_users(db), stdout)
        elif args.command == "add":
            validate_username(args.username)
            role = create_staff_user(db, args.username, _read_password(args, stdin), args.role)
            print(f"Created {role} account {name!r}.", file=stdout)
        elif args.command == "passwd":
            set_password(db, args.username, _read_password(args, stdin))
            print(f"Password changed for {name!r}; their sessions ended.", file=stdout)
        elif args.command == "role":
            changed = set_role(db, args.username, args.role)
            print(f"{name!r} is {args.role}" + ("." if changed else " already."), file=stdout)
        elif args.command in ("pause", "unpause"):
            paused = args.command == "pause"
            changed = set_paused(db, args.username, paused)
            state = "paused" if paused else "not paused"
            print(f"{name!r} is {state}" + ("." if changed else " already."), file=stdout)
        else:
            from bot.web.clinician import totp  # it builds on this module

            changed = totp.reset(db, args.username, COMMAND_LINE)
            print(
                f"Second factor of {name!r} removed." if changed else f"{name!r} had none.",
                file=stdout,
            )
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _print_users(users: list[StaffAccount], out: TextIO) -> None:
    if not users:
        print(
            "No staff users yet. Add one with: python -m bot staff add USERNAME --role admin",
            file=out,
        )
        return
    now = utcnow()
    for user in users:
        state = "active"
        if user.paused:
            state = "paused"
        elif user.locked_until and user.locked_until > now:
            state = f"locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
        elif user.failed_logins:
            state = f"{user.failed_logins} failed sign-in(s)"
        factor = "second factor on" if user.second_factor else "password only"
        print(
            f"{user.username}\t{user.role}\tcreated {user.created_at:%Y-%m-%d}\t{state}\t{factor}",
            file=out,
        )


if __name__ == "__main__":
    sys.exit(main())
