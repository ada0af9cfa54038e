"""Plain-words views of due dates, rule sets and status history for the submit templates."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from flask_babel import get_locale
from flask_babel import gettext as _

from portal import clock
from portal.models import Submission
from portal.rules.calendar import WorkCalendar
from portal.rules.workflow import OPEN_SUBMISSION_STATES, SubmissionState

_PART = re.compile(r"(state-council|bureau|provisional):(\d{4})")
S = SubmissionState


def basis_text(basis: str | None) -> str:
    """Which rule set a deadline rests on, in words ("State Council holiday schedule 2026; …")."""
    if not basis:
        return ""
    if basis == "case":
        return _("the defence window set by your pre-notice")
    words = []
    for source, year in _PART.findall(basis):
        if source == "state-council":
            words.append(_("State Council holiday schedule %(year)s", year=year))
        elif source == "bureau":
            words.append(_("holiday schedule %(year)s entered by the bureau", year=year))
        else:
            words.append(_("%(year)s provisional: weekends and statutory holidays only, until the "
                           "official schedule is published", year=year))
    text = ("；" if str(get_locale()).startswith("zh") else "; ").join(words)
    if basis.startswith("calendar"):
        if "next-workday" in basis:
            return _("calendar period, moved to the next working day (%(rules)s)", rules=text)
        return _("calendar period")
    return text


@dataclass(frozen=True)
class DueInfo:
    due_on: dt.date | None
    provisional: bool
    basis: str
    days_left: int | None      # working days after today up to and including the due date
    paused_since: dt.date | None
    overdue: bool


def due_info(submission: Submission, calendar: WorkCalendar, today: dt.date) -> DueInfo:
    open_ = submission.state in OPEN_SUBMISSION_STATES
    due = submission.due_on
    left = None
    if open_ and due is not None and submission.paused_since is None:
        left = calendar.working_days_between(today, due)
    return DueInfo(due, submission.due_provisional, basis_text(submission.due_basis),
                   left if left is None or left >= 0 else 0, submission.paused_since if open_ else None,
                   bool(open_ and due is not None and today > due and submission.paused_since is None))


def local_day(at: dt.datetime) -> dt.date:
    """A stored UTC timestamp (naive on SQLite) as the bureau's calendar day."""
    return clock.local_day(at)


@dataclass(frozen=True)
class HistoryLine:
    on: dt.date
    state: SubmissionState
    text: str


def history(submission: Submission) -> list[HistoryLine]:
    """The status history as the submitter sees it: a sentence per step, plus the staff note."""
    lines, previous = [], None
    for event in submission.events:
        if event.state is S.RECEIVED:
            text = _("Filing received.")
        elif event.state is S.UNDER_REVIEW and previous is S.AWAITING_MATERIAL:
            text = _("Your additional material was received; the review continues.")
        elif event.state is S.UNDER_REVIEW and submission.kind.value == "objection":
            text = _("Accepted for review. Until the decision, the public entry shows that it is under objection.")
        elif event.state is S.UNDER_REVIEW:
            text = _("Accepted for review.")
        elif event.state is S.AWAITING_MATERIAL:
            text = _("The bureau asked for more material.")
        elif event.state is S.GRANTED:
            text = _("Decision: granted.")
        elif event.state is S.REJECTED:
            text = _("Decision: not granted.")
        else:
            text = _("Withdrawn.")
        if event.note:
            text = f"{text} {event.note}"
        lines.append(HistoryLine(local_day(event.at), event.state, text))
        previous = event.state
    return lines


def material_requests(submission: Submission) -> list[dict]:
    """补正 requests with their dates parsed (newest last)."""
    out = []
    for item in (submission.details or {}).get("material_requests", []):
        row = dict(item)
        for key in ("requested_on", "reply_due", "replied_on"):
            if row.get(key):
                row[key] = dt.date.fromisoformat(row[key])
        out.append(row)
    return out
