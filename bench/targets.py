"""The targets of the read-optimised portal, in one table (1,000,000 entries, 2 workers).

Each figure of a run is compared with its target here; nothing else in the
harness knows a target.  ``kind``:

* ``ratio_min`` — the figure, a ratio to its same-run reference, must be at least ``value``;
* ``max`` — the figure (in ``unit``) must be at most ``value``;
* ``min`` — at least ``value``.

A figure without a row here is reported without a target.
"""
from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    kind: str
    value: float
    unit: str = ""
    note: str = ""


TARGETS: dict[str, Target] = {
    "entry page": Target("ratio_min", 0.6, "× ceiling"),
    "entry pages, 2,000 different": Target("ratio_min", 0.6, "× ceiling", "mostly not cached"),
    "/entries page 1": Target("ratio_min", 0.5, "× ceiling", "list pages, any page"),
    "/entries deepest page": Target("ratio_min", 0.5, "× ceiling", "list pages, any page"),
    "/removals": Target("ratio_min", 0.5, "× ceiling", "list pages, any page"),
    "/api/v1/entries": Target("ratio_min", 0.5, "× ceiling", "list pages, any page"),
    "304 on an entry's ETag": Target("ratio_min", 0.85, "× ceiling"),
    "search p95 (single client)": Target("max", 30.0, "ms"),
    "search p95 vs FTS5 p95": Target("max", 1.0, "× FTS5", "no slower than FTS5"),
    "search recall@10": Target("min", 0.95),
    "publish-to-searchable max": Target("max", 2.0, "s"),
    "index build, scaled to 1M": Target("max", 600.0, "s", "linear from N"),
    "seed, scaled to 1M": Target("max", 600.0, "s", "linear from N"),
    "worker RSS": Target("max", 250.0, "MB"),
    "CSV export time vs sqlite3 -csv": Target("max", 1.0, "× sqlite3"),
}


def verdict(name: str, value: float | None) -> tuple[str, str]:
    """(target text, "met" / "missed" / "") for a figure."""
    target = TARGETS.get(name)
    if target is None or value is None:
        return ("", "") if target is None else (describe(target), "n/a")
    if target.kind in ("ratio_min", "min"):
        met = value >= target.value
    else:
        met = value <= target.value
    return describe(target), "met" if met else "missed"


def describe(target: Target) -> str:
    sign = "≥" if target.kind in ("ratio_min", "min") else "≤"
    return f"{sign} {target.value:g}{(' ' + target.unit) if target.unit else ''}"
