"""The domain services one action-server process shares, built on first use.

Nothing here opens the database: answers come from the knowledge files, and the database is
reached only when a record is written (`database()`), so a storage outage never costs a reply.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import lru_cache

from bot.clinic import ClinicConfig, clinic_config
from bot.knowledge import KnowledgeBase
from bot.storage import Database, get_database


@dataclass(frozen=True)
class Services:
    knowledge: KnowledgeBase
    clinic: ClinicConfig

    def database(self) -> Database:
        """The records database; raises when storage is unavailable."""
        return get_database()


@lru_cache(maxsize=1)
def services() -> Services:
    knowledge = KnowledgeBase()
    with contextlib.suppress(ValueError):  # only possible from the main thread
        knowledge.reload_on_signal()  # SIGHUP: re-read data/knowledge now
    return Services(knowledge=knowledge, clinic=clinic_config())
