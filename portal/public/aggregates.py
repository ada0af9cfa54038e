"""Statistics of the public projection (the current list by ground) and the helpers of
``/stats``: months, median and percentile of histograms. The counts over time come from
:mod:`portal.services.listing_counts` (published or not any more)."""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import PublishedEntry
from portal.services.public_queries import LISTED, within


def month_start(day: dt.date, back: int = 0) -> dt.date:
    """First day of the month ``back`` months before the month of ``day``."""
    index = day.year * 12 + day.month - 1 - back
    return dt.date(index // 12, index % 12 + 1, 1)


def months(today: dt.date, count: int = 24) -> list[str]:
    """'YYYY-MM' of the last ``count`` months, oldest first, the current month last."""
    return [month_start(today, back).strftime("%Y-%m") for back in range(count - 1, -1, -1)]


def listed_by_ground(session: Session, codes=None, by_profile: bool = False) -> dict:
    """Listed entries per ground code of the jurisdictions ``codes`` (None: all); per
    (profile, ground code) when they follow several profiles (a code is its profile's)."""
    columns = ([PublishedEntry.profile] if by_profile else []) + [PublishedEntry.ground_code]
    rows = session.execute(
        sa.select(*columns, sa.func.count())
        .where(LISTED, within(PublishedEntry.jurisdiction, codes)).group_by(*columns)
    ).all()
    return {tuple(row[:-1]) if by_profile else row[0]: row[-1] for row in rows}


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
