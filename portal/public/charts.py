"""Server-rendered SVG charts: accessible, no JavaScript, no external resources.

Each chart is an inline ``<svg role="img">`` with a ``<title>`` and a
``<desc>`` (referenced by ``aria-labelledby``) and a ``<title>`` on every
bar for pointer users; the page puts a data table beside it as the textual
fallback.  Colours come from classes styled in ``static/css/portal.css``
(CSP: no inline styles); every text is escaped here.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_WIDTH = 640
COLUMN_WIDTH = 720


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str          # e.g. "added" -> <rect class="bar added">
    values: Sequence[int]


def _num(value: float) -> str:
    """Compact coordinates: 12.0 -> "12", 12.345 -> "12.35"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 × 10^k that is >= value (axis maximum); 1 for an empty chart."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _open(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    cid = escape(chart_id)
    return [
        (f'<svg class="chart" id="{cid}" xmlns="http://www.w3.org/2000/svg" role="img" '
         f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
         f'aria-labelledby="{cid}-title {cid}-desc">'),
        f'<title id="{cid}-title">{escape(title)}</title>',
        f'<desc id="{cid}-desc">{escape(description)}</desc>',
    ]


def bar_chart(chart_id: str, title: str, description: str,
              rows: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per (label, value); the label above its bar, the value after it."""
    row_height, top = 44, 6
    height = top + row_height * max(len(rows), 1)
    peak = max((value for _label, value in rows), default=0) or 1
    room = BAR_WIDTH - 70
    parts = _open(chart_id, title, description, BAR_WIDTH, height)
    for i, (label, value) in enumerate(rows):
        y = top + i * row_height
        width = room * value / peak
        parts.append(
            f'<g class="row"><text class="label" x="0" y="{y + 14}">{escape(label)}</text>'
            f'<rect class="bar" x="0" y="{y + 20}" width="{_num(max(width, 1 if value else 0))}" '
            f'height="16" fill="#8c1c13"><title>{escape(label)}: {value}</title></rect>'
            f'<text class="value" x="{_num(width + 6)}" y="{y + 33}">{value}</text></g>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def column_chart(chart_id: str, title: str, description: str, categories: Sequence[str],
                 series: Sequence[Series], label_every: int = 3) -> Markup:
    """Grouped columns per category (e.g. month) with a legend, gridlines and axis labels."""
    left, right, top, bottom = 40, 8, 34, 28
    height = 260
    plot_w, plot_h = COLUMN_WIDTH - left - right, height - top - bottom
    peak = nice_ceiling(max((v for s in series for v in s.values), default=0))
    slot = plot_w / max(len(categories), 1)
    bar = slot * 0.8 / max(len(series), 1)
    parts = _open(chart_id, title, description, COLUMN_WIDTH, height)
    x = left
    for s in series:  # legend
        parts.append(f'<rect class="bar {escape(s.css_class)}" x="{x}" y="6" width="12" height="12" '
                     f'fill="#8c1c13"></rect><text class="legend" x="{x + 16}" y="17">{escape(s.name)}</text>')
        x += 180
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line class="grid" x1="{left}" x2="{COLUMN_WIDTH - right}" y1="{_num(y)}" '
                     f'y2="{_num(y)}" stroke="#d9dee5"></line>'
                     f'<text class="axis" x="{left - 4}" y="{_num(y + 4)}" text-anchor="end">'
                     f'{_num(peak * fraction)}</text>')
    for i, category in enumerate(categories):
        x0 = left + i * slot + slot * 0.1
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else 0
            h = plot_h * value / peak
            parts.append(
                f'<rect class="bar {escape(s.css_class)}" x="{_num(x0 + j * bar)}" '
                f'y="{_num(top + plot_h - h)}" width="{_num(bar)}" height="{_num(h)}" fill="#8c1c13">'
                f'<title>{escape(category)} · {escape(s.name)}: {value}</title></rect>'
            )
        if i % label_every == 0 or i == len(categories) - 1:
            parts.append(f'<text class="axis" x="{_num(left + i * slot + slot / 2)}" '
                         f'y="{height - 8}" text-anchor="middle">{escape(category)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
