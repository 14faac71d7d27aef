"""Server-side staff sessions. The cookie holds a random token; the table holds only its SHA-256.

Sessions end after `idle` without use and in any case `absolute` after sign-in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from bot.storage.db import Database
from bot.storage.models import StaffSession, StaffUser
from bot.web.clinician.clock import as_utc, utcnow

_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")  # 32 random bytes, base64url without padding


@dataclass(frozen=True)
class SessionPolicy:
    idle: timedelta = timedelta(hours=8)
    absolute: timedelta = timedelta(hours=12)
    # Sliding the expiry writes to the database; do it at most this often per session.
    refresh_every: timedelta = timedelta(minutes=1)


@dataclass(frozen=True)
class StaffIdentity:
    """The signed-in staff member behind a request."""

    username: str
    csrf_token: str
    role: str = "staff"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_token() -> str:
    """32 random bytes, base64url: used for session tokens and CSRF tokens."""
    return secrets.token_urlsafe(32)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class SessionStore:
    def __init__(self, db: Database, policy: SessionPolicy) -> None:
        self._db = db
        self._policy = policy

    def start(self, staff_user_id: int, now: datetime | None = None) -> str:
        """A new session for the user; returns the cookie token. Also drops expired sessions."""
        now = now or utcnow()
        token = new_token()
        with self._db.session() as session:
            session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
            session.add(
                StaffSession(
                    token_hash=_digest(token),
                    staff_user_id=staff_user_id,
                    csrf_token=new_token(),
                    created_at=now,
                    expires_at=self._expiry(now, now),
                )
            )
        return token

    def resolve(self, token: str | None, now: datetime | None = None) -> StaffIdentity | None:
        """The identity for a cookie token, or None when it is malformed, unknown or expired."""
        if not token or not _TOKEN_SHAPE.fullmatch(token):
            return None
        now = now or utcnow()
        token_hash = _digest(token)
        with self._db.session() as session:
            row = session.execute(
                select(StaffSession, StaffUser.username, StaffUser.role, StaffUser.paused_at)
                .join(StaffUser, StaffUser.id == StaffSession.staff_user_id)
                .where(StaffSession.token_hash == token_hash)
            ).first()
            if row is None:
                return None
            stored, username, role, paused_at = row
            expires_at = as_utc(stored.expires_at)
            if expires_at <= now or paused_at is not None:
                session.delete(stored)
                return None
            slid = self._expiry(as_utc(stored.created_at), now)
            if slid - expires_at >= self._policy.refresh_every:
                session.execute(
                    update(StaffSession)
                    .where(StaffSession.token_hash == token_hash)
                    .values(expires_at=slid)
                )
            return StaffIdentity(username=username, csrf_token=stored.csrf_token, role=role)

    def is_current(self, token: str | None, now: datetime | None = None) -> bool:
        """Whether the session is still signed in, without sliding its expiry: for long-lived
        requests (an event stream) that must end with the session but not keep it alive."""
        if not token or not _TOKEN_SHAPE.fullmatch(token):
            return False
        with self._db.session() as session:
            expires_at = session.execute(
                select(StaffSession.expires_at).where(StaffSession.token_hash == _digest(token))
            ).scalar()
        return expires_at is not None and as_utc(expires_at) > (now or utcnow())

    def end(self, token: str | None) -> None:
        if token and _TOKEN_SHAPE.fullmatch(token):
            with self._db.session() as session:
                session.execute(
                    delete(StaffSession).where(StaffSession.token_hash == _digest(token))
                )

    def _expiry(self, created_at: datetime, now: datetime) -> datetime:
        return min(now + self._policy.idle, created_at + self._policy.absolute)
