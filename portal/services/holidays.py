"""The bureau's holiday calendar: enter or import a year, confirm it, recompute deadlines.

SPEC §5: years the State Council has not yet published are computed from the
statutory holidays and flagged *provisional*.  When an admin enters that
year's schedule (holidays and make-up working days, as :class:`HolidayOverride`
rows) and confirms it (a :class:`CalendarYear` row), every stored deadline
that was computed over a provisional year is recomputed from its original
start date with the new calendar; each changed record gets an audit event
with its old and new dates, and the list of changes is returned for the
admin to see.  An entered day applies at once (overrides win over every
source), so entering, deleting or importing days recomputes too when the
caller passes ``profiles``.  The published dates of public entries follow in
the same transaction (``published_dates.refresh``: projection, outbox,
publication version, audit).  Functions flush and never commit.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import CalendarYear, Case, HolidayOverride, StaffUser, Submission
from portal.rules import terms
from portal.rules.calendar import SOURCE_PROVISIONAL, WorkCalendar, statutory_holidays
from portal.rules.profiles import Profile
from portal.rules.workflow import OPEN_SUBMISSION_STATES, SubmissionKind
from portal.services import audit, published_dates
from portal.services.calendar import load_calendar
from portal.services.staff import _admin

#: Case deadlines: field, start-date field, profile deadline name.
CASE_DEADLINES = (
    ("defence_due_on", "pre_notice_served_on", "defence_window"),
    ("publish_due_on", "decided_on", "publication"),
    ("share_due_on", "decided_on", "sharing"),
)
_TRUE = {"1", "true", "yes", "y", "workday", "work", "是", "上班", "班"}
_FALSE = {"0", "false", "no", "n", "holiday", "off", "否", "休", "休息", "放假"}


class CalendarError(ValueError):
    """``code`` is machine-readable; ``detail`` carries dates or line numbers for the message."""

    def __init__(self, code: str, detail: object = None):
        self.code, self.detail = code, detail
        super().__init__(f"{code}: {detail}" if detail is not None else code)


@dataclass(frozen=True)
class DayRow:
    day: dt.date
    is_workday: bool
    note: str = ""


@dataclass(frozen=True)
class Change:
    """One recomputed deadline."""

    entity_type: str          # "case" | "submission" | "entry" (the case's public entry)
    entity_id: int            # case or submission id
    label: str                # case number or receipt number
    field: str
    old: dt.date | None
    new: dt.date | None
    provisional: bool         # still provisional after the recomputation


# --------------------------------------------------------------------------
# Entering a year
# --------------------------------------------------------------------------

def editable(calendar: WorkCalendar, year: int) -> bool:
    """Only a provisional year (not published by the State Council, not confirmed) is edited."""
    return calendar.year_source(year) == SOURCE_PROVISIONAL


def _check_editable(session: Session, year: int) -> None:
    if not editable(load_calendar(session), year):
        raise CalendarError("year_not_editable", year)


def year_overrides(session: Session, year: int) -> list[HolidayOverride]:
    return session.execute(
        sa.select(HolidayOverride)
        .where(HolidayOverride.day >= dt.date(year, 1, 1), HolidayOverride.day <= dt.date(year, 12, 31))
        .order_by(HolidayOverride.day)
    ).scalars().all()


ProfileFor = Callable[[str], Profile]


def _recompute_after(session: Session, actor: audit.Actor, year: int,
                     profiles: tuple[ProfileFor, Profile] | None) -> list[Change]:
    """A day of a provisional year changed: recompute what depended on it (same transaction)."""
    if profiles is None:
        return []
    session.flush()
    return recompute(session, actor, load_calendar(session), *profiles, since=dt.date(year, 1, 1))


def set_day(session: Session, admin: StaffUser, row: DayRow,
            profiles: tuple[ProfileFor, Profile] | None = None) -> list[Change]:
    """Enter one day; with ``profiles`` (``profile_for``, default profile) every stored and
    published date that depended on it is recomputed (:func:`recompute`)."""
    actor = _admin(admin)
    _check_editable(session, row.day.year)
    existing = session.get(HolidayOverride, row.day)
    before = None if existing is None else existing.is_workday
    if existing is None:
        session.add(HolidayOverride(day=row.day, is_workday=row.is_workday, note=row.note[:100]))
    else:
        existing.is_workday, existing.note = row.is_workday, row.note[:100]
    audit.record(session, actor, "calendar.set_day", "calendar", row.day.isoformat(),
                 {"is_workday": row.is_workday, "before": before, "note": row.note[:100]})
    session.flush()
    return _recompute_after(session, actor, row.day.year, profiles)


def delete_day(session: Session, admin: StaffUser, day: dt.date,
               profiles: tuple[ProfileFor, Profile] | None = None) -> list[Change]:
    actor = _admin(admin)
    _check_editable(session, day.year)
    existing = session.get(HolidayOverride, day)
    if existing is None:
        return []
    session.delete(existing)
    audit.record(session, actor, "calendar.delete_day", "calendar", day.isoformat(),
                 {"was_workday": existing.is_workday})
    session.flush()
    return _recompute_after(session, actor, day.year, profiles)


def parse_csv(text: str) -> list[DayRow]:
    """``date,is_workday,note`` lines (a header line is optional); errors name the line."""
    rows: list[DayRow] = []
    seen: set[dt.date] = set()
    for number, fields in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), start=1):
        if not fields or not "".join(fields).strip() or fields[0].strip().startswith("#"):
            continue
        if number == 1 and fields[0].strip().lower() == "date":
            continue
        if len(fields) < 2:
            raise CalendarError("csv_columns", number)
        try:
            day = dt.date.fromisoformat(fields[0].strip())
        except ValueError:
            raise CalendarError("csv_date", number) from None
        flag = fields[1].strip().lower()
        if flag not in _TRUE | _FALSE:
            raise CalendarError("csv_flag", number)
        if day in seen:
            raise CalendarError("csv_duplicate", number)
        seen.add(day)
        note = ",".join(fields[2:]).strip()[:100]
        rows.append(DayRow(day, flag in _TRUE, note))
    if not rows:
        raise CalendarError("csv_empty")
    return rows


def import_year(session: Session, admin: StaffUser, year: int, rows: list[DayRow],
                profiles: tuple[ProfileFor, Profile] | None = None) -> int:
    """Replace the overrides of ``year`` with ``rows`` (all must lie in that year)."""
    actor = _admin(admin)
    _check_editable(session, year)
    outside = [r.day for r in rows if r.day.year != year]
    if outside:
        raise CalendarError("csv_wrong_year", outside[0])
    for old in year_overrides(session, year):
        session.delete(old)
    session.flush()
    for row in rows:
        session.add(HolidayOverride(day=row.day, is_workday=row.is_workday, note=row.note))
    audit.record(session, actor, "calendar.import", "calendar", str(year), {
        "days_off": sum(not r.is_workday for r in rows),
        "workdays": sum(r.is_workday for r in rows),
    })
    session.flush()
    _recompute_after(session, actor, year, profiles)
    return len(rows)


def prefill_statutory(session: Session, admin: StaffUser, year: int) -> int:
    """Enter the statutory holidays of ``year`` that fall on weekdays as days off (a start)."""
    actor = _admin(admin)
    _check_editable(session, year)
    added = 0
    for day, name in statutory_holidays(year).items():
        if day.weekday() < 5 and session.get(HolidayOverride, day) is None:
            session.add(HolidayOverride(day=day, is_workday=False, note=name))
            added += 1
    audit.record(session, actor, "calendar.prefill", "calendar", str(year), {"added": added})
    session.flush()
    return added


def missing_statutory(session: Session, year: int) -> list[dt.date]:
    """Statutory holidays that would be working days once the year is confirmed.

    A confirmed year counts Mon–Fri as working days except the entered days
    off; the State Council never makes a statutory holiday a working day, so
    such a day means the schedule is incomplete.
    """
    entered = {o.day: o.is_workday for o in year_overrides(session, year)}
    return [day for day in statutory_holidays(year)
            if entered.get(day, day.weekday() < 5)]


# --------------------------------------------------------------------------
# Confirming a year and recomputing
# --------------------------------------------------------------------------

def confirm_year(session: Session, admin: StaffUser, year: int,
                 profile_for: Callable[[str], Profile], default_profile: Profile) -> list[Change]:
    """Mark ``year`` as entered (no longer provisional) and recompute what depended on it."""
    actor = _admin(admin)
    if not editable(load_calendar(session), year):
        raise CalendarError("year_not_editable", year)
    missing = missing_statutory(session, year)
    if missing:
        raise CalendarError("statutory_missing", missing)
    session.add(CalendarYear(year=year, confirmed_by_id=admin.id))
    session.flush()
    new = load_calendar(session)
    audit.record(session, actor, "calendar.confirm", "calendar", str(year), {
        "days_off": sum(not o.is_workday for o in year_overrides(session, year)),
        "workdays": sum(o.is_workday for o in year_overrides(session, year)),
    })
    return recompute(session, actor, new, profile_for, default_profile, since=dt.date(year, 1, 1))


def _case_changes(case: Case, profile: Profile, calendar: WorkCalendar) -> tuple[dict, bool]:
    new, provisional = {}, False
    for field, start_field, name in CASE_DEADLINES:
        start = getattr(case, start_field)
        if getattr(case, field) is None or start is None:
            continue
        due = terms.deadline(profile, name, start, calendar)
        new[field] = due.due
        provisional = provisional or due.provisional
    return new, provisional


def _submission_due(submission: Submission, profile: Profile, case: Case | None,
                    calendar: WorkCalendar):
    """New (due, provisional, basis) from the receipt date.

    A clock that a 补正 request paused keeps its extension: the working days
    it was paused (``details["paused_working_days"]``, kept by
    ``submissions.reply_material``) are added again with the new calendar.
    """
    from portal.services.submissions import due_date

    base = due_date(profile, submission.kind, case, submission.received_on, calendar)
    if base is None:
        return None
    paused = int((submission.details or {}).get("paused_working_days", 0) or 0)
    if paused > 0 and submission.kind is not SubmissionKind.DEFENCE:
        moved = calendar.add_working_days(base.due, paused)
        return moved.due, base.provisional or moved.provisional, base.basis
    return base.due, base.provisional, base.basis


def recompute(session: Session, actor: audit.Actor, new: WorkCalendar,
              profile_for: Callable[[str], Profile], default_profile: Profile,
              since: dt.date | None = None) -> list[Change]:
    """Recompute every provisional deadline with ``new``; audit and return what changed.

    Case deadlines and the due dates of open filings that were computed over a provisional
    year, and the published dates of public entries (rectification closes, repair opens,
    the term; from ``since`` on when given): the projection, the outbox and the publication
    version change in the same transaction (:func:`published_dates.refresh`).
    """
    changes: list[Change] = []
    provisional_cases = session.execute(
        sa.select(Case).where(Case.deadlines_provisional.is_(True)).order_by(Case.id)
    ).scalars().all()
    for case in provisional_cases:
        fresh, provisional = _case_changes(case, profile_for(case.profile), new)
        moved = {f: (getattr(case, f), d) for f, d in fresh.items() if getattr(case, f) != d}
        for field, (before, after) in moved.items():
            setattr(case, field, after)
            changes.append(Change("case", case.id, case.case_no, field, before, after, provisional))
        if moved or provisional != case.deadlines_provisional:
            audit.record(session, actor, "calendar.recompute", "case", case.case_no, {
                **{f: [b, a] for f, (b, a) in moved.items()},
                "provisional": [case.deadlines_provisional, provisional],
            })
        case.deadlines_provisional = provisional
    session.flush()

    open_submissions = session.execute(
        sa.select(Submission).where(Submission.due_provisional.is_(True),
                                    Submission.state.in_(list(OPEN_SUBMISSION_STATES)))
        .order_by(Submission.id)
    ).scalars().all()
    for sub in open_submissions:
        case = session.get(Case, sub.case_id) if sub.case_id else None
        profile = profile_for(case.profile) if case is not None else default_profile
        result = _submission_due(sub, profile, case, new)
        if result is None:
            continue
        due, provisional, basis = result
        if due != sub.due_on:
            changes.append(Change("submission", sub.id, sub.receipt_no, "due_on", sub.due_on, due,
                                  provisional))
        if due != sub.due_on or provisional != sub.due_provisional:
            audit.record(session, actor, "calendar.recompute", "submission", sub.receipt_no, {
                "due_on": [sub.due_on, due], "provisional": [sub.due_provisional, provisional],
            })
        sub.due_on, sub.due_provisional = due, provisional
        sub.due_basis = (basis or "")[:80] or sub.due_basis
    session.flush()

    for _entry, case, field, before, after, provisional in published_dates.refresh(
            session, actor, new, profile_for, since):
        if field == "dates_provisional":      # the flag, not a date: it shows on the moved dates
            continue
        changes.append(Change("entry", case.id, case.case_no, field, before, after, provisional))
    return changes
