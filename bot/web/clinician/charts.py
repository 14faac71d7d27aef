"""/clinician/charts: five charts of the clinic's work over a date range, drawn on the server as
SVG (bot/analytics/svg.py), each with a CSV download at /clinician/charts/<name>.csv.

The range comes from `?from=YYYY-MM-DD&to=YYYY-MM-DD` (default: the last 30 days to today, UTC);
a bad range is answered 400 with what is wrong, never a 500. Ticket figures come from the
project's database, questions and reply kinds from Rasa's tracker store (TRACKER_URL_KEY, else
MESO_TRACKER_URL or the default file, bot/analytics/conversations.py).
"""

from __future__ import annotations

import asyncio
from functools import cache
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, make_url

from bot.analytics import conversations, figures, svg
from bot.analytics.figures import Figures
from bot.analytics.period import Period, PeriodError, parse_period
from bot.analytics.svg import Series
from bot.storage.rasa_events import tracker_url
from bot.web.clinician.clock import utcnow
from bot.web.clinician.http import PREFIX, page
from bot.web.clinician.render import format_age, label
from bot.web.clinician.state import inbox_state

CHARTS_PATH = f"{PREFIX}/charts"
TRACKER_URL_KEY = web.AppKey("clinician_tracker_url", str)
MOST_TOPICS_DRAWN = 6  # the rest are drawn together as "other topics" (the CSV has them all)


def register(app: web.Application) -> None:
    app.router.add_get(CHARTS_PATH, charts_page, name="clinician.charts")
    app.router.add_get(f"{CHARTS_PATH}/{{chart}}.csv", chart_csv, name="clinician.charts.csv")


@cache
def _engine(url: str) -> Engine:
    return create_engine(url, future=True, pool_pre_ping=True)


def _tracker(request: web.Request) -> Engine | None:
    """Rasa's tracker store; None while its SQLite file does not exist (connecting would
    create an empty one before Rasa does)."""
    url = request.config_dict.get(TRACKER_URL_KEY) or tracker_url()
    database = make_url(url).database
    sqlite_file = url.startswith("sqlite") and database and database != ":memory:"
    if sqlite_file and not Path(database).exists():
        return None
    return _engine(url)


def _period(request: web.Request) -> Period:
    return parse_period(request.query.get("from"), request.query.get("to"), utcnow().date())


async def _figures(request: web.Request, period: Period) -> Figures:
    db = inbox_state(request).db
    return await asyncio.to_thread(figures.collect, db, _tracker(request), period)


async def charts_page(request: web.Request) -> web.Response:
    raw_from, raw_to = request.query.get("from", ""), request.query.get("to", "")
    try:
        period = _period(request)
    except PeriodError as exc:
        return page(
            request,
            "charts.html",
            400,
            section="charts",
            error=str(exc),
            raw_from=raw_from[:40],
            raw_to=raw_to[:40],
            charts=[],
            period=None,
        )
    data = await _figures(request, period)
    query = urlencode({"from": period.first.isoformat(), "to": period.last.isoformat()})
    return page(
        request,
        "charts.html",
        section="charts",
        error="",
        raw_from=period.first.isoformat(),
        raw_to=period.last.isoformat(),
        period=period,
        charts=_charts(data, query),
    )


async def chart_csv(request: web.Request) -> web.Response:
    chart = request.match_info["chart"]
    if chart not in figures.CHARTS:
        raise web.HTTPNotFound()
    try:
        period = _period(request)
    except PeriodError as exc:
        return web.Response(text=f"{exc}\n", status=400, content_type="text/plain")
    data = await _figures(request, period)
    name = f"{chart}_{period.first.isoformat()}_{period.last.isoformat()}.csv"
    return web.Response(
        text=figures.csv_text(figures.table(data, chart)),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- drawing ---------------------------------------------------------------------------------


def _chart(name: str, title: str, drawing: str | None, summary: str, query: str) -> dict:
    return {
        "name": name,
        "title": title,
        "svg": Markup(drawing) if drawing is not None else None,  # noqa: S704 (escaped in svg.py)
        "summary": summary,
        "csv": f"{CHARTS_PATH}/{name}.csv?{query}",
    }


def _labels(period: Period) -> list[str]:
    return [period.bucket_label(i) for i in range(len(period.buckets))]


def _per(period: Period) -> str:
    return "day" if period.bucket_days == 1 else "week"


def _charts(data: Figures, query: str) -> list[dict]:
    period = data.period
    labels = _labels(period)
    unavailable = "The conversation store could not be read, so this chart is missing."
    charts = []

    if data.topics is None:
        charts.append(_chart("topics", "Questions per topic", None, unavailable, query))
    else:
        drawn = list(data.topics.series[:MOST_TOPICS_DRAWN])
        series = [
            Series(label(t), data.topics.counts[t], svg.PALETTE[i % len(svg.PALETTE)])
            for i, t in enumerate(drawn)
        ]
        rest = data.topics.series[MOST_TOPICS_DRAWN:]
        if rest:
            other = [sum(data.topics.counts[t][i] for t in rest) for i in range(len(labels))]
            series.append(Series("other topics", other, svg.OTHER_COLOUR))
        total = sum(data.topics.total(t) for t in data.topics.series)
        top = ", ".join(f"{label(t)} {data.topics.total(t)}" for t in drawn)
        summary = f"{total} questions about {len(data.topics.series)} topics" + (
            f"; most asked: {top}." if top else "."
        )
        drawing = svg.stacked_bars(
            "chart-topics",
            f"Questions per topic per {_per(period)}",
            summary,
            labels,
            series,
        )
        charts.append(_chart("topics", "Questions per topic", drawing, summary, query))

    esc = data.escalations
    series = [
        Series(s, esc.counts[s], svg.SEVERITY_COLOURS.get(s, svg.OTHER_COLOUR)) for s in esc.series
    ]
    summary = "Tickets: " + ", ".join(f"{s} {esc.total(s)}" for s in esc.series) + "."
    drawing = svg.stacked_bars(
        "chart-escalations", f"Escalations per severity per {_per(period)}", summary, labels, series
    )
    charts.append(_chart("escalations", "Escalations per severity", drawing, summary, query))

    if data.replies is None:
        charts.append(
            _chart("replies", "Clarify and out-of-scope replies", None, unavailable, query)
        )
    else:
        shares = conversations.unsure_shares(data.replies, len(labels))
        colours = {"clarify": svg.PALETTE[1], "out_of_scope": svg.PALETTE[0]}
        series = [
            Series(label(k), [100 * (v or 0) for v in shares[k]], colours[k])
            for k in conversations.UNSURE_KINDS
        ]
        total = sum(data.replies.total(k) for k in data.replies.series)
        parts = [
            f"{label(k)} {data.replies.total(k)} ({_percent(data.replies.total(k), total)})"
            for k in conversations.UNSURE_KINDS
        ]
        summary = f"{total} replies; " + ", ".join(parts) + "."
        drawing = svg.stacked_bars(
            "chart-replies",
            f"Share of clarify and out-of-scope replies per {_per(period)}",
            summary,
            labels,
            series,
            value_text=lambda v: f"{v:.0f}%",
            axis_max=100,
        )
        charts.append(
            _chart("replies", "Clarify and out-of-scope replies", drawing, summary, query)
        )

    rows = []
    for a in data.acknowledge:
        if a.median_seconds is None:
            figure = "none acknowledged"
        else:
            figure = f"{format_age(round(a.median_seconds))} (of {a.acknowledged})"
        if a.waiting:
            figure += f", {a.waiting} waiting"
        minutes = None if a.median_seconds is None else a.median_seconds / 60
        rows.append((a.severity, minutes, figure, svg.SEVERITY_COLOURS.get(a.severity, "#6b7280")))
    summary = "; ".join(f"{r[0]}: {r[2]}" for r in rows) + "."
    drawing = svg.horizontal_bars(
        "chart-acknowledge", "Median time to acknowledge, by severity", summary, rows
    )
    charts.append(
        _chart("acknowledge", "Median time to acknowledge, by severity", drawing, summary, query)
    )

    total = sum(n for _, n in data.channels)
    rows = [
        (label(c), float(n), f"{n} ({_percent(n, total)})", svg.PALETTE[i % len(svg.PALETTE)])
        for i, (c, n) in enumerate(data.channels)
    ]
    summary = (
        "Tickets by channel: " + ", ".join(f"{r[0]} {r[2]}" for r in rows) + "."
        if rows
        else "No tickets in this period."
    )
    drawing = svg.horizontal_bars("chart-channels", "Channel mix of tickets", summary, rows)
    charts.append(_chart("channels", "Channel mix", drawing, summary, query))
    return charts


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "0%"
