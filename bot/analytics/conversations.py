"""What patients asked and how the assistant replied, read from Rasa's SQL tracker store.

Rasa's SQLTrackerStore keeps every event as a row of its `events` table: `type_name` ("user",
"bot", ...), `timestamp` (seconds since 1970, UTC), `intent_name` (the NLU intent of a user
event) and `data` (the event as JSON text). A question about a topic is a user event whose
intent is the topic's intent (bot.replies.payloads: topic `cost` is `ask_cost`); the kind of a
reply ("answer", "clarify", "out_of_scope", ...) is the `meso` envelope every reply carries
(bot.replies.reply.Reply.rasa_message), found in a bot event at data.custom.meso.kind. So the
conversations themselves are the log; nothing is written twice.
"""

from __future__ import annotations

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Engine

from bot.analytics.period import Period
from bot.analytics.sqlfuncs import floor_int, json_text
from bot.analytics.tickets import Counts
from bot.replies.payloads import TOPIC_INTENT_PREFIX, topic_of_intent
from bot.replies.reply import ReplyKind
from bot.storage.rasa_events import EVENTS as events

UNSURE_KINDS: tuple[ReplyKind, ...] = ("clarify", "out_of_scope")


def _in_period(period: Period):  # type: ignore[no-untyped-def]
    return and_(
        events.c.timestamp >= period.start.timestamp(),
        events.c.timestamp < period.end.timestamp(),
    )


def _bucket(period: Period):  # type: ignore[no-untyped-def]
    return floor_int((events.c.timestamp - period.start.timestamp()) / period.bucket_seconds)


def _counts(engine: Engine, period: Period, query) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    size = len(period.buckets)
    counts: dict[str, list[int]] = {}
    with engine.connect() as connection:
        for index, name, count in connection.execute(query):
            counts.setdefault(name, [0] * size)[min(int(index), size - 1)] += int(count)
    return counts


def questions_per_topic(engine: Engine, period: Period) -> Counts:
    """Patient messages understood as a question about a topic, per topic and bucket; topics
    ordered by their total, the most asked first."""
    bucket = _bucket(period).label("bucket")
    query = (
        select(bucket, events.c.intent_name, func.count())
        .where(
            _in_period(period),
            events.c.type_name == "user",
            events.c.intent_name.startswith(TOPIC_INTENT_PREFIX, autoescape=True),
        )
        .group_by(bucket, events.c.intent_name)
    )
    by_intent = _counts(engine, period, query)
    counts = {str(topic_of_intent(intent)): values for intent, values in by_intent.items()}
    order = sorted(counts, key=lambda topic: (-sum(counts[topic]), topic))
    return Counts(tuple(order), counts)


def reply_kinds(engine: Engine, period: Period) -> Counts:
    """The assistant's replies per kind and bucket (bot messages carrying a `meso` envelope)."""
    bucket = _bucket(period).label("bucket")
    kind = json_text(events.c.data, "data", "custom", "meso", "kind").label("kind")
    query = (
        select(bucket, kind, func.count())
        .where(_in_period(period), events.c.type_name == "bot", kind.is_not(None))
        .group_by(bucket, kind)
    )
    counts = _counts(engine, period, query)
    order = sorted(counts, key=lambda k: (k not in UNSURE_KINDS, -sum(counts[k]), k))
    return Counts(tuple(order), counts)


def unsure_shares(kinds: Counts, buckets: int) -> dict[str, list[float | None]]:
    """The share (0-1) of clarify and of out-of-scope replies among all replies, per bucket;
    None for a bucket without replies."""
    totals = [sum(kinds.counts[k][i] for k in kinds.series) for i in range(buckets)]
    return {
        kind: [
            (kinds.counts.get(kind, [0] * buckets)[i] / totals[i]) if totals[i] else None
            for i in range(buckets)
        ]
        for kind in UNSURE_KINDS
    }
