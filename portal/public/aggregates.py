"""Statistics of the public projection: SQL GROUP BY queries, small results.

Every query aggregates in the database (fast on a million rows) and returns
at most a few hundred rows.  ``year_month`` compiles to ``strftime`` on
SQLite and ``to_char`` on PostgreSQL.
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from portal.models import PublishedEntry, RemovalNotice
from portal.public.queries import LISTED, notice_public


class year_month(FunctionElement):
    """'YYYY-MM' of a date column, on SQLite and PostgreSQL (no bound parameters: GROUP BY-safe)."""

    type = sa.String()
    name = "year_month"
    inherit_cache = True


@compiles(year_month)
def _year_month_sqlite(element, compiler, **kw):
    percent = "%%" if compiler.dialect.paramstyle in ("format", "pyformat") else "%"
    return f"strftime('{percent}Y-{percent}m', {compiler.process(element.clauses, **kw)})"


@compiles(year_month, "postgresql")
def _year_month_postgresql(element, compiler, **kw):
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM')"


def month_start(day: dt.date, back: int = 0) -> dt.date:
    """First day of the month ``back`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def months(today: dt.date, count: int = 24) -> list[str]:
    """'YYYY-MM' of the last ``count`` months, oldest first, the current month last."""
    return [month_start(today, back).strftime("%Y-%m") for back in range(count - 1, -1, -1)]


def listed_by_ground(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(PublishedEntry.ground_code, sa.func.count()).where(LISTED)
        .group_by(PublishedEntry.ground_code)
    ).all()
    return {code: n for code, n in rows}


def monthly_flows(session: Session, since: dt.date,
                  pairs: list[tuple[dt.date, dt.date, int]]) -> dict[str, dict[str, int]]:
    """Additions (by month of the listing decision) and removals (by month of removal) since ``since``.

    Additions count the published entries, removed ones included — folded from
    ``pairs`` (:func:`publication_pairs`, already grouped by decision date) —
    and the listings that ended in credit repair, whose entries are no longer
    published but whose removal notices keep the listing date.
    """
    flows: dict[str, dict[str, int]] = {"added": {}, "removed": {}}
    for listed, _published, n in pairs:
        month = listed.strftime("%Y-%m")
        flows["added"][month] = flows["added"].get(month, 0) + n
    added = sa.literal_column("'added'")
    removed = sa.literal_column("'removed'")
    parts = sa.union_all(
        sa.select(year_month(RemovalNotice.listed_on).label("month"), added.label("flow"))
        .where(notice_public(), RemovalNotice.entry_public_id.is_(None),
               RemovalNotice.listed_on >= since),
        sa.select(year_month(RemovalNotice.removed_on).label("month"), removed.label("flow"))
        .where(notice_public(), RemovalNotice.removed_on >= since),
    ).subquery()
    rows = session.execute(
        sa.select(parts.c.month, parts.c.flow, sa.func.count())
        .group_by(parts.c.month, parts.c.flow)
    ).all()
    for month, flow, n in rows:
        flows[flow][month] = flows[flow].get(month, 0) + n
    return flows


def removal_reasons(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(RemovalNotice.reason, sa.func.count()).where(notice_public())
        .group_by(RemovalNotice.reason)
    ).all()
    return {reason: n for reason, n in rows}


def publication_pairs(session: Session, since: dt.date) -> list[tuple[dt.date, dt.date, int]]:
    """(decision date, publication date, count) of the entries decided since ``since``."""
    rows = session.execute(
        sa.select(PublishedEntry.listed_on, PublishedEntry.published_on, sa.func.count())
        .where(PublishedEntry.visible.is_(True), PublishedEntry.listed_on >= since)
        .group_by(PublishedEntry.listed_on, PublishedEntry.published_on)
    ).all()
    return [(listed, published, n) for listed, published, n in rows]


# ------------------------------------------------------------ processing time

def _value_at(histogram: list[tuple[int, int]], rank: int) -> int:
    """The value at 0-based ``rank`` of the sorted sample described by (value, count) pairs."""
    seen = 0
    for value, n in histogram:
        seen += n
        if rank < seen:
            return value
    raise IndexError(rank)


def median(histogram: Iterable[tuple[int, int]]) -> float | None:
    pairs = sorted(histogram)
    total = sum(n for _v, n in pairs)
    if not total:
        return None
    return (_value_at(pairs, (total - 1) // 2) + _value_at(pairs, total // 2)) / 2


def percentile(histogram: Iterable[tuple[int, int]], p: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least p % of the sample at or below it."""
    pairs = sorted(histogram)
    total = sum(n for _v, n in pairs)
    if not total:
        return None
    return _value_at(pairs, max(1, math.ceil(p / 100 * total)) - 1)


@dataclass(frozen=True)
class ProcessingTime:
    """Days from the listing decision to publication of the decisions published since the
    start of the window (histograms from :mod:`portal.services.timeliness`)."""

    count: int
    median_days: float | None
    p90_days: int | None
    median_working_days: float | None
    p90_working_days: int | None


def processing_time(delays: Iterable[tuple[int, int]],
                    working_delays: Iterable[tuple[int, int]]) -> ProcessingTime:
    delays, working_delays = list(delays), list(working_delays)
    return ProcessingTime(
        count=sum(n for _v, n in delays), median_days=median(delays),
        p90_days=percentile(delays, 90), median_working_days=median(working_delays),
        p90_working_days=percentile(working_delays, 90),
    )
