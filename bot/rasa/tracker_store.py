"""Rasa's SQL tracker store, plus a durable spool entry for every escalating user message.

endpoints.yml:

    tracker_store:
      type: bot.rasa.tracker_store.SpoolingSQLTrackerStore
      dialect: sqlite
      db: var/rasa_tracker.db
      # spool_dir: var/spool      (optional; default VAR_DIR/spool)

This is the safety net for a down action server or database: before the conversation is written
to SQL, an escalating message is appended to the spool, and the worker drains the spool into
tickets with the same (conversation_id, message_id) the action server uses, so a message handled
by both still makes one ticket. If SQL then fails, Rasa's fail-safe wrapper keeps the
conversation in memory; the spool entry is already on disk.

Doing this in the tracker store rather than an event broker matters for speed: with any broker
configured, Rasa 3.6 re-reads the whole conversation from SQL on every save to find new events.

Speed: Rasa's SQLTrackerStore reads and decodes the whole current session on every retrieve and
counts it again on every save, so a turn costs more the longer the conversation (README "Speed").
CachingSQLTrackerStore keeps the trackers it stored in memory and, on every retrieve, asks SQL
only for this conversation's events after the last one it knows (one indexed query, normally
empty). Events another replica wrote meanwhile are applied to the cached tracker; a new session
written elsewhere, a cached tracker changed but not saved (a failed turn), or a session whose
first stored event is gone (the conversation was erased or expired, bot/privacy) means a full read
as Rasa does it. So two replicas sharing one database never serve a stale conversation, as long
as turns of one conversation do not run concurrently (Rasa's lock store's job, in either case).

A database that is restarting (PostgreSQL's restart takes a second or two; the connections in the
pool die with it) makes a read or a write fail. Rasa's fail-safe wrapper would then answer the
turn from an empty in-memory tracker (the conversation's context gone for that turn) and keep its
events in memory only, out of the other replica's sight. So a read or write that fails because
the database cannot be reached is tried again on a fresh connection for up to
STORE_RETRY_SECONDS (SQLAlchemy drops the dead pool on the first such error); only a longer
outage reaches Rasa's fallback.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, UserUttered, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import or_
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.readiness import retry_while
from bot.tickets.report import report_from_rasa_events
from bot.tickets.spool import Spool

logger = logging.getLogger(__name__)
REMEMBERED_MESSAGES = 10_000  # spooled message ids kept to avoid appending one twice
CACHED_CONVERSATIONS = 200  # trackers kept in memory, least recently used dropped first
STORE_RETRY_SECONDS = 30.0  # a database restart: wait for it rather than lose the context
STORE_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # then 2 s between attempts

T = TypeVar("T")


def _unreachable(error: Exception) -> bool:
    """True when `error` says the database could not be reached or dropped the connection."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    )


async def when_reachable(operation: Callable[[], T]) -> T:
    """`operation()`, tried again while the database cannot be reached, for up to
    STORE_RETRY_SECONDS; any other error, or the last one, is raised."""

    async def attempt() -> T:
        return operation()

    def unreachable(error: Exception) -> bool:
        return isinstance(error, DBAPIError) and _unreachable(error)

    def report(error: Exception) -> None:
        # the type only: the statement's parameters may hold patient text
        cause = getattr(error, "orig", None) or error
        logger.warning(
            "tracker store: database unreachable (%s), trying again", type(cause).__name__
        )

    return await retry_while(attempt, unreachable, STORE_RETRY_SECONDS, STORE_RETRY_DELAYS, report)


@dataclass
class _Cached:
    """A tracker as stored: its first `stored` events are in SQL, the first with id `first_id`
    and the last with id `last_id`. SQLite gives a deleted row's id to the next row written, so
    the first event is known by its id and its timestamp together."""

    tracker: DialogueStateTracker
    stored: int
    first_id: int
    last_id: int

    @property
    def first_timestamp(self) -> float:
        return self.tracker.events[0].timestamp


class CachingSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store that reads only the events a turn does not already have.

    Same tables, same rows and the same trackers as SQLTrackerStore (see the module docstring);
    `retrieve_full_tracker` and every other method are Rasa's.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        super().__init__(*args, **kwargs)

    @property
    def domain(self) -> Domain:
        return self._domain

    @domain.setter
    def domain(self, domain: Domain) -> None:
        # A new model may bring other slots: trackers are rebuilt with them.
        self._domain = domain
        self._cache.clear()

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The tracker of the latest session: the cached one brought up to date with the events
        stored after it, or read in full when that cannot be done exactly."""
        return await when_reachable(lambda: self._retrieve(sender_id))

    def _retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        entry = self._cache.get(sender_id)
        if entry is None or len(entry.tracker.events) != entry.stored:
            return self._read_session(sender_id)
        event = self.SQLEvent
        with self.session_scope() as session:
            rows = (
                session.query(event.id, event.type_name, event.timestamp, event.data)
                .filter(
                    event.sender_id == sender_id,
                    or_(event.id == entry.first_id, event.id > entry.last_id),
                )
                .order_by(event.id)
                .all()
            )
        # Without its first event the session was erased under us: serve nothing erased.
        if not rows or (rows[0].id, rows[0].timestamp) != (entry.first_id, entry.first_timestamp):
            return self._read_session(sender_id)
        rows = rows[1:]
        if any(row.type_name == SessionStarted.type_name for row in rows):
            return self._read_session(sender_id)
        # Rows come in insertion (id) order, as a turn's own events do; Rasa's full read picks the
        # session by timestamp, which differs only if replicas' clocks disagree by more than the
        # time between two turns.
        tracker = entry.tracker
        for new in deserialise_events([json.loads(row.data) for row in rows]):
            tracker.events.append(new)  # as DialogueStateTracker.from_dict replays them
            new.apply_to(tracker)
        if rows:
            entry.stored, entry.last_id = len(tracker.events), rows[-1].id
        self._cache.move_to_end(sender_id)
        return tracker

    def _read_session(self, sender_id: str) -> DialogueStateTracker | None:
        """SQLTrackerStore.retrieve, remembering the tracker and its last event id."""
        self._cache.pop(sender_id, None)
        with self.session_scope() as session:
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions=False)
            rows = rows.with_entities(self.SQLEvent.id, self.SQLEvent.data).all()
        if not (self.domain and rows):
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row.data) for row in rows], self.domain.slots
        )
        ids = [row.id for row in rows]
        self._remember(tracker, min(ids), max(ids))
        return tracker

    def _remember(self, tracker: DialogueStateTracker, first_id: int, last_id: int) -> None:
        self._cache[tracker.sender_id] = _Cached(tracker, len(tracker.events), first_id, last_id)
        self._cache.move_to_end(tracker.sender_id)
        while len(self._cache) > CACHED_CONVERSATIONS:
            self._cache.popitem(last=False)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the tracker's new events. For the tracker `retrieve` handed out, those after
        the ones stored; for any other, Rasa's way (counting the stored session)."""
        await self.stream_events(tracker)
        await when_reachable(lambda: self._save(tracker))

    def _save(self, tracker: DialogueStateTracker) -> None:
        entry = self._cache.pop(tracker.sender_id, None)
        ours = (
            entry is not None and entry.tracker is tracker and entry.stored <= len(tracker.events)
        )
        with self.session_scope() as session:
            if ours:
                new = list(itertools.islice(tracker.events, entry.stored, None))
            else:
                new = list(self._additional_events(session, tracker))
            rows = [self._row(tracker.sender_id, event) for event in new]
            session.add_all(rows)
            session.flush()  # assigns the ids
            last_id = max((row.id for row in rows), default=entry.last_id if ours else 0)
            session.commit()
        # After a new session Rasa reads back only that session: so do we, next time.
        if ours and not any(isinstance(event, SessionStarted) for event in new):
            assert entry is not None
            self._remember(tracker, entry.first_id, last_id)
        logger.debug("stored %d new events of a conversation", len(rows))

    def _row(self, sender_id: str, event: Any) -> Any:
        """The events table row of `event`, as SQLTrackerStore.save writes it."""
        data = event.as_dict()
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            action_name=data.get("name"),
            data=json.dumps(data),
        )


class SpoolingSQLTrackerStore(CachingSQLTrackerStore):
    def __init__(self, *args: Any, spool_dir: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.spool = Spool(spool_dir)
        self._spooled: OrderedDict[tuple[str, str], None] = OrderedDict()
        logger.info("escalating messages are spooled to %s", self.spool.directory)

    async def save(self, tracker: DialogueStateTracker) -> None:
        self.spool_latest_report(tracker)
        await super().save(tracker)

    def spool_latest_report(self, tracker: DialogueStateTracker) -> None:
        """Append the latest user message to the spool if triage escalated it. Never raises."""
        try:
            event = next((e for e in reversed(tracker.events) if isinstance(e, UserUttered)), None)
            if event is None or not (event.parse_data or {}).get("triage", {}).get("severity"):
                return
            key = (tracker.sender_id, str(event.message_id))
            if key in self._spooled:
                return
            report = report_from_rasa_events(tracker.sender_id, [event.as_dict()])
            if report is not None:
                self.spool.append(report)
                self._spooled[key] = None
                if len(self._spooled) > REMEMBERED_MESSAGES:
                    self._spooled.popitem(last=False)
        except Exception as exc:  # never break Rasa's message handling
            logger.error(
                "could not spool an escalating message of conversation %s: %s",
                tracker.sender_id,
                type(exc).__name__,
            )
