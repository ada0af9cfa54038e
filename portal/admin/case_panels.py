"""The case page's filings and clocks, read from the services and the rules (no rule here).

* :func:`filings` — every filing on the case, oldest first, with its decision due date;
* :func:`clocks` — what the party may still file and until when (the filing windows of
  :mod:`portal.services.filing_windows`: defence, rectification, credit repair), the term
  (``case.term_last_day`` / ``case.leaves_list_on``, set by the rules when it was decided)
  and the next step the bureau owes (:func:`queries.case_due`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.admin import queries
from portal.models import Case, Submission
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import LISTED_STATES, SubmissionKind
from portal.services import filing_windows

K = SubmissionKind


@dataclass(frozen=True)
class Clock:
    name: str                  # a stable key (tests, CSS)
    label: str
    on: dt.date | None
    due: queries.Due | None = None
    note: str = ""
    provisional: bool = False


def filings(session: Session, case: Case, today: dt.date, calendar: WorkCalendar,
            pauses: bool) -> list[tuple[Submission, queries.Due]]:
    rows = session.execute(sa.select(Submission).where(Submission.case_id == case.id)
                           .order_by(Submission.received_on, Submission.id)).scalars().all()
    return [(s, queries.due_of(s.due_on, s.kind.value, today, calendar, s.due_provisional,
                               paused=bool(pauses and s.paused_since))
             if s.decided_on is None else queries.Due(s.due_on, s.kind.value))
            for s in rows]


def _window_note(window: filing_windows.Window) -> str:
    if window.reason == "already_pending":
        return _("a filing is pending: %(receipt)s", receipt=window.pending_receipt)
    if window.allowed:
        return _("open now")
    return {
        "ground_not_rectifiable": _("not for this ground"),
        "repeat_listing": _("not after a repeat listing"),
        "repair_not_allowed": _("credit repair is not offered for this ground"),
        "window_closed": _("closed"),
        "window_not_open": _("not open yet"),
        "case_closed": _("the case is closed"),
    }.get(window.reason, "")


def clocks(session: Session, case: Case, profile: Profile, calendar: WorkCalendar,
           today: dt.date) -> list[Clock]:
    found: list[Clock] = []
    on, what = queries.case_due(case)
    if on is not None:
        found.append(Clock("next_step", _("Next step"), on,
                           queries.due_of(on, what, today, calendar, case.deadlines_provisional)))
    if case.defence_due_on is not None:
        found.append(Clock("defence", _("Statement and defence may be filed until"),
                           case.defence_due_on, provisional=case.deadlines_provisional))
    if case.decided_on is not None:
        found.append(Clock("decided", _("Listing decision signed on"), case.decided_on))
    if case.leaves_list_on is not None:
        found.append(Clock("term", _("Leaves the list on"), case.leaves_list_on,
                           note=_("listed until %(date)s inclusive",
                                  date=case.term_last_day.isoformat())
                           if case.term_last_day else ""))
    if case.decided_on is not None and case.state in LISTED_STATES:
        windows = filing_windows.windows(session, case, profile, calendar, today)
        rect, repair = windows[K.RECTIFICATION], windows[K.CREDIT_REPAIR]
        if rect.closes_on is not None:
            found.append(Clock("rectification", _("Rectification evidence may be filed until"),
                               rect.closes_on, note=_window_note(rect),
                               provisional=rect.provisional))
        elif rect.reason in ("ground_not_rectifiable", "repeat_listing"):
            found.append(Clock("rectification", _("Early removal after rectification"), None,
                               note=_window_note(rect)))
        if repair.opens_on is not None:
            found.append(Clock("repair", _("Credit repair may be applied for from"),
                               repair.opens_on, note=_window_note(repair),
                               provisional=repair.provisional))
        elif repair.reason == "repair_not_allowed":
            found.append(Clock("repair", _("Credit repair"), None, note=_window_note(repair)))
    if case.removed_on is not None:
        found.append(Clock("removed", _("Removed from the list on"), case.removed_on))
    return found
