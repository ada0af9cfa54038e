"""Listing terms, the repeat-listing rule, deadlines and eligibility windows.

Pure functions: dates, a :class:`~portal.rules.profiles.Profile` and (for
working days) a :class:`~portal.rules.calendar.WorkCalendar` in, dates out.

How periods are counted (one rule everywhere, from the law):

* 《民法典》 art. 201: a period counted in days, months or years starts on the
  day *after* the event ("开始的当日不计入");
* art. 202: a period in months or years ends on the corresponding day of the
  final month, or on that month's last day when it has no such day
  (Jan 31 + 1 month = Feb 28/29);
* art. 203: when the last day of a period a party must act within is a
  statutory rest day, the period ends on the next working day — applied by
  :func:`deadline` (and the rectification window) when a calendar is given;
* working days: the day of the event is not counted and the due date is the
  n-th working day after it (SPEC §5; :mod:`portal.rules.calendar`).

So "a term of 1 year" from a decision on 2026-03-15 covers 2026-03-16 to
2027-03-15 inclusive; the subject is still listed on 2027-03-15 and leaves
the list on 2027-03-16 ("期满自动移出", Jiamusi art. 10).  ``Term.expires_on``
is that removal day; ``Term.last_day`` is the day before.  Likewise "within 3
months" of listing on 2026-03-15 ends on 2026-06-15 (the last day in), and a
repair that may be applied for only "after" a 1-year minimum period from
2026-05-01 opens on 2027-05-02.
"""
from __future__ import annotations

import calendar as _stdcal
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from portal.rules.profiles import Period, Profile

if TYPE_CHECKING:  # pragma: no cover
    from portal.rules.calendar import Deadline, WorkCalendar

__all__ = [
    "add_period", "Term", "listing_term", "deadline", "Eligibility",
    "rectification_window", "rectification_eligibility", "repair_eligibility",
    "objection_marker_due", "supplement_due", "profile_warning", "ReportDue", "report_due",
    "EntryDates", "entry_dates",
]

_ONE_DAY = timedelta(days=1)


# --------------------------------------------------------------------------
# Period arithmetic
# --------------------------------------------------------------------------

def _add_months(start: date, months: int) -> date:
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, _stdcal.monthrange(year, month)[1])
    return date(year, month, day)


def add_period(start: date, period: Period, calendar: "WorkCalendar | None" = None) -> date:
    """The last day of ``period`` counted from ``start`` (``start`` itself not counted).

    months/years: the same day number of the later month, clamped to the
    month's end (2026-01-31 + 1 month = 2026-02-28; 2028-02-29 + 1 year =
    2029-02-28); days: calendar days; working_days: the n-th working day
    after ``start`` (needs ``calendar``).
    """
    n = period.amount
    if period.unit == "days":
        return start + timedelta(days=n)
    if period.unit == "months":
        return _add_months(start, n)
    if period.unit == "years":
        return _add_months(start, 12 * n)
    if period.unit == "working_days":
        if calendar is None:
            raise ValueError(f"a period of {n} working days needs a WorkCalendar")
        return calendar.add_working_days(start, n).due
    raise ValueError(f"unknown unit {period.unit!r}")


def _longer(start: date, a: Period, b: Period) -> bool:
    """True if ``b`` ends on or after ``a`` when both start on ``start``."""
    return add_period(start, b) >= add_period(start, a)


# --------------------------------------------------------------------------
# Listing terms
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Term:
    """The listing term of one case.

    ``start``: the listing decision date (the term runs from the day after).
    ``expires_on``: the day the subject leaves the list automatically —
    the day after the term's last day.  ``last_day`` is the last listed day.
    ``repeat``: the repeat-listing rule decided the period.
    """

    start: date
    expires_on: date
    period: Period
    repeat: bool
    source: str

    @property
    def last_day(self) -> date:
        return self.expires_on - _ONE_DAY


def listing_term(profile: Profile, ground_code: str, start: date, prior_listings: int = 0) -> Term:
    """The term of a listing on ``ground_code`` decided on ``start``.

    With ``prior_listings > 0`` and a repeat rule in the profile (Jiamusi
    art. 10 ¶2: any repeat listing runs 3 years; Fuzhou §三(二): extended, at
    most to the national maximum), the longer of the ground's term and the
    repeat term applies.
    """
    if prior_listings < 0:
        raise ValueError("prior_listings must be >= 0")
    ground = profile.ground(ground_code)
    period, repeat, source = ground.term, False, ground.term.source
    rule = profile.repeat
    if prior_listings > 0 and rule.term is not None and _longer(start, ground.term, rule.term):
        period, repeat = rule.term, True
        source = f"{rule.term.source} (repeat listing; ground term: {ground.term.source})"
    return Term(start=start, expires_on=add_period(start, period) + _ONE_DAY,
                period=period, repeat=repeat, source=source)


# --------------------------------------------------------------------------
# Deadlines
# --------------------------------------------------------------------------

def _deadline_cls():
    from portal.rules.calendar import Deadline
    return Deadline


def _period_deadline(start: date, period: Period, calendar: "WorkCalendar | None") -> "Deadline":
    Deadline = _deadline_cls()
    if period.unit == "working_days":
        if calendar is None:
            raise ValueError(f"a deadline of {period.amount} working days needs a WorkCalendar")
        return calendar.add_working_days(start, period.amount)
    due = add_period(start, period)
    if calendar is None:
        return Deadline(due=due, provisional=False, basis="calendar")
    if period.amount == 0 or calendar.is_workday(due):
        # provisional only if whether ``due`` is a working day is not yet known
        return Deadline(due=due, provisional=calendar.is_provisional(due.year), basis="calendar")
    # 《民法典》 art. 203: the last day falls on a rest day -> next working day.
    moved = calendar.add_working_days(due, 1)
    return Deadline(due=moved.due, provisional=moved.provisional,
                    basis=f"calendar+next-workday({moved.basis})")


def deadline(profile: Profile, name: str, start: date, calendar: "WorkCalendar | None") -> "Deadline":
    """Due date of the profile deadline ``name`` for an event on ``start``.

    Working days are counted by ``calendar`` (its ``provisional`` flag and
    ``basis`` propagate).  Days/months/years give ``add_period``; when that
    last day is not a working day in ``calendar`` it moves to the next
    working day (《民法典》 art. 203) and the basis says so; without a
    calendar the plain date is returned with basis ``"calendar"``.
    The legal source of the period is ``profile.deadline(name).source``.
    """
    return _period_deadline(start, profile.deadline(name), calendar)


def objection_marker_due(profile: Profile, accepted_on: date, calendar: "WorkCalendar") -> "Deadline":
    return deadline(profile, "objection_marker", accepted_on, calendar)


def supplement_due(profile: Profile, requested_on: date, calendar: "WorkCalendar") -> "Deadline":
    return deadline(profile, "supplement_reply", requested_on, calendar)


# --------------------------------------------------------------------------
# Eligibility windows
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Eligibility:
    """Whether a filing may be made on a given day, and the window it belongs to.

    ``reason``: "ok", "ground_not_rectifiable", "repeat_listing",
    "window_closed", "window_not_open", "repair_not_allowed", "not_listed".
    ``opens_on`` / ``closes_on``: first and last day of the window (inclusive)
    where known.
    """

    allowed: bool
    reason: str
    opens_on: date | None
    closes_on: date | None
    source: str


def rectification_window(profile: Profile, listed_on: date,
                         calendar: "WorkCalendar | None" = None) -> tuple[date, date]:
    """First and last day (inclusive) of the rectification window after listing."""
    return listed_on, _period_deadline(listed_on, profile.deadline("rectification_window"), calendar).due


def rectification_eligibility(profile: Profile, ground_code: str, listed_on: date, prior_listings: int,
                              today: date, calendar: "WorkCalendar | None" = None) -> Eligibility:
    """May the subject file rectification evidence today? (Jiamusi art. 11)

    Only a first listing on a rectifiable ground, from the listing day up to
    and including ``listed_on`` + the rectification window (3 months: listed
    2026-03-15 → last day in 2026-06-15).
    """
    ground = profile.ground(ground_code)
    window = profile.deadline("rectification_window")
    source = f"{ground.source}; window {window.source}"
    if not ground.rectifiable:
        return Eligibility(False, "ground_not_rectifiable", None, None, ground.source)
    if prior_listings > 0:
        return Eligibility(False, "repeat_listing", None, None, f"{source} (first listing only)")
    opens, closes = rectification_window(profile, listed_on, calendar)
    if today < listed_on:
        return Eligibility(False, "not_listed", opens, closes, source)
    if today > closes:
        return Eligibility(False, "window_closed", opens, closes, source)
    return Eligibility(True, "ok", opens, closes, source)


def repair_eligibility(profile: Profile, ground_code: str, listed_on: date, today: date,
                       term_expires_on: date | None, *, prior_listings: int = 0,
                       calendar: "WorkCalendar | None" = None) -> Eligibility:
    """May the subject apply for credit repair today?

    * overlay profiles (``profile.national_overlay``): only after the class's
      shortest publication period (light: at once; general: 3 months;
      serious: 1 year) — listed 2026-05-01, serious → opens 2027-05-02;
    * Jiamusi-style seeds (``repair.opens_after_rectification_window``): a
      first listing on a rectifiable ground opens the day after the
      rectification window closes (art. 12: "未按时整改的失信主体");
    * otherwise: any time while listed.
    Where several rules apply the latest opening day wins (the stricter rule).
    The window closes with the term: its last day is ``term_expires_on - 1``.
    """
    ground = profile.ground(ground_code)
    rule = profile.repair
    if not rule.allowed:
        return Eligibility(False, "repair_not_allowed", None, None, rule.source)
    opens, sources = listed_on, [rule.source]
    if profile.national_overlay:
        minimum = rule.min_period.get(ground.severity)
        if minimum is not None and minimum.amount > 0:
            opens = max(opens, add_period(listed_on, minimum) + _ONE_DAY)
            sources.append(f"minimum period for {ground.severity}: {minimum.source}")
    if rule.opens_after_rectification_window and ground.rectifiable and prior_listings == 0:
        _, rect_closes = rectification_window(profile, listed_on, calendar)
        opens = max(opens, rect_closes + _ONE_DAY)
        sources.append(f"after the rectification window: {profile.deadline('rectification_window').source}")
    closes = term_expires_on - _ONE_DAY if term_expires_on is not None else None
    source = "; ".join(sources)
    if today < listed_on:
        return Eligibility(False, "not_listed", opens, closes, source)
    if closes is not None and today > closes:
        return Eligibility(False, "window_closed", opens, closes, source)
    if today < opens:
        return Eligibility(False, "window_not_open", opens, closes, source)
    return Eligibility(True, "ok", opens, closes, source)


# --------------------------------------------------------------------------
# The dates an entry publishes
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class EntryDates:
    """Every date a listing publishes, computed in one place.

    Publication, the recomputation after a calendar change and
    ``verify publication`` all call :func:`entry_dates`; what the public reads
    (entry page, list, /check, exports, API, feed) and what the letters print
    are these values.

    ``term_start``: the decision day (the term runs from the day after);
    ``term_last_day``: the last day on the list (the corresponding day N
    years later, 《民法典》 arts. 201–202); ``leaves_list_on``: the day the
    subject leaves the list automatically (the day after);
    ``rectification_closes_on`` / ``repair_opens_on``: the last day of the
    rectification window and the first day a credit repair may be applied
    for, ``None`` where they do not apply; ``provisional``: the names of the
    dates that rest on a provisional calendar year (they may move when the
    State Council publishes that year's schedule).
    """

    term_start: date
    term_last_day: date
    leaves_list_on: date
    rectification_closes_on: date | None
    repair_opens_on: date | None
    provisional: frozenset[str]
    term: Term

    #: The published date fields, in the order the surfaces show them.
    FIELDS = ("term_start", "term_last_day", "leaves_list_on",
              "rectification_closes_on", "repair_opens_on")

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}


def entry_dates(profile: Profile, ground_code: str, decided_on: date, prior_listings: int,
                calendar: WorkCalendar | None) -> EntryDates:
    """The published dates of a listing on ``ground_code`` decided on ``decided_on``."""
    term = listing_term(profile, ground_code, decided_on, prior_listings)
    provisional: set[str] = set()
    rect = rectification_eligibility(profile, ground_code, decided_on, prior_listings,
                                     decided_on, calendar)
    rect_closes = rect.closes_on if rect.allowed else None
    if rect_closes is not None and calendar is not None:
        window = _period_deadline(decided_on, profile.deadline("rectification_window"), calendar)
        if window.provisional:
            provisional.add("rectification_closes_on")
    repair_opens = None
    if profile.repair.allowed:
        repair_opens = repair_eligibility(profile, ground_code, decided_on, decided_on,
                                          term.expires_on, prior_listings=prior_listings,
                                          calendar=calendar).opens_on
        if ("rectification_closes_on" in provisional and repair_opens is not None
                and repair_opens == rect_closes + _ONE_DAY):
            provisional.add("repair_opens_on")
    return EntryDates(term_start=term.start, term_last_day=term.last_day,
                      leaves_list_on=term.expires_on, rectification_closes_on=rect_closes,
                      repair_opens_on=repair_opens, provisional=frozenset(provisional), term=term)


def removal_problem(profile: Profile, ground_code: str, reason: str, listed_on: date,
                    term_expires_on: date | None, prior_listings: int,
                    removed_on: date, calendar: "WorkCalendar | None" = None) -> str | None:
    """Why a removal for ``reason`` on ``removed_on`` would be wrong, or None (SPEC §4 step 7).

    * ``term_expired``: not before the day the subject leaves the list (Jiamusi art. 10);
    * ``rectified``: only a first listing on a rectifiable ground (art. 11);
    * ``credit_repaired``: only where the profile allows repair, and not before the
      repair window opens (art. 12; the overlay's minimum periods);
    * an upheld objection or a revoked decision may end any listing at any time.
    Returns "term_not_over", "not_rectifiable", "repeat_listing", "repair_not_allowed",
    "repair_not_open" or "before_listing".
    """
    if removed_on < listed_on:
        return "before_listing"
    if reason == "term_expired":
        return "term_not_over" if term_expires_on is None or removed_on < term_expires_on else None
    if reason == "rectified":
        if not profile.ground(ground_code).rectifiable:
            return "not_rectifiable"
        return "repeat_listing" if prior_listings > 0 else None
    if reason == "credit_repaired":
        if not profile.repair.allowed:
            return "repair_not_allowed"
        opens = repair_eligibility(profile, ground_code, listed_on, removed_on, None,
                                   prior_listings=prior_listings, calendar=calendar).opens_on
        return "repair_not_open" if opens is not None and removed_on < opens else None
    return None


# --------------------------------------------------------------------------
# Validity of the profile itself, reporting
# --------------------------------------------------------------------------

def profile_warning(profile: Profile, day: date) -> str | None:
    """"expired" / "not_yet_in_force" when ``day`` lies outside the profile's validity."""
    if profile.valid_until is not None and day > profile.valid_until:
        return "expired"
    if profile.valid_from is not None and day < profile.valid_from:
        return "not_yet_in_force"
    return None


@dataclass(frozen=True)
class ReportDue:
    """Due dates of one periodic report: to the first recipient, and onwards."""

    period_start: date
    period_end: date
    due: "Deadline | None"
    forward_due: "Deadline | None"
    source: str


def report_due(profile: Profile, year: int, number: int,
               calendar: "WorkCalendar | None" = None) -> ReportDue | None:
    """Due dates of report ``number`` (month 1–12 or quarter 1–4) of ``year``.

    Monthly with a period (Chizhou: 7 working days after the month ends; the
    county office forwards within 3 days of that); quarterly with fixed days
    (Zhengzhou: by the 20th of the quarter's last month to the legal office,
    by the 30th to the city bureau).  ``None`` if the profile has no report.
    """
    rule = profile.report
    if rule is None:
        return None
    Deadline = _deadline_cls()
    if rule.frequency == "monthly":
        if not 1 <= number <= 12:
            raise ValueError("month must be 1..12")
        first_month = last_month = number
    else:
        if not 1 <= number <= 4:
            raise ValueError("quarter must be 1..4")
        first_month, last_month = 3 * number - 2, 3 * number
    start = date(year, first_month, 1)
    end = date(year, last_month, _stdcal.monthrange(year, last_month)[1])

    def fixed(day_of_month: int) -> "Deadline":
        day = min(day_of_month, _stdcal.monthrange(year, last_month)[1])
        return Deadline(due=date(year, last_month, day), provisional=False, basis="calendar")

    due = None
    if rule.due is not None:
        due = _period_deadline(end, rule.due, calendar)
    elif rule.due_day_of_month is not None:
        due = fixed(rule.due_day_of_month)
    forward = None
    if rule.forward_due is not None and due is not None:
        forward = _period_deadline(due.due, rule.forward_due, calendar)
    elif rule.forward_day_of_month is not None:
        forward = fixed(rule.forward_day_of_month)
    return ReportDue(start, end, due, forward, rule.source)


def removal_publication_last_day(profile: Profile, removed_on: date) -> date | None:
    """The last day a removal notice (and an entry kept with it) is published, from the
    profile's ``[publication] removal_notice_period``; None: no period set."""
    period = profile.removal_notice_period
    return add_period(removed_on, period) if period is not None else None
