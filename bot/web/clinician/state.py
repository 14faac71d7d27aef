"""What the inbox needs at run time, and the app keys through which a deployment or test sets it.

Set `DATABASE_KEY` and/or `CONFIG_KEY` on the main application before it starts; unset, the
inbox uses `get_database()` (MESO_DATABASE_URL or var/meso.db) and the default policies.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from bot.storage.db import Database, get_database
from bot.web.clinician.accounts import LockoutPolicy
from bot.web.clinician.render import Templates
from bot.web.clinician.sessions import SessionPolicy, SessionStore
from bot.web.clinician.throttle import LoginThrottle, ThrottlePolicy


@dataclass(frozen=True)
class InboxConfig:
    lockout: LockoutPolicy = field(default_factory=LockoutPolicy)
    sessions: SessionPolicy = field(default_factory=SessionPolicy)
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    # Each argon2 check takes 64 MiB and most of a core: cap how many run at once.
    concurrent_password_checks: int = 2


class InboxState:
    def __init__(self, db: Database, config: InboxConfig) -> None:
        self.db = db
        self.config = config
        self.sessions = SessionStore(db, config.sessions)
        self.throttle = LoginThrottle(config.throttle)
        self.templates = Templates()
        self.password_checks = asyncio.Semaphore(config.concurrent_password_checks)


DATABASE_KEY = web.AppKey("clinician_database", Database)
CONFIG_KEY = web.AppKey("clinician_config", InboxConfig)
STATE_KEY = web.AppKey("clinician_state", InboxState)


async def start_inbox(app: web.Application) -> None:
    """on_startup: build the state from whatever the app was given."""
    db = app.get(DATABASE_KEY) or await asyncio.to_thread(get_database)
    app[STATE_KEY] = InboxState(db, app.get(CONFIG_KEY) or InboxConfig())


def inbox_state(request: web.Request) -> InboxState:
    return request.config_dict[STATE_KEY]
