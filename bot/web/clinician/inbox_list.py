"""The inbox lists at volume: counts, filters in the URL, pages, search by reference, and live
updates over server-sent events (bot/web/clinician/live.py).

URLs: /clinician (open and acknowledged tickets by default), /clinician/resolved, the JSON
/clinician/api/tickets, and /clinician/api/inbox/events (the stream a list page listens to).
All take the same query parameters: status, severity, channel, from and to (YYYY-MM-DD in the
clinic's time zone, both inclusive), ref (a ticket reference or its first digits) and page.
A value that cannot be used is named in a 400 answer; nothing is guessed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.tickets import inbox_search
from bot.tickets.inbox_search import (
    ALL_STATUSES,
    MIN_REFERENCE_CHARS,
    SEVERITIES,
    STATUS_CHOICES,
    Counts,
    InboxFilter,
    InboxRow,
)
from bot.tickets.states import RESOLVED
from bot.web.clinician.clock import utcnow
from bot.web.clinician.http import API_PREFIX, PREFIX, page, redirect, session_token, ticket_url
from bot.web.clinician.live import LiveEvent, StreamEnded, stream_events
from bot.web.clinician.state import inbox_state

RESOLVED_PATH = f"{PREFIX}/resolved"
EVENTS_PATH = f"{API_PREFIX}inbox/events"
# Without JavaScript the list reloads itself this often (a <noscript> refresh).
NO_SCRIPT_REFRESH_SECONDS = 60
# A ticket is committed a moment after its recorded_at is set: look this far back on each poll
# so one committed late is still sent (the stream and the page skip tickets already shown).
LIVE_LOOKBACK = timedelta(seconds=10)
# Counts are recounted at once when a ticket arrives, else this often (status changes).
COUNTS_EVERY_SECONDS = 5.0
# A stream ends this soon after its session does; checking does not keep the session alive.
SESSION_CHECK_SECONDS = 10.0
MAX_PAGE = 100_000
_FIELDS = ("status", "severity", "channel", "from", "to", "ref", "page")
_HEADINGS = {
    "active": "Open tickets",
    "open": "Not yet acknowledged",
    "acknowledged": "Acknowledged tickets",
    RESOLVED: "Resolved tickets",
    "all": "All tickets",
}


def register(app: web.Application) -> None:
    router = app.router
    router.add_get(PREFIX, inbox_page, name="clinician.inbox")
    router.add_get(RESOLVED_PATH, resolved_page, name="clinician.resolved")
    router.add_get(f"{API_PREFIX}tickets", api_tickets, name="clinician.api.tickets")
    router.add_get(EVENTS_PATH, inbox_events, name="clinician.api.inbox_events")


def alarm_prefix(open_emergencies: int) -> str:
    """What the page title starts with while emergencies wait for acknowledgement."""
    return f"({open_emergencies}) EMERGENCY — " if open_emergencies else ""


# --- reading the query -----------------------------------------------------------------------


@dataclass(frozen=True)
class ListRequest:
    """A list URL's query, checked: the filter, the page, the values as given (to fill the form
    again and to build links) and what was wrong with them."""

    criteria: InboxFilter
    page: int
    values: dict[str, str]
    problems: list[str]

    @property
    def narrowed(self) -> bool:
        """Whether the counts are limited by channel, dates or reference."""
        c = self.criteria
        return any(
            value is not None
            for value in (c.channel, c.created_from, c.created_before, c.reference)
        )


def read_query(
    query: Mapping[str, str], default_status: str, channels: Sequence[str]
) -> ListRequest:
    """Check a list URL's query; every unusable value gives a sentence in `problems`."""
    values = {name: query.get(name, "").strip()[:100] for name in _FIELDS}
    problems: list[str] = []
    status = values["status"] or default_status
    if status not in STATUS_CHOICES:
        problems.append(_not_one_of("Status", values["status"], STATUS_CHOICES))
        status = default_status
    severity = values["severity"] or None
    if severity is not None and severity not in SEVERITIES:
        problems.append(_not_one_of("Severity", severity, SEVERITIES))
        severity = None
    channel = values["channel"] or None
    if channel is not None and channel not in channels:
        known = ", ".join(channels) if channels else "none yet"
        problems.append(
            f"No ticket has come in through the channel “{channel}”. Channels with tickets: "
            f"{known}."
        )
        channel = None
    first_day = _day(values["from"], "From", problems)
    last_day = _day(values["to"], "To", problems)
    if first_day and last_day and first_day > last_day:
        problems.append("The “from” date is after the “to” date: swap them or change one.")
        first_day = last_day = None
    reference = None
    if values["ref"]:
        reference = inbox_search.normalise_reference(values["ref"])
        try:
            InboxFilter(reference=reference)
        except ValueError:
            problems.append(
                f"“{values['ref']}” is not a ticket reference. A reference is the 8 letters and "
                f"digits the patient was given, such as 3F2A9C1E; the first {MIN_REFERENCE_CHARS} "
                "are enough."
            )
            reference = None
    page_number = 1
    if values["page"]:
        if values["page"].isdigit() and 1 <= int(values["page"]) <= MAX_PAGE:
            page_number = int(values["page"])
        else:
            problems.append(f"“{values['page']}” is not a page number: pages start at 1.")
    criteria = InboxFilter(
        status=status,
        severity=severity,
        channel=channel,
        created_from=_clinic_midnight(first_day),
        created_before=_clinic_midnight(last_day + timedelta(days=1) if last_day else None),
        reference=reference,
    )
    given = {name: value for name, value in values.items() if value and name != "page"}
    return ListRequest(criteria, page_number, given, problems)


def _not_one_of(name: str, value: str, allowed: Sequence[str] | Mapping[str, Any]) -> str:
    return f"{name} “{value}” is not one of: {', '.join(allowed)}."


def _day(value: str, name: str, problems: list[str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.append(
            f"“{name}” date “{value}” is not a date of the calendar written like 2026-03-31."
        )
        return None


def _clinic_midnight(day: date | None) -> datetime | None:
    """The start of `day` in the server's time zone (the clinic's, as pages show times), UTC."""
    if day is None:
        return None
    return datetime.combine(day, time()).astimezone().astimezone(timezone.utc)


def list_url(path: str, values: Mapping[str, str], **changes: str | int | None) -> str:
    """`path` with the filter `values`, changed by `changes` (None removes a parameter)."""
    merged: dict[str, str] = dict(values)
    for name, value in changes.items():
        if value is None or value == "":
            merged.pop(name, None)
        else:
            merged[name] = str(value)
    if merged.get("page") == "1":
        del merged["page"]
    ordered = [(name, merged[name]) for name in _FIELDS if name in merged]
    return path + ("?" + urlencode(ordered) if ordered else "")


# --- pages -----------------------------------------------------------------------------------


async def inbox_page(request: web.Request) -> web.Response:
    return await _list_page(request, PREFIX, "active", "open")


async def resolved_page(request: web.Request) -> web.Response:
    return await _list_page(request, RESOLVED_PATH, RESOLVED, "resolved")


async def _list_page(
    request: web.Request, path: str, default_status: str, section: str
) -> web.Response:
    db = inbox_state(request).db
    channels = await asyncio.to_thread(inbox_search.channels, db)
    wanted = read_query(request.query, default_status, channels)
    if not wanted.problems and any(not value.strip() for value in request.query.values()):
        # The filter form sends its empty fields too: bookmark the short URL instead.
        return redirect(list_url(path, wanted.values, page=wanted.page))
    problems = list(wanted.problems)
    results = None
    if not problems:
        results = await asyncio.to_thread(inbox_search.search, db, wanted.criteria, wanted.page)
        if wanted.page > results.pages:
            problems.append(
                f"There is no page {wanted.page}: these filters give {results.pages} "
                f"page{'s' if results.pages != 1 else ''}."
            )
    counts = await asyncio.to_thread(inbox_search.counts, db, wanted.criteria)
    heading = _HEADINGS[wanted.criteria.status]
    return page(
        request,
        "inbox.html",
        400 if problems else 200,
        section=section,
        heading=heading,
        title_prefix=alarm_prefix(counts.open_emergencies),
        path=path,
        wanted=wanted,
        problems=problems,
        results=results,
        counts=counts,
        count_statuses=ALL_STATUSES,
        channels=channels,
        statuses=list(STATUS_CHOICES),
        status_names=_HEADINGS,
        list_url=list_url,
        live_url=None if problems else list_url(EVENTS_PATH, _stream_values(wanted, path)),
        refresh=NO_SCRIPT_REFRESH_SECONDS,
    )


def _stream_values(wanted: ListRequest, path: str) -> dict[str, str]:
    """The filter as the event stream reads it, with the status made explicit."""
    values = {k: v for k, v in wanted.values.items() if k != "page"}
    values["status"] = wanted.criteria.status
    values["since"] = utcnow().isoformat()
    return values


# --- JSON and the event stream ---------------------------------------------------------------


async def api_tickets(request: web.Request) -> web.Response:
    """One page of tickets (summary fields only, no patient text), the counts and the paging."""
    db = inbox_state(request).db
    channels = await asyncio.to_thread(inbox_search.channels, db)
    wanted = read_query(request.query, "active", channels)
    if wanted.problems:
        return web.json_response({"error": "bad filter", "problems": wanted.problems}, status=400)
    results = await asyncio.to_thread(inbox_search.search, db, wanted.criteria, wanted.page)
    counts = await asyncio.to_thread(inbox_search.counts, db, wanted.criteria)
    now = utcnow()
    return web.json_response(
        {
            "generated_at": now.isoformat(),
            "page": results.page,
            "pages": results.pages,
            "total": results.total,
            "counts": counts.as_json(),
            "tickets": [
                {**row.summary.as_json(now), "url": ticket_url(row.summary.id)}
                for row in results.rows
            ],
        }
    )


async def inbox_events(request: web.Request) -> web.StreamResponse:
    """Server-sent events for a list page: `ticket` for each new ticket matching its filter
    (with the row's HTML, rendered by the page's own template) and `counts` when they change.
    The cursor is when the newest ticket sent was written (Ticket.recorded_at)."""
    state = inbox_state(request)
    channels = await asyncio.to_thread(inbox_search.channels, state.db)
    wanted = read_query(request.query, "active", channels)
    since = _parse_time(request.query.get("since", ""))
    if wanted.problems:
        return web.json_response({"error": "bad filter", "problems": wanted.problems}, status=400)
    sent: dict[str, datetime] = {}
    last_counts: list[Counts] = []
    loop = asyncio.get_running_loop()
    counted_at = [-COUNTS_EVERY_SECONDS]

    token = session_token(request)
    checked_at = [loop.time()]

    async def poll(cursor: str | None) -> tuple[list[LiveEvent], str | None]:
        if loop.time() >= checked_at[0] + SESSION_CHECK_SECONDS:
            checked_at[0] = loop.time()
            if not await asyncio.to_thread(state.sessions.is_current, token):
                raise StreamEnded  # signed out or expired: no more patient text
        newest = _parse_time(cursor or "") or since or utcnow()
        rows = await asyncio.to_thread(
            inbox_search.recorded_after, state.db, wanted.criteria, newest - LIVE_LOOKBACK
        )
        events = [_ticket_event(request, row) for row in rows if row.summary.id not in sent]
        for row in rows:
            recorded_at = row.recorded_at or row.summary.created_at
            sent[row.summary.id] = recorded_at
            newest = max(newest, recorded_at)
        for ticket_id, recorded_at in list(sent.items()):
            if recorded_at < newest - 2 * LIVE_LOOKBACK:
                del sent[ticket_id]
        clock = loop.time()
        if events or clock >= counted_at[0] + COUNTS_EVERY_SECONDS:
            counted_at[0] = clock
            counts = await asyncio.to_thread(inbox_search.counts, state.db, wanted.criteria)
            if not last_counts or counts != last_counts[0]:
                last_counts[:] = [counts]
                events.append(_counts_event(request, counts, wanted))
        return events, newest.isoformat()

    return await stream_events(request, poll)


def _parse_time(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _fragment(request: web.Request, template: str, **context: Any) -> str:
    return inbox_state(request).templates.render(
        template, prefix=PREFIX, ticket_url=ticket_url, now=utcnow(), **context
    )


def _ticket_event(request: web.Request, row: InboxRow) -> LiveEvent:
    summary = row.summary
    return LiveEvent(
        "ticket",
        {
            "id": summary.id,
            "severity": summary.severity,
            "html": _fragment(request, "_ticket_row.html", row=row),
            "announcement": f"New {summary.severity} ticket {row.reference}.",
        },
    )


def _counts_event(request: web.Request, counts: Counts, wanted: ListRequest) -> LiveEvent:
    return LiveEvent(
        "counts",
        {
            "title_prefix": alarm_prefix(counts.open_emergencies),
            "open_emergencies": counts.open_emergencies,
            "html": _fragment(
                request,
                "_counts.html",
                counts=counts,
                count_statuses=ALL_STATUSES,
                wanted=wanted,
                list_url=list_url,
            ),
        },
    )
