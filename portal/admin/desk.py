"""The landing page of each role: what waits for that role, and the nearest deadlines.

* clerk — cases to pre-notice, to propose, to publish, uploads to the sharing platform;
  filings to accept; 补正 replies received;
* reviewer — reviews due (a defence came in, or the window lapsed); filings under review;
* approver — proposals waiting for a signature (not the approver's own: four-eyes), filings
  that end in an early removal, red-list proposals and score → grade tables (not its own);
* admin — accounts (locked, to be activated, first password), the holiday calendar of this
  year and the next, staged report imports, e-mail to filers that could not be sent.

Each line of a case or filing queue is one COUNT of the very query its linked queue lists
(:func:`queries.case_queue_query`, :func:`queries.submission_queue_query` with the filters of
the link), so the number shown is the number of rows found there; the rules behind a filter
(the defence window, the four-eyes rule) come from :mod:`portal.services.case_steps`, and the
uploads to the sharing platform from :func:`portal.services.sharing.pending_query`.
Everything is read in the user's jurisdictions (:class:`portal.services.scope.Scope`). The
nearest deadlines come from the queues themselves, which already sort by due date: the page
computes no rule of its own.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import clock
from portal.admin import queries, scoping
from portal.models import (
    ImportBatch,
    RedListProposal,
    Role,
    ScoreGradeTable,
    StaffUser,
    Submission,
)
from portal.models.imports import ImportStatus
from portal.rules.calendar import SOURCE_PROVISIONAL, WorkCalendar
from portal.services import credit_scores, mail_queue, redlist, score_tables, sharing
from portal.services import staff as staff_service
from portal.services.scope import Scope

#: How many dated items the page lists under "nearest deadlines".
NEAREST = 10


@dataclass(frozen=True)
class Waiting:
    name: str            # a stable key (tests, CSS)
    label: str
    count: int
    url: str


@dataclass(frozen=True)
class Dated:
    due: queries.Due
    number: str          # case number or receipt number
    name: str            # the subject's name, or the filing's kind
    url: str


def _count(session: Session, stmt: sa.Select) -> int:
    return queries.count(session, stmt)


def _cases(session: Session, scope: Scope, user: StaffUser, today: dt.date, name: str, label,
           **filters) -> Waiting:
    """A line counting the case queue filtered by ``filters``, linked to that queue."""
    stmt = queries.case_queue_query(scope=scope, user=user, today=today, **filters)
    return Waiting(name, str(label), _count(session, stmt), url_for("admin.queues.cases", **filters))


def _filings(session: Session, scope: Scope, user: StaffUser, name: str, label,
             **filters) -> Waiting:
    """A line counting the filing queue filtered by ``filters``, linked to that queue."""
    stmt = queries.submission_queue_query(scope=scope, user=user, **filters)
    return Waiting(name, str(label), _count(session, stmt),
                   url_for("admin.queues.submissions", **filters))


@dataclass(frozen=True)
class Reply:
    submission: Submission
    replied_on: str | None


def replies_received(session: Session, scope: Scope, user: StaffUser, limit: int = 50) -> list[Reply]:
    """Filings back under review after the party answered a 补正 request (not yet decided):
    the first rows of the queue the "replies" line links to."""
    rows = session.execute(queries.submission_queue_query(
        scope=scope, user=user, state=queries.REPLIED).limit(limit)).scalars()
    found = []
    for row in rows:
        asked = (row.details or {}).get("material_requests") or []
        last = asked[-1] if asked and isinstance(asked[-1], dict) else {}
        found.append(Reply(row, last.get("replied_on")))
    return found


def clerk(session: Session, scope: Scope, user: StaffUser, today: dt.date) -> list[Waiting]:
    to_share = _count(session, sharing.pending_query(sharing.LISTINGS, scope))
    return [
        _cases(session, scope, user, today, "to_pre_notice", _l("Cases to serve a pre-notice on"),
               state="opened"),
        _cases(session, scope, user, today, "to_propose", _l("Reviewed cases to propose for listing"),
               state="reviewed"),
        _cases(session, scope, user, today, "to_publish", _l("Signed decisions to publish"),
               state="decided"),
        Waiting("to_share", str(_l("Listings to upload to the sharing platform")), to_share,
                url_for("admin.sharing.index", _anchor=sharing.LISTINGS)),
        _filings(session, scope, user, "filings_to_accept", _l("Filings to accept"), state="received"),
        _filings(session, scope, user, "replies", _l("Replies to a request for more material"),
                 state=queries.REPLIED),
    ]


def reviewer(session: Session, scope: Scope, user: StaffUser, today: dt.date) -> list[Waiting]:
    return [
        _cases(session, scope, user, today, "reviews_due",
               _l("Reviews due: a statement and defence came in"), state="defence_filed"),
        _cases(session, scope, user, today, "windows_lapsed",
               _l("Reviews due: the defence window closed without one"),
               state="pre_noticed", step="review"),
        _filings(session, scope, user, "under_review", _l("Filings under review"), state="under_review"),
        _filings(session, scope, user, "filings_to_accept", _l("Filings to accept"), state="received"),
    ]


def _score_tables(session: Session, user: StaffUser) -> list[Waiting]:
    """The score → grade tables waiting for this approver, where the bureau whose table the
    page shows (the user's home) has a credit score; no line elsewhere."""
    home = scoping.home_code()
    if credit_scores.scored_profile(session, home) is None:
        return []
    tables = sa.select(ScoreGradeTable.id).where(
        ScoreGradeTable.jurisdiction == home, score_tables.awaiting_decision_by(user.id))
    return [Waiting("score_tables", str(_l("Score → grade tables to decide")),
                    _count(session, tables), url_for("admin.grades.score_table"))]


def approver(session: Session, scope: Scope, user: StaffUser, today: dt.date) -> list[Waiting]:
    red = scope.filter(sa.select(RedListProposal.id), RedListProposal.jurisdiction).where(
        redlist.awaiting_decision_by(user.id))
    return [
        _cases(session, scope, user, today, "proposals", _l("Listing proposals waiting for your signature"),
               state="proposed", step="approve"),
        _filings(session, scope, user, "removals", _l("Filings that may end a listing early (objection, "
                                                     "rectification, credit repair) under review"),
                 state="under_review", kind=queries.ENDS_LISTING),
        Waiting("redlist", str(_l("Red-list proposals to decide")), _count(session, red),
                url_for("admin.grades.redlist", to_decide=1)),
        *_score_tables(session, user),
        _cases(session, scope, user, today, "to_publish", _l("Signed decisions to publish"),
               state="decided"),
    ]


def admin(session: Session, scope: Scope, user: StaffUser, today: dt.date,
          calendar: WorkCalendar) -> list[Waiting]:
    now = clock.now()
    staff = sa.select(StaffUser.id)
    provisional = [year for year in (today.year, today.year + 1)
                   if calendar.year_source(year) == SOURCE_PROVISIONAL]
    imports = scope.filter(sa.select(ImportBatch.id), ImportBatch.jurisdiction).where(
        ImportBatch.status == ImportStatus.STAGED)
    return [
        Waiting("locked_accounts", str(_l("Accounts locked after failed sign-ins")),
                _count(session, staff.where(staff_service.account_group("locked", now))),
                url_for("admin.users.index", show="locked")),
        Waiting("inactive_accounts", str(_l("Deactivated accounts")),
                _count(session, staff.where(staff_service.account_group("inactive", now))),
                url_for("admin.users.index", show="inactive")),
        Waiting("first_password", str(_l("Accounts still on their first password")),
                _count(session, staff.where(staff_service.account_group("first_password", now))),
                url_for("admin.users.index", show="first_password")),
        *[Waiting(f"calendar_{year}", str(_l("Holiday schedule of %(year)s still provisional: "
                                             "enter or import it", year=year)), 1,
                  url_for("admin.calendar.index", year=year)) for year in provisional],
        Waiting("imports", str(_l("Report imports uploaded but not committed")),
                _count(session, imports), url_for("admin.imports.index")),
        Waiting("mail_failed", str(_l("E-mails to filers the mail server did not accept")),
                mail_queue.counts(session, scope)["failed"], url_for("admin.mail.index")),
    ]


WAITING = {Role.CLERK: clerk, Role.REVIEWER: reviewer, Role.APPROVER: approver}


def waiting(session: Session, scope: Scope, user: StaffUser, today: dt.date,
            calendar: WorkCalendar) -> list[Waiting]:
    if user.role is Role.ADMIN:
        return admin(session, scope, user, today, calendar)
    return WAITING[user.role](session, scope, user, today)


def nearest(session: Session, scope: Scope, user: StaffUser, today: dt.date,
            calendar: WorkCalendar, profile_pauses) -> list[Dated]:
    """The nearest (and overdue) deadlines of cases and filings, earliest first."""
    found: list[Dated] = []
    for case in queries.case_queue(session, scope=scope, user=user).items:
        on, what = queries.case_due(case)
        if on is not None:
            found.append(Dated(queries.due_of(on, what, today, calendar,
                                              case.deadlines_provisional),
                               case.case_no, case.subject.name,
                               url_for("admin.cases.show", case_id=case.id)))
    for sub in queries.submission_queue(session, scope=scope, user=user).items:
        if sub.due_on is not None:
            paused = bool(profile_pauses(sub) and sub.paused_since)
            found.append(Dated(queries.due_of(sub.due_on, sub.kind.value, today, calendar,
                                              sub.due_provisional, paused=paused),
                               sub.receipt_no, "",
                               url_for("admin.queues.submission", submission_id=sub.id)))
    found.sort(key=lambda d: (d.due.on, d.number))
    return found[:NEAREST]
