"""Working days (工作日) for every deadline the portal computes.

SPEC §5: all "working days" follow the State Council holiday schedule,
including make-up working days on weekends (调休).  The day of the event is
not counted; the due date is the n-th working day after it.  Example from
Jiamusi art. 8 (publication "within 7 working days of the listing
decision"): a decision on 2026-09-28 is due for publication by 2026-10-13
(National Day 10-01..07 off, Saturday 10-10 is a make-up working day).

Each year has one rule set (its *source*):

* ``state-council`` — the published schedule carried by ``chinesecalendar``
  (2004–2026 in version 1.11);
* ``bureau`` — an admin has entered or imported that year's schedule
  (``confirmed_years``): Mon–Fri working, weekends off, except the
  admin-entered overrides;
* ``provisional`` — a year nobody has published yet: Mon–Fri working except
  the statutory holiday days of the law (:func:`statutory_holidays`), with no
  make-up days and no bridging.  Deadlines touching such a year are marked
  provisional.

Overrides (admin-entered days) win over every source for their day.
Pure Python: no Flask, no SQLAlchemy, no network.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from types import MappingProxyType

import chinese_calendar
from lunar_python import Lunar

__all__ = [
    "Deadline",
    "WorkCalendar",
    "statutory_holidays",
    "SOURCE_STATE_COUNCIL",
    "SOURCE_BUREAU",
    "SOURCE_PROVISIONAL",
]

SOURCE_STATE_COUNCIL = "state-council"
SOURCE_BUREAU = "bureau"
SOURCE_PROVISIONAL = "provisional"

NEW_YEAR = "New Year's Day"
SPRING_FESTIVAL = "Spring Festival"
TOMB_SWEEPING = "Tomb-sweeping Day"
LABOUR_DAY = "Labour Day"
DRAGON_BOAT = "Dragon Boat Festival"
MID_AUTUMN = "Mid-autumn Festival"
NATIONAL_DAY = "National Day"

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Deadline:
    """A computed due date and the rule sets it rests on."""

    due: date
    provisional: bool  # True if any day counted lies in a provisional year
    basis: str  # e.g. "state-council:2026+provisional:2027"


# --------------------------------------------------------------------------
# The law: 《全国年节及纪念日放假办法》 and its revisions
# --------------------------------------------------------------------------

def _lunar_to_solar(year: int, month: int, day: int) -> date:
    solar = Lunar.fromYmd(year, month, day).getSolar()
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


@lru_cache(maxsize=None)
def _statutory(year: int) -> Mapping[date, str]:
    days: dict[date, str] = {date(year, 1, 1): NEW_YEAR}

    # 春节.  除夕 is the last day of lunar month 12 (the 29th or the 30th), i.e.
    # the day before 正月初一 — computed that way it is right in either case.
    chuyi = _lunar_to_solar(year, 1, 1)
    if year >= 2025:  # 国务院令第795号: 除夕 + 初一至初三
        spring = [chuyi - _ONE_DAY, chuyi, chuyi + _ONE_DAY, chuyi + 2 * _ONE_DAY]
    elif 2008 <= year <= 2013:  # 国务院令第513号: 除夕、初一、初二
        spring = [chuyi - _ONE_DAY, chuyi, chuyi + _ONE_DAY]
    else:  # 1949, 1999 and 2013 texts: 初一至初三
        spring = [chuyi, chuyi + _ONE_DAY, chuyi + 2 * _ONE_DAY]
    for d in spring:
        days[d] = SPRING_FESTIVAL

    if year >= 2008:  # traditional festivals became holidays in 2008
        qingming = Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"]
        days[date(qingming.getYear(), qingming.getMonth(), qingming.getDay())] = TOMB_SWEEPING

    if year >= 2025:
        labour = 2
    elif 2000 <= year <= 2007:  # 1999 revision (in force 1999-09-18)
        labour = 3
    else:
        labour = 1
    for i in range(labour):
        days[date(year, 5, 1 + i)] = LABOUR_DAY

    if year >= 2008:
        days[_lunar_to_solar(year, 5, 5)] = DRAGON_BOAT
        days[_lunar_to_solar(year, 8, 15)] = MID_AUTUMN

    # National Day last: when 中秋 falls on Oct 1–3 (2020, 2028) the day is
    # counted once and named National Day, as chinesecalendar does.
    for i in range(3 if year >= 1999 else 2):
        days[date(year, 10, 1 + i)] = NATIONAL_DAY
    return MappingProxyType(dict(sorted(days.items())))


def statutory_holidays(year: int) -> dict[date, str]:
    """Statutory holiday days of ``year`` as the law defines them (not the schedule).

    From 2025: 元旦 1, 春节 4 (除夕 + 初一至初三), 清明 1, 劳动节 2, 端午 1, 中秋 1,
    国庆 3 — 13 days, fewer when two of them coincide.  Earlier years follow
    the text then in force (2014–2024, 2008–2013, 1999, 1949 versions).
    No make-up days and no bridging: weekends are not shifted.
    """
    return dict(_statutory(year))


# --------------------------------------------------------------------------
# Per-year working-day sets (cached; immutable)
# --------------------------------------------------------------------------

def _year_days(year: int) -> Iterable[date]:
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += _ONE_DAY


@lru_cache(maxsize=None)
def _state_council_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=None)
def _state_council_workdays(year: int) -> frozenset[int]:
    """Ordinals of the working days of a year in the published schedule."""
    return frozenset(d.toordinal() for d in _year_days(year) if chinese_calendar.is_workday(d))


@lru_cache(maxsize=None)
def _provisional_workdays(year: int) -> frozenset[int]:
    off = _statutory(year)
    return frozenset(
        d.toordinal() for d in _year_days(year) if d.weekday() < 5 and d not in off
    )


@lru_cache(maxsize=None)
def _weekday_workdays(year: int) -> frozenset[int]:
    return frozenset(d.toordinal() for d in _year_days(year) if d.weekday() < 5)


def _as_date(day: date) -> date:
    return day.date() if isinstance(day, datetime) else day


class WorkCalendar:
    """Working-day arithmetic over the State Council schedule, admin data and the law."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        confirmed_years: Iterable[int] = (),
    ) -> None:
        """overrides: admin-entered days (True = working day, False = day off); they win over everything.
        confirmed_years: years whose full schedule an admin has entered/imported (not provisional any more;
        their days come from overrides + weekends)."""
        self._overrides: dict[date, bool] = {
            _as_date(d): bool(v) for d, v in (overrides or {}).items()
        }
        self._confirmed: frozenset[int] = frozenset(int(y) for y in confirmed_years)
        self._overrides_by_year: dict[int, dict[int, bool]] = {}
        for d, v in self._overrides.items():
            self._overrides_by_year.setdefault(d.year, {})[d.toordinal()] = v
        self._years: dict[int, tuple[int, ...]] = {}

    # -- sources ---------------------------------------------------------

    def year_source(self, year: int) -> str:
        """"state-council" | "bureau" | "provisional" for ``year``."""
        if year in self._confirmed:
            return SOURCE_BUREAU
        if _state_council_covers(year):
            return SOURCE_STATE_COUNCIL
        return SOURCE_PROVISIONAL

    def is_provisional(self, year: int) -> bool:
        """True while nobody has published or entered the schedule of ``year``."""
        return self.year_source(year) == SOURCE_PROVISIONAL

    def _basis(self, first_year: int, last_year: int) -> tuple[bool, str]:
        sources = [(y, self.year_source(y)) for y in range(first_year, last_year + 1)]
        provisional = any(s == SOURCE_PROVISIONAL for _, s in sources)
        return provisional, "+".join(f"{s}:{y}" for y, s in sources)

    # -- per-year data ---------------------------------------------------

    def _workdays(self, year: int) -> tuple[int, ...]:
        """Sorted ordinals of the working days of ``year`` (overrides applied)."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        source = self.year_source(year)
        if source == SOURCE_STATE_COUNCIL:
            base = _state_council_workdays(year)
        elif source == SOURCE_BUREAU:
            base = _weekday_workdays(year)
        else:
            base = _provisional_workdays(year)
        overrides = self._overrides_by_year.get(year)
        if overrides:
            days = set(base)
            for ordinal, working in overrides.items():
                if working:
                    days.add(ordinal)
                else:
                    days.discard(ordinal)
            result = tuple(sorted(days))
        else:
            result = tuple(sorted(base))
        self._years[year] = result
        return result

    # -- queries ---------------------------------------------------------

    def is_workday(self, day: date) -> bool:
        """True if ``day`` is a working day."""
        day = _as_date(day)
        override = self._overrides.get(day)
        if override is not None:
            return override
        days = self._workdays(day.year)
        ordinal = day.toordinal()
        i = bisect_right(days, ordinal)
        return i > 0 and days[i - 1] == ordinal

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The n-th working day after ``start`` (the day of the event is not counted)."""
        start = _as_date(start)
        if n < 0:
            raise ValueError("n must be >= 0")
        if n == 0:
            provisional, basis = self._basis(start.year, start.year)
            return Deadline(start, provisional, basis)
        year = start.year
        days = self._workdays(year)
        i = bisect_right(days, start.toordinal())
        remaining = n
        while remaining > len(days) - i:
            remaining -= len(days) - i
            year += 1
            days = self._workdays(year)
            i = 0
        due = date.fromordinal(days[i + remaining - 1])
        provisional, basis = self._basis((start + _ONE_DAY).year, due.year)
        return Deadline(due, provisional, basis)

    def _count(self, low: date, high: date) -> int:
        """Working days in (low, high]; requires low <= high."""
        total = 0
        lo, hi = low.toordinal(), high.toordinal()
        for year in range(low.year, high.year + 1):
            days = self._workdays(year)
            left = bisect_right(days, lo) if year == low.year else 0
            right = bisect_right(days, hi) if year == high.year else len(days)
            total += right - left
        return total

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end``; negated when end < start."""
        start, end = _as_date(start), _as_date(end)
        if end >= start:
            return self._count(start, end)
        return -self._count(end, start)

    def next_workday(self, day: date) -> date:
        """First working day strictly after ``day``."""
        return self.add_working_days(day, 1).due
