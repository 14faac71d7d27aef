"""Charts as SVG text drawn on the server: no script, no library, nothing from another site.

Every chart is an `<svg role="img">` with a <title> and a <desc> that screen readers announce,
and a <title> on each bar (a tooltip with the exact figure). Every label is escaped, so a name
from the database can never become markup. Colours are the Okabe-Ito palette, told apart with
colour blindness, and severities keep the inbox's colours.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
OTHER_COLOUR = "#6b7280"
SEVERITY_COLOURS = {"emergency": "#b00020", "urgent": "#9a4a00", "routine": "#1d4ed8"}

WIDTH = 880
FONT = 'font-family="system-ui, sans-serif" font-size="13"'


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    colour: str


def _text(value: object) -> str:
    return escape(str(value))


def _axis(largest: float, whole: bool) -> tuple[float, float]:
    """(top, step) of a value axis: a step of 1, 2 or 5 times a power of ten (at least 1 for
    counts, so no tick reads 1.25), about four steps up to the first one at or above `largest`."""
    if largest <= 0:
        return 1.0, 1.0
    rough = largest / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= rough)
    if whole:
        step = max(1.0, float(math.ceil(step)))
    return step * math.ceil(largest / step), float(step)


def _open(chart_id: str, title: str, description: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" id={quoteattr(chart_id)} '
        f"aria-labelledby={quoteattr(f'{chart_id}-title {chart_id}-desc')} {FONT}>",
        f"<title id={quoteattr(f'{chart_id}-title')}>{_text(title)}</title>",
        f"<desc id={quoteattr(f'{chart_id}-desc')}>{_text(description)}</desc>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
    ]


def _legend(series: Sequence[Series], y: int) -> list[str]:
    parts, x = [], 60
    for s in series:
        width = 28 + 7 * len(s.name)
        if x + width > WIDTH - 10:
            x, y = 60, y + 20
        parts.append(
            f'<g class="legend-item"><rect x="{x}" y="{y - 11}" width="14" height="14" '
            f'fill="{s.colour}"/><text x="{x + 20}" y="{y}" fill="#1a1d21">'
            f"{_text(s.name)}</text></g>"
        )
        x += width
    return parts


def stacked_bars(
    chart_id: str,
    title: str,
    description: str,
    labels: Sequence[str],
    series: Sequence[Series],
    value_text: Callable[[float], str] = lambda v: f"{v:g}",
    axis_max: float | None = None,
) -> str:
    """One bar per label, its series stacked bottom up; `labels` are ISO dates or ranges."""
    legend_rows = 1 + sum(28 + 7 * len(s.name) for s in series) // (WIDTH - 80)
    height = 300 + 20 * legend_rows
    top, bottom, left, right = 20, 250, 60, WIDTH - 20
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    if axis_max:
        top_value, step = axis_max, axis_max / 4
    else:
        top_value, step = _axis(max(totals, default=0), whole=True)
    scale = (bottom - top) / top_value
    parts = _open(chart_id, title, description, height)
    for tick in range(round(top_value / step) + 1):
        value = tick * step
        y = bottom - value * scale
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d1d5db"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#4b5563">'
            f"{_text(value_text(value))}</text>"
        )
    slot = (right - left) / max(len(labels), 1)
    bar = max(1.0, slot * 0.7)
    every = max(1, math.ceil(len(labels) / 8))  # at most 8 dates written under the axis
    for i, label in enumerate(labels):
        x = left + i * slot + (slot - bar) / 2
        y = float(bottom)
        for s in series:
            value = s.values[i] or 0
            if value <= 0:
                continue
            h = value * scale
            y -= h
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{s.colour}"><title>{_text(f"{label}: {s.name} {value_text(value)}")}'
                "</title></rect>"
            )
        if i % every == 0:
            short = label.split(" ")[0][5:]  # MM-DD of the bucket's first day
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{bottom + 18}" text-anchor="middle" '
                f'fill="#4b5563">{_text(short)}</text>'
            )
    parts.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#1a1d21"/>')
    if not any(totals):
        parts.append(
            f'<text x="{WIDTH / 2}" y="{(top + bottom) / 2}" text-anchor="middle" '
            'fill="#4b5563" font-size="16">Nothing in this period</text>'
        )
    parts += _legend(series, bottom + 50)
    parts.append("</svg>")
    return "".join(parts)


def horizontal_bars(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[tuple[str, float | None, str, str]],
) -> str:
    """One bar per row: (label, value or None for no data, the figure written beside it, colour)."""
    row_height, left, right = 34, 170, WIDTH - 200
    height = 30 + row_height * max(len(rows), 1)
    top_value = max((r[1] or 0 for r in rows), default=0) or 1.0
    parts = _open(chart_id, title, description, height)
    for i, (label, value, figure, colour) in enumerate(rows):
        y = 15 + i * row_height
        width = (value or 0) / top_value * (right - left)
        parts.append(
            f'<text x="{left - 10}" y="{y + 18}" text-anchor="end" fill="#1a1d21">'
            f"{_text(label)}</text>"
        )
        if value:
            parts.append(
                f'<rect class="bar" x="{left}" y="{y + 4}" width="{max(width, 2):.1f}" '
                f'height="{row_height - 12}" fill="{colour}">'
                f"<title>{_text(f'{label}: {figure}')}</title></rect>"
            )
        parts.append(
            f'<text x="{left + width + 8:.1f}" y="{y + 18}" fill="#1a1d21">{_text(figure)}</text>'
        )
    if not rows:
        parts.append(
            f'<text x="{WIDTH / 2}" y="35" text-anchor="middle" fill="#4b5563" '
            'font-size="16">Nothing in this period</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
