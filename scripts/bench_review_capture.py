"""How long `bot.review.capture.note` holds up a reply: 300 captures against a fresh SQLite
file (the write itself happens on the recorder thread).

usage: PYTHONPATH=. python scripts/bench_review_capture.py
"""

from __future__ import annotations

import pathlib
import statistics
import tempfile
import time

from sqlalchemy import func, select

from bot.review import capture
from bot.storage.db import Database
from bot.storage.models import ReviewItem

COUNT = 300


def main() -> None:
    db = Database(f"sqlite:///{pathlib.Path(tempfile.mkdtemp()) / 'bench.db'}")
    capture._recorder = capture.ReviewRecorder(lambda: db)
    message = {
        "text": "what is the best car insurance",
        "intent": {"name": "out_of_scope", "confidence": 0.9},
        "intent_ranking": [{"name": "out_of_scope", "confidence": 0.9}],
        "language": {"code": "en", "reply": "en"},
    }
    capture.note("warm", {**message, "message_id": "w"}, "out_of_scope")
    capture.recorder().flush()
    times = []
    for i in range(COUNT):
        started = time.perf_counter()
        capture.note(f"c{i}", {**message, "message_id": f"m{i}"}, "out_of_scope")
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    capture.recorder().flush()
    drain = time.perf_counter() - started
    times.sort()
    with db.session() as session:
        rows = session.scalar(select(func.count(ReviewItem.id)))
    print(
        f"note(): median {statistics.median(times) * 1e6:.0f} us, "
        f"p95 {times[int(0.95 * COUNT)] * 1e6:.0f} us, max {times[-1] * 1e6:.0f} us; "
        f"{COUNT} writes drained {drain:.2f} s after ({rows} rows)"
    )


if __name__ == "__main__":
    main()
