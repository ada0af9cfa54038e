"""Server-rendered SVG charts: accessible, no JavaScript, no external resources.

Each chart is one image to assistive technology (``role="img"`` with a title and
a description referenced by ``aria-labelledby``) with a ``<title>`` on every bar
for pointer users; the page puts a data table beside it as the textual fallback.
Labels and values are HTML text wherever the chart may be narrow (bar charts, the
months on a phone), so they keep the page's font size at 390 px; only the bars are
SVG. The column chart (a wide screen only) is an inline ``<svg>`` whose text is
sized for the width it is shown at.  Colours come from classes styled in ``static/css/portal.css``
(CSP: no inline styles); every text is escaped here.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

COLUMN_WIDTH = 720
#: Width of a bar's track in its own SVG coordinates (stretched to the track's width).
TRACK = 1000


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


def _bar(css_class: str, share: float, tip: str) -> str:
    """A bar drawn in SVG across its track (the label and value are HTML text beside it)."""
    width = _num(TRACK * share)
    return (f'<svg class="hbar-svg" viewBox="0 0 {TRACK} 10" preserveAspectRatio="none" '
            f'focusable="false" aria-hidden="true"><rect class="{escape(("bar " + css_class).strip())}" x="0" y="0" '
            f'width="{width}" height="10" fill="#8c1c13"><title>{escape(tip)}</title></rect></svg>')


def _opening(chart_id: str, title: str, description: str, css_class: str) -> list[str]:
    cid = escape(chart_id)
    return [f'<div class="{css_class}" id="{cid}" role="img" aria-labelledby="{cid}-title {cid}-desc">',
            f'<span class="visually-hidden" id="{cid}-title">{escape(title)}</span>',
            f'<span class="visually-hidden" id="{cid}-desc">{escape(description)}</span>']


def bar_chart(chart_id: str, title: str, description: str,
              rows: Sequence[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per (label, value): the label (HTML text, wrapped, at the page's
    font size on any screen) above its bar, the value after it."""
    peak = max((value for _label, value in rows), default=0) or 1
    parts = _opening(chart_id, title, description, "hbar-chart")
    parts.append('<ul class="hbars">')
    for label, value in rows:
        share = value / peak if value else 0
        parts.append(f'<li><span class="hbar-label">{escape(label)}</span>'
                     f'<span class="hbar-track">{_bar("", max(share, 0.004 if value else 0), f"{label} ({value})")}'
                     f'<span class="hbar-value">{value}</span></span></li>')
    parts.append("</ul></div>")
    return Markup("".join(parts))


def month_bars(chart_id: str, title: str, description: str, categories: Sequence[str],
               series: Sequence[Series]) -> Markup:
    """The columns of :func:`column_chart` for a narrow screen: a row per category (month)
    with a bar per series, every label HTML text at the page's font size."""
    peak = max((v for s in series for v in s.values), default=0) or 1
    parts = _opening(chart_id, title, description, "hbar-chart month-bars")
    parts.append('<p class="legend">' + "".join(
        f'<span class="key {escape(s.css_class)}">{escape(s.name)}</span>' for s in series) + "</p>")
    parts.append('<ul class="hbars grouped">')
    for i, category in enumerate(categories):
        parts.append(f'<li><span class="hbar-label">{escape(category)}</span>')
        for s in series:
            value = s.values[i] if i < len(s.values) else 0
            share = max(value / peak, 0.004) if value else 0
            parts.append(f'<span class="hbar-track">{_bar(s.css_class, share, f"{category} · {s.name} ({value})")}'
                         f'<span class="hbar-value">{value}</span></span>')
        parts.append("</li>")
    parts.append("</ul></div>")
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
