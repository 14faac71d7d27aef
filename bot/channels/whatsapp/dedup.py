"""Each inbound message is answered at most once, across retries, concurrency and restarts.

`claim` first checks a bounded in-process record (closing the race between deliveries that
arrive together), then inserts (channel, message_id) into `SeenChannelMessage`; the primary
key makes a second insert fail, which marks a message already handled before a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.storage.db import Database
from bot.storage.models import SeenChannelMessage

logger = logging.getLogger(__name__)


class SeenMessages:
    def __init__(self, database: Database, channel: str, remember: int = 10_000) -> None:
        self.database = database
        self.channel = channel
        self.remember = remember
        self._recent: OrderedDict[str, None] = OrderedDict()

    def claim_in_process(self, message_id: str) -> bool:
        """True the first time this process sees `message_id` (no await: atomic in the loop)."""
        if message_id in self._recent:
            return False
        self._recent[message_id] = None
        if len(self._recent) > self.remember:
            self._recent.popitem(last=False)
        return True

    async def claim_persistently(self, message_id: str) -> bool:
        """True unless the database already holds `message_id` for this channel.

        A database fault is logged and the message is answered anyway: a rare duplicate
        answer is better than a question left unanswered.
        """
        try:
            await asyncio.to_thread(self._insert, message_id)
        except IntegrityError:
            return False
        except SQLAlchemyError:
            logger.exception("whatsapp: could not record a message id; answering it anyway")
        return True

    async def claim(self, message_id: str) -> bool:
        return self.claim_in_process(message_id) and await self.claim_persistently(message_id)

    def _insert(self, message_id: str) -> None:
        with self.database.session() as session:
            session.add(SeenChannelMessage(channel=self.channel, message_id=message_id))
