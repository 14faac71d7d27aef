"""Median and worst time of each inbox query on N seeded tickets in a throwaway SQLite file:
`PYTHONPATH=$PWD .venv/bin/python scripts/measure_inbox_queries.py 30000`."""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta

from bot.storage.db import Database
from bot.storage.models import utcnow
from bot.tickets import inbox_search
from bot.tickets.inbox_search import InboxFilter
from tests.support.inbox_seed import seed_tickets

n = int(sys.argv[1])
d = tempfile.mkdtemp()
db = Database(f"sqlite:///{d}/m.db")
now = utcnow()
seed_tickets(db, n, now)
cases = {
    "open list p1": lambda: inbox_search.search(db, InboxFilter(), 1),
    "open list p40": lambda: inbox_search.search(db, InboxFilter(), 40),
    "resolved p1": lambda: inbox_search.search(db, InboxFilter(status="resolved"), 1),
    "counts": lambda: inbox_search.counts(db, InboxFilter()),
    "ref": lambda: inbox_search.search(db, InboxFilter(status="all", reference="abcd")),
    "new since": lambda: inbox_search.recorded_after(
        db, InboxFilter(), now - timedelta(seconds=10)
    ),
    "channel+dates": lambda: inbox_search.search(
        db, InboxFilter(status="all", channel="kiosk", created_from=now - timedelta(days=2)), 2
    ),
}
for name, fn in cases.items():
    fn()
    times = []
    for _ in range(20):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    print(f"{n:>6} {name:15} median {statistics.median(times):6.1f} ms  max {max(times):6.1f} ms")

db.dispose()
shutil.rmtree(d)
