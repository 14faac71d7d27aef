"""The review queue page, /clinician/review: the messages the assistant was unsure about, staff
labels, and the export to training data (bot/review). Sign-in and CSRF: routes._guard."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from bot.datafiles import DataFileError
from bot.review import queue
from bot.review.capture import REASON_LABELS, REASONS
from bot.review.export import ExportResult, ExportTargets, export_labels
from bot.triage.result import SEVERITIES
from bot.web.clinician.http import PREFIX, page, read_form, redirect, staff, text_field
from bot.web.clinician.state import inbox_state

REVIEW_PATH = f"{PREFIX}/review"
# Where the export writes; a deployment or test may set other places before the app starts.
EXPORT_TARGETS_KEY = web.AppKey("review_export_targets", ExportTargets)
_FILTERS = ("reason", "language", "page")
_CHOICE_MAX = 80
_UNFINISHED = "The export did not finish:"
_KEPT = "The labels are kept; export again once this is fixed (nothing is written twice)."
_ID_DIGITS = 9  # review item ids are 32-bit integers


def register(app: web.Application) -> None:
    app.router.add_get(REVIEW_PATH, review_page, name="clinician.review")
    app.router.add_post(f"{REVIEW_PATH}/items/{{item_id}}/label", label_action)
    app.router.add_post(f"{REVIEW_PATH}/export", export_action)


def _filters(source: Any) -> dict[str, str]:
    """The list's filters from a query or form: reason, language, page (all optional)."""
    found = {name: str(source.get(name) or "")[:32] for name in _FILTERS}
    if found["reason"] not in REASONS:
        found["reason"] = ""
    if not found["page"].isdigit():
        found["page"] = ""
    return {k: v for k, v in found.items() if v}


def _list_url(filters: dict[str, str], **extra: str) -> str:
    query = urlencode({**filters, **extra})
    return f"{REVIEW_PATH}?{query}" if query else REVIEW_PATH


async def _render(
    request: web.Request,
    filters: dict[str, str],
    status: int = 200,
    error: str = "",
    notice: str = "",
) -> web.Response:
    db = inbox_state(request).db
    listing = await asyncio.to_thread(
        queue.list_items,
        db,
        reason=filters.get("reason"),
        language=filters.get("language"),
        page=int(filters.get("page") or 1),
    )
    waiting = await asyncio.to_thread(queue.list_items, db, reviewed=True)
    return page(
        request,
        "review.html",
        status,
        section="review",
        listing=listing,
        filters=filters,
        reasons=REASON_LABELS,
        intents=queue.label_intents(),
        severities=SEVERITIES,
        waiting_export=waiting.total,
        waiting_items=waiting.items,
        list_url=_list_url,
        error=error,
        notice=notice,
    )


async def review_page(request: web.Request) -> web.Response:
    notice = "Label saved." if request.query.get("done") == "labelled" else ""
    return await _render(request, _filters(request.query), notice=notice)


def parse_choice(choice: str) -> tuple[str, str | None, str | None]:
    """The form's one choice ("topic:ask_cost", "out_of_scope", "missed_symptom:urgent") as
    (label, intent, severity); queue.check_label judges it."""
    kind, _, value = choice.partition(":")
    if kind == "topic":
        return kind, value or None, None
    if kind == "missed_symptom":
        return kind, None, value or None
    return kind, None, None


async def label_action(request: web.Request) -> web.Response:
    form = await read_form(request)
    filters = _filters(form or {})
    raw_id = request.match_info["item_id"]
    if not raw_id.isdigit() or len(raw_id) > _ID_DIGITS:
        raise web.HTTPNotFound()
    item_id = int(raw_id)
    label, intent, severity = parse_choice(text_field(form, "choice", _CHOICE_MAX))
    try:
        await asyncio.to_thread(
            queue.label_item,
            inbox_state(request).db,
            item_id,
            staff(request).username,
            label,
            intent,
            severity,
        )
    except queue.ItemNotFound:
        raise web.HTTPNotFound() from None
    except queue.InvalidLabel as refused:
        return await _render(request, filters, 400, error=f"Not saved: {refused}")
    return redirect(_list_url(filters, done="labelled"))


async def export_action(request: web.Request) -> web.Response:
    targets = request.config_dict.get(EXPORT_TARGETS_KEY) or ExportTargets()
    try:
        result: ExportResult = await asyncio.to_thread(
            export_labels, inbox_state(request).db, staff(request).username, targets
        )
    except DataFileError as broken:  # a hand-edited file the export must read first
        return await _render(request, {}, 500, error=f"{_UNFINISHED} {broken}. {_KEPT}")
    except OSError as failed:
        where = failed.filename or targets.nlu_dir
        problem = f"{where} could not be written ({failed.strerror})"
        return await _render(request, {}, 500, error=f"{_UNFINISHED} {problem}. {_KEPT}")
    summary = result.summary()
    if result.refused:
        return await _render(request, {}, error=summary)
    return await _render(request, {}, notice=summary)
