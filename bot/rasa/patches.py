"""Fixes for Rasa 3.6 internals, applied only in the Rasa server we launch.

1. Rasa checks every action-server response with `jsonschema.validate(result, schema)`. That
   call first validates the (large, fixed) schema itself against the JSON-Schema meta-schema,
   which costs ~150 ms per custom action on this machine. We validate the same response against
   the same schema with a validator compiled once: the errors raised are identical, ~1 ms.
2. `Event.resolve_by_type` walks every Event subclass for every event it deserialises (about an
   eighth of the server's time under load). We remember each name's class once found; unknown
   names still go through Rasa's own code and errors.
3. Conversation context for symptom triage and the reply language: before a message is parsed,
   the last few patient messages of the current session (`metadata["meso_history"]`) and the
   language slots `chosen_lang` and `reply_lang` (`meso_chosen_lang`, `meso_reply_lang`) are
   passed to the NLU graph (on a copy of the message, so nothing extra is stored). Rasa 3.6's NLU
   components see only the message itself; this is the one place that knows the tracker.
4. A custom action whose action server cannot be reached (connection refused, or dropped before
   it answered: the server is restarting) is called again for up to ACTION_RETRY_SECONDS,
   after ACTION_RETRY_DELAYS, when the turn has no reply yet. Rasa 3.6 gives up at once and
   the patient gets no answer at all (REST: an empty list; WhatsApp: silence, and Meta does
   not deliver again). A turn that already has a reply is not held up: an emergency's
   instruction (a Rasa response) goes out at once, and its ticket comes from the spool (the
   tracker store). A retry is safe: a failed call uttered nothing, and our actions are pure
   answers or record idempotently per message (bot/tickets/records.py). A supervised action
   server answers again about 10 s after a crash, 20 s and more on a busy machine. Each failed
   attempt is logged by Rasa as before.
5. `DialogueStateTracker.applied_events` walks the whole session on every call, and for every
   execution of a form again back to its previous one; the policies, the session check and
   the state featurizer call it several times per turn, so a turn grew with the conversation
   (a fifth of the server's time at turn 250). The same walk now continues from where the
   previous call on the same tracker stopped when events were only appended since, and starts
   over whenever that is not so (a new form name, or other events than before).
6. A lock store that cannot be reached (the cluster's Redis restarting: a second or less) made
   Rasa 3.6 fail the message at once with a LockError: REST answered 500, and a WhatsApp message,
   already acknowledged to Meta, was never answered. Taking a conversation's ticket is now tried
   again for up to LOCK_RETRY_SECONDS (without blocking the server) while the lock store's
   connection fails, and so is releasing it after the turn (a turn that ran while Redis
   restarted failed there: REST 500, WhatsApp's apology after the answer). A message waiting
   for its turn when the lock vanished (Redis restarted empty, or the lock expired) or when the
   store could not be read failed with "Could not acquire lock": it now drops its old ticket
   and takes a fresh one, within the same LOCK_RETRY_SECONDS. Such a lock no longer says who
   holds the conversation, so a turn still running then may overlap the next one, as when
   Rasa's lock expires; failing the message instead lost its answer. Any other error is raised
   as before. The rest of `LockStore.lock` is Rasa's.
7. The privacy notice (bot/rasa/notice.py): the events of every action pass through
   `attach_privacy_notice` just before Rasa logs them on the tracker. Rasa then sends the same
   (changed) list's messages, so the one bot message that carries the notice is the same in the
   tracker store and on every channel, and the tracker says whether it was shown.

Not here, because it must act before Rasa is imported: a server whose model has no TensorFlow
component does not import TensorFlow (bot/rasa/without_tensorflow.py, installed by
bot/rasa/cli.py).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, TypeVar

import aiohttp
import jsonschema
import redis
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.core.processor import MessageProcessor
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.shared.utils.common import all_subclasses

from bot.language.choice import CHOSEN_SLOT, REPLY_SLOT
from bot.rasa.components.language import CHOSEN_SLOT_KEY, REPLY_SLOT_KEY
from bot.rasa.components.triage import HISTORY_KEY
from bot.rasa.notice import attach_privacy_notice
from bot.readiness import retry_while
from bot.triage.detect.pipeline import CONTEXT_TURNS

_resolve_by_type_uncached = Event.resolve_by_type
_parse_with_graph = MessageProcessor._parse_message_with_graph
_run_remote_action = RemoteAction.run
_log_action_on_tracker = MessageProcessor._log_action_on_tracker
_event_classes: dict[str, type[Event]] = {}
T = TypeVar("T")
logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def _action_response_validator() -> jsonschema.protocols.Validator:
    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)  # once, instead of on every call
    return validator_class(schema)


def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
    error = jsonschema.exceptions.best_match(_action_response_validator().iter_errors(result))
    if error is not None:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response "
            f"from the Action endpoint is valid. For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        raise error
    return True


def _resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    found = _event_classes.get(type_name)
    if found is None:
        found = next((c for c in all_subclasses(Event) if c.type_name == type_name), None)
        if found is None:
            return _resolve_by_type_uncached(type_name, default)
        _event_classes[type_name] = found
    return found


_APPLIED_MEMO = "_meso_applied_events"
_rasa_applied_events = DialogueStateTracker.applied_events


def _apply_events(
    tracker: DialogueStateTracker,
    events: Any,
    loop_names: frozenset[str],
    applied: list[Event],
) -> list[Event]:
    """Rasa 3.6's DialogueStateTracker.applied_events loop over `events`, continuing `applied`."""
    for event in events:
        if isinstance(event, (Restarted, SessionStarted)):
            applied = []
        elif isinstance(event, ActionReverted):
            tracker._undo_till_previous(ActionExecuted, applied)
        elif isinstance(event, UserUtteranceReverted):
            tracker._undo_till_previous(UserUttered, applied)
            tracker._undo_till_previous(ActionExecuted, applied)
        elif (
            isinstance(event, ActionExecuted)
            and event.action_name in loop_names
            and not tracker._first_loop_execution_or_unhappy_path(event.action_name, applied)
        ):
            tracker._undo_till_previous_loop_execution(event.action_name, applied)
        else:
            applied.append(event)
    return applied


def _applied_events(self: DialogueStateTracker) -> list[Event]:
    events = self.events
    count = len(events)
    memo = getattr(self, _APPLIED_MEMO, None)
    new: list[Event] | None = None
    if memo is not None:
        seen, last, loop_names, applied = memo
        if seen <= count and (not seen or events[seen - 1] is last):
            new = list(itertools.islice(events, seen, None))
            if any(isinstance(e, ActiveLoop) and e.name and e.name not in loop_names for e in new):
                new = None  # a form seen for the first time changes how earlier events count
    if new is None:
        loop_names = frozenset(e.name for e in events if isinstance(e, ActiveLoop) and e.name)
        new, applied = list(events), []
    applied = _apply_events(self, new, loop_names, list(applied))
    setattr(self, _APPLIED_MEMO, (count, events[-1] if count else None, loop_names, applied))
    return list(applied)


def recent_patient_messages(tracker: DialogueStateTracker, turns: int = CONTEXT_TURNS) -> list[str]:
    """The text of the last `turns` patient messages of the current session, oldest first
    (button payloads such as "/deny" left out)."""
    found: list[str] = []
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        if isinstance(event, UserUttered) and event.text and not event.text.startswith("/"):
            found.append(event.text)
            if len(found) == turns:
                break
    return found[::-1]


def _parse_with_history(
    self: MessageProcessor,
    message: UserMessage,
    tracker: DialogueStateTracker,
    only_output_properties: bool = True,
) -> dict[str, Any]:
    context: dict[str, Any] = {
        HISTORY_KEY: recent_patient_messages(tracker),
        CHOSEN_SLOT_KEY: tracker.get_slot(CHOSEN_SLOT),
        REPLY_SLOT_KEY: tracker.get_slot(REPLY_SLOT),
    }
    context = {key: value for key, value in context.items() if value}
    if context:
        message = UserMessage(
            text=message.text,
            output_channel=message.output_channel,
            sender_id=message.sender_id,
            parse_data=message.parse_data,
            input_channel=message.input_channel,
            message_id=message.message_id,
            metadata={**(message.metadata or {}), **context},
        )
    return _parse_with_graph(self, message, tracker, only_output_properties)


ACTION_RETRY_SECONDS = 30.0
ACTION_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)  # then 4 s


def _unreachable(error: BaseException) -> bool:
    """True when Rasa gave up on a custom action because the action server could not be
    reached (Rasa raises RasaException inside its handler of the connection error)."""
    cause = error.__cause__ or error.__context__
    return isinstance(cause, aiohttp.ClientConnectionError)


def _replied_this_turn(tracker: DialogueStateTracker) -> bool:
    """True when the bot has uttered something since the latest user message."""
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return False
        if isinstance(event, BotUttered):
            return True
    return False


async def _run_remote_action_with_retry(
    self: RemoteAction,
    output_channel: Any,
    nlg: Any,
    tracker: DialogueStateTracker,
    domain: Any,
) -> list[Event]:
    if _replied_this_turn(tracker):
        return await _run_remote_action(self, output_channel, nlg, tracker, domain)
    return await retry_while(
        lambda: _run_remote_action(self, output_channel, nlg, tracker, domain),
        lambda error: isinstance(error, RasaException) and _unreachable(error),
        ACTION_RETRY_SECONDS,
        ACTION_RETRY_DELAYS,
    )


LOCK_RETRY_SECONDS = 30.0
LOCK_RETRY_DELAYS = (0.2, 0.5, 1.0, 2.0)  # then 2 s between attempts


def _lock_store_unreachable(error: Exception) -> bool:
    """True when the lock store's connection failed: a Redis error, or Rasa's LockError raised
    inside its handler of one."""
    redis_errors = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
    if isinstance(error, LockError):
        return isinstance(error.__cause__ or error.__context__, redis_errors)
    return isinstance(error, redis_errors)


async def _when_lock_store_reachable(call: Callable[[], T]) -> T:
    """`call()`, tried again while the lock store cannot be reached, for up to
    LOCK_RETRY_SECONDS; any other error, or the last one, is raised."""

    async def attempt() -> T:
        return call()

    return await retry_while(
        attempt, _lock_store_unreachable, LOCK_RETRY_SECONDS, LOCK_RETRY_DELAYS
    )


@asynccontextmanager
async def _lock_when_reachable(
    self: LockStore,
    conversation_id: str,
    lock_lifetime: float = LOCK_LIFETIME,
    wait_time_in_seconds: float = 1,
) -> AsyncIterator[TicketLock]:
    """Rasa's LockStore.lock, taking its ticket and releasing it with
    `_when_lock_store_reachable`: a turn that ran while Redis restarted is not failed by the
    release either (its reply is out by then)."""
    tickets: list[int] = []

    async def take_turn() -> TicketLock:
        if tickets:  # a lost wait: its ticket must not hold up the new one, if it still exists
            _drop_ticket(self, conversation_id, tickets[-1])
        tickets.append(
            await _when_lock_store_reachable(
                lambda: self.issue_ticket(conversation_id, lock_lifetime)
            )
        )
        try:
            return await self._acquire_lock(conversation_id, tickets[-1], wait_time_in_seconds)
        except LockError as error:  # Rasa's "Could not acquire lock": the lock vanished
            raise _LockVanished(str(error)) from error

    lock = await retry_while(
        take_turn,
        lambda error: isinstance(error, _LockVanished) or _lock_store_unreachable(error),
        LOCK_RETRY_SECONDS,
        LOCK_RETRY_DELAYS,
    )
    try:
        yield lock
    finally:
        await _when_lock_store_reachable(lambda: self.cleanup(conversation_id, tickets[-1]))


class _LockVanished(LockError):
    """The conversation's lock vanished while a message waited for its turn."""


def _drop_ticket(store: LockStore, conversation_id: str, ticket: int) -> None:
    """Remove `ticket` from the conversation's lock, as far as the lock store can be reached."""
    try:
        store.cleanup(conversation_id, ticket)
    except Exception as error:  # the store is still away, or the lock is gone: nothing held
        logger.debug("lock store: ticket %d not dropped (%s)", ticket, type(error).__name__)


def _log_action_with_notice(
    self: MessageProcessor,
    tracker: DialogueStateTracker,
    action: Any,
    events: list[Event] | None,
    prediction: Any,
) -> None:
    if events is not None:
        try:
            attach_privacy_notice(tracker, action.name(), events)
        except Exception:  # the reply matters more than its notice: it goes out without one
            logger.exception("privacy notice: not attached")
    _log_action_on_tracker(self, tracker, action, events, prediction)


def apply() -> None:
    """Install the fixes (idempotent)."""
    MessageProcessor._log_action_on_tracker = _log_action_with_notice  # type: ignore[method-assign]
    RemoteAction.run = _run_remote_action_with_retry  # type: ignore[method-assign]
    LockStore.lock = _lock_when_reachable  # type: ignore[method-assign,assignment]
    MessageProcessor._parse_message_with_graph = _parse_with_history  # type: ignore[method-assign]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(_resolve_by_type)  # type: ignore[method-assign]
    DialogueStateTracker.applied_events = _applied_events  # type: ignore[method-assign]
