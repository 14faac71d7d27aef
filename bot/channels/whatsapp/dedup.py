"""Each inbound message is answered at most once, across retries, concurrency and restarts.

`claim_in_process` checks a bounded in-process record, closing the race between deliveries
that arrive together. Across restarts and processes the database decides: the inbound journal
(journal.py) inserts (channel, message_id) into `SeenChannelMessage`, whose primary key makes a
second insert fail, in the same transaction as the message's journal entry.
"""

from __future__ import annotations

from collections import OrderedDict


class SeenMessages:
    def __init__(self, remember: int = 10_000) -> None:
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
