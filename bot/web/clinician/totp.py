"""The optional TOTP second factor (RFC 6238: 6 digits, 30-second steps, pyotp) of a staff account.

Enrolment: `start_enrolment` keeps a new secret aside (`totp_pending_secret`) and gives the
otpauth:// URI an authenticator app reads (as text and as a QR code drawn by segno, pure
Python); `confirm_enrolment` with a right code makes it the account's second factor. From then
on sign-in asks for a code after the password (bot/web/clinician/routes.py). A wrong code counts
towards the same lockout as a wrong password (accounts.count_failure), a code is accepted once
only (`totp_last_step`), and the step before and after the current one are accepted for clock
drift. An admin can reset a user's second factor (`reset`). All of it is audited.
"""

from __future__ import annotations

import hmac
import io
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

import pyotp
import segno
from sqlalchemy import or_, select, update

from bot.storage.db import Database
from bot.storage.models import StaffUser
from bot.tickets import audit
from bot.web.clinician.accounts import (
    AccountError,
    LockoutPolicy,
    LoginResult,
    clear_failures,
    count_failure,
)
from bot.web.clinician.clock import as_utc, utcnow

ISSUER = "Clinic inbox"
STEP_SECONDS = 30
DRIFT_STEPS = 1
CODE_LENGTH = 6


PENDING_SIGN_IN_SECONDS = 300


@dataclass(frozen=True)
class PendingSignIn:
    staff_user_id: int
    username: str
    next_url: str
    expires: float


class PendingSignIns:
    """Sign-ins whose password was right and whose code is awaited, by a random token carried in
    the code form. In this process's memory (the inbox runs as one web process): a restart
    only means typing the password again."""

    def __init__(self, lifetime: float = PENDING_SIGN_IN_SECONDS, max_pending: int = 10_000):
        self._lifetime = lifetime
        self._max = max_pending
        self._pending: dict[str, PendingSignIn] = {}

    def start(self, staff_user_id: int, username: str, next_url: str) -> str:
        now = time.monotonic()
        for token in [t for t, p in self._pending.items() if p.expires <= now]:
            del self._pending[token]
        while len(self._pending) >= self._max:
            del self._pending[next(iter(self._pending))]
        token = secrets.token_urlsafe(32)
        self._pending[token] = PendingSignIn(
            staff_user_id, username, next_url, now + self._lifetime
        )
        return token

    def get(self, token: str) -> PendingSignIn | None:
        pending = self._pending.get(token)
        if pending is None or pending.expires <= time.monotonic():
            self._pending.pop(token, None)
            return None
        return pending

    def end(self, token: str) -> None:
        self._pending.pop(token, None)


@dataclass(frozen=True)
class Enrolment:
    secret: str  # base32, for typing into an app by hand
    uri: str  # otpauth://totp/...

    def qr_svg(self) -> str:
        """The URI as a QR code, SVG markup (segno writes no script; the URI is its only data)."""
        out = io.BytesIO()
        segno.make(self.uri, error="m").save(
            out, kind="svg", scale=5, border=4, xmldecl=False, svgns=True, title="QR code"
        )
        return out.getvalue().decode("utf-8")


def enrolment_for(username: str, secret: str) -> Enrolment:
    uri = pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)
    return Enrolment(secret=secret, uri=uri)


def start_enrolment(db: Database, username: str) -> Enrolment:
    """A new secret waiting for its first code; replaces any earlier unconfirmed one."""
    secret = pyotp.random_base32()
    with db.session() as session:
        user = session.execute(select(StaffUser).filter_by(username=username)).scalar_one()
        if user.totp_secret is not None:
            raise AccountError("A second factor is already set up for this account.")
        user.totp_pending_secret = secret
        audit.add(session, username, audit.SECOND_FACTOR_ENROLMENT_STARTED, detail=username)
    return enrolment_for(username, secret)


def pending_enrolment(db: Database, username: str) -> Enrolment | None:
    with db.session() as session:
        secret = session.execute(
            select(StaffUser.totp_pending_secret).filter_by(username=username)
        ).scalar_one()
    return enrolment_for(username, secret) if secret else None


def has_second_factor(db: Database, username: str) -> bool:
    with db.session() as session:
        return (
            session.execute(select(StaffUser.totp_secret).filter_by(username=username)).scalar_one()
            is not None
        )


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is `code` (current one, or one step either side), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != CODE_LENGTH or not code.isdigit():
        return None
    current = int(now.timestamp()) // STEP_SECONDS
    totp = pyotp.TOTP(secret)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            found = step
    return found


def confirm_enrolment(db: Database, username: str, code: str, now: datetime | None = None) -> bool:
    """Make the pending secret the account's second factor if `code` is right."""
    now = now or utcnow()
    with db.session() as session:
        user = session.execute(select(StaffUser).filter_by(username=username)).scalar_one()
        if user.totp_pending_secret is None:
            raise AccountError("Start setting up the second factor first.")
        step = _matching_step(user.totp_pending_secret, code, now)
        if step is None:
            return False
        user.totp_secret, user.totp_pending_secret = user.totp_pending_secret, None
        user.totp_last_step = step
        audit.add(session, username, audit.SECOND_FACTOR_ENABLED, detail=username)
        return True


def reset(db: Database, username: str, actor: str) -> bool:
    """Remove the account's second factor (and any pending one); False when it had none."""
    with db.session() as session:
        user = session.execute(select(StaffUser).filter_by(username=username)).scalar_one_or_none()
        if user is None:
            raise AccountError(f"There is no staff user named {username!r}.")
        if user.totp_secret is None and user.totp_pending_secret is None:
            return False
        user.totp_secret = user.totp_pending_secret = user.totp_last_step = None
        audit.add(session, actor, audit.SECOND_FACTOR_RESET, detail=username)
        return True


def check_code(
    db: Database, user_id: int, code: str, policy: LockoutPolicy, now: datetime | None = None
) -> LoginResult:
    """The second step of a sign-in whose password was right: "ok", "wrong_code" (counted
    towards the lockout), "locked" or "paused"."""
    now = now or utcnow()
    with db.session() as session:
        user = session.execute(select(StaffUser).filter_by(id=user_id)).scalar_one_or_none()
    if user is None or user.totp_secret is None:
        return LoginResult("unknown_user")
    if user.locked_until is not None and as_utc(user.locked_until) > now:
        return LoginResult("locked", user.username, user.id)
    if user.paused_at is not None:
        return LoginResult("paused", user.username, user.id)
    step = _matching_step(user.totp_secret, code, now)
    if step is not None:
        with db.session() as session:
            # Taken only if later than the last code used: a code works once, even when two
            # requests race with it.
            used = session.execute(
                update(StaffUser)
                .where(
                    StaffUser.id == user.id,
                    or_(StaffUser.totp_last_step.is_(None), StaffUser.totp_last_step < step),
                )
                .values(totp_last_step=step)
            ).rowcount
        if used:
            clear_failures(db, user.id)
            return LoginResult("ok", user.username, user.id)
    return count_failure(db, user.id, user.username, policy, now, "wrong_code")
