"""The landing page of each role: what waits for that role, and the nearest deadlines.

* clerk — cases to pre-notice, to propose, to publish, uploads to the sharing platform;
  filings to accept; 补正 replies received;
* reviewer — reviews due (a defence came in, or the window lapsed); filings under review;
* approver — proposals waiting for a signature (not the approver's own: four-eyes), filings
  that end in an early removal, red-list proposals (not its own);
* admin — accounts (locked, to be activated, first password), the holiday calendar of this
  year and the next, staged report imports, e-mail to filers that could not be sent.

Each line is a count and a link into the queue filtered the same way. Everything is read in
the user's jurisdictions (:class:`portal.services.scope.Scope`). The nearest deadlines come
from the queues themselves (:func:`queries.case_queue`, :func:`queries.submission_queue`),
which already sort by due date: the page computes no rule of its own.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal import clock
from portal.admin import queries
from portal.models import (
    Case,
    ImportBatch,
    ProposalState,
    RedListProposal,
    Role,
    StaffUser,
    Submission,
)
from portal.models.imports import ImportStatus
from portal.rules.calendar import SOURCE_PROVISIONAL, WorkCalendar
from portal.rules.workflow import LISTED_STATES, CaseState, SubmissionKind, SubmissionState
from portal.services import mail_queue
from portal.services.scope import Scope

C, S = CaseState, SubmissionState
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
    return session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0


def _cases(scope: Scope, *where) -> sa.Select:
    return scope.filter(sa.select(Case.id), Case.jurisdiction).where(*where)


def _filings(scope: Scope, *where) -> sa.Select:
    return scope.filter(sa.select(Submission.id), Submission.jurisdiction).where(*where)


def replies_received(session: Session, scope: Scope, limit: int = 200) -> list[Submission]:
    """Filings back under review after the party answered a 补正 request (not yet decided)."""
    rows = session.execute(scope.filter(sa.select(Submission), Submission.jurisdiction).where(
        Submission.state == S.UNDER_REVIEW).order_by(Submission.due_on, Submission.id)
        .limit(limit)).scalars()
    found = []
    for row in rows:
        asked = (row.details or {}).get("material_requests") or []
        if asked and isinstance(asked[-1], dict) and asked[-1].get("replied_on"):
            found.append(row)
    return found


def _queue(endpoint: str, **args) -> str:
    return url_for(endpoint, **args)


def clerk(session: Session, scope: Scope, user: StaffUser, today: dt.date) -> list[Waiting]:
    replies = replies_received(session, scope)
    return [
        Waiting("to_pre_notice", str(_l("Cases to serve a pre-notice on")),
                _count(session, _cases(scope, Case.state == C.OPENED)),
                _queue("admin.queues.cases", state="opened")),
        Waiting("to_propose", str(_l("Reviewed cases to propose for listing")),
                _count(session, _cases(scope, Case.state == C.REVIEWED)),
                _queue("admin.queues.cases", state="reviewed")),
        Waiting("to_publish", str(_l("Signed decisions to publish")),
                _count(session, _cases(scope, Case.state == C.DECIDED)),
                _queue("admin.queues.cases", state="decided")),
        Waiting("to_share", str(_l("Listings to upload to the sharing platform")),
                _count(session, _cases(scope, Case.state.in_(LISTED_STATES),
                                       Case.shared_on.is_(None))),
                _queue("admin.sharing.index")),
        Waiting("filings_to_accept", str(_l("Filings to accept")),
                _count(session, _filings(scope, Submission.state == S.RECEIVED)),
                _queue("admin.queues.submissions", state="received")),
        Waiting("replies", str(_l("Replies to a request for more material")), len(replies),
                _queue("admin.queues.submissions", state="under_review")),
    ]


def reviewer(session: Session, scope: Scope, user: StaffUser, today: dt.date) -> list[Waiting]:
    lapsed = (Case.state == C.PRE_NOTICED) & (Case.defence_due_on < today)
    return [
        Waiting("reviews_due", str(_l("Reviews due: a statement and defence came in")),
                _count(session, _cases(scope, Case.state == C.DEFENCE_FILED)),
                _queue("admin.queues.cases", state="defence_filed")),
        Waiting("windows_lapsed", str(_l("Reviews due: the defence window closed without one")),
                _count(session, _cases(scope, lapsed)),
                _queue("admin.queues.cases", state="pre_noticed")),
        Waiting("under_review", str(_l("Filings under review")),
                _count(session, _filings(scope, Submission.state == S.UNDER_REVIEW)),
                _queue("admin.queues.submissions", state="under_review")),
        Waiting("filings_to_accept", str(_l("Filings to accept")),
                _count(session, _filings(scope, Submission.state == S.RECEIVED)),
                _queue("admin.queues.submissions", state="received")),
    ]


def approver(session: Session, scope: Scope, user: StaffUser, today: dt.date) -> list[Waiting]:
    not_mine = sa.or_(Case.prepared_by_id.is_(None), Case.prepared_by_id != user.id)
    early = [SubmissionKind.RECTIFICATION, SubmissionKind.CREDIT_REPAIR, SubmissionKind.OBJECTION]
    red = scope.filter(sa.select(RedListProposal.id), RedListProposal.jurisdiction).where(
        RedListProposal.state == ProposalState.PROPOSED,
        sa.or_(RedListProposal.proposed_by_id.is_(None), RedListProposal.proposed_by_id != user.id))
    return [
        Waiting("proposals", str(_l("Listing proposals waiting for your signature")),
                _count(session, _cases(scope, Case.state == C.PROPOSED, not_mine)),
                _queue("admin.queues.cases", state="proposed")),
        Waiting("removals", str(_l("Filings that may end a listing early (objection, "
                                   "rectification, credit repair) under review")),
                _count(session, _filings(scope, Submission.state == S.UNDER_REVIEW,
                                         Submission.kind.in_(early))),
                _queue("admin.queues.submissions", state="under_review")),
        Waiting("redlist", str(_l("Red-list proposals to decide")), _count(session, red),
                _queue("admin.grades.redlist")),
        Waiting("to_publish", str(_l("Signed decisions to publish")),
                _count(session, _cases(scope, Case.state == C.DECIDED)),
                _queue("admin.queues.cases", state="decided")),
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
                _count(session, staff.where(StaffUser.locked_until > now)),
                _queue("admin.users.index")),
        Waiting("inactive_accounts", str(_l("Deactivated accounts")),
                _count(session, staff.where(StaffUser.active.is_(False))),
                _queue("admin.users.index")),
        Waiting("first_password", str(_l("Accounts still on their first password")),
                _count(session, staff.where(StaffUser.must_change_password.is_(True),
                                            StaffUser.active.is_(True))),
                _queue("admin.users.index")),
        *[Waiting(f"calendar_{year}", str(_l("Holiday schedule of %(year)s still provisional: "
                                             "enter or import it", year=year)), 1,
                  _queue("admin.calendar.index", year=year)) for year in provisional],
        Waiting("imports", str(_l("Report imports uploaded but not committed")),
                _count(session, imports), _queue("admin.imports.index")),
        Waiting("mail_failed", str(_l("E-mails to filers the mail server did not accept")),
                mail_queue.counts(session, scope)["failed"], _queue("admin.mail.index")),
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
    for case in queries.case_queue(session, scope=scope, me=user.id).items:
        on, what = queries.case_due(case)
        if on is not None:
            found.append(Dated(queries.due_of(on, what, today, calendar,
                                              case.deadlines_provisional),
                               case.case_no, case.subject.name,
                               url_for("admin.cases.show", case_id=case.id)))
    for sub in queries.submission_queue(session, scope=scope, me=user.id).items:
        if sub.due_on is not None:
            paused = bool(profile_pauses(sub) and sub.paused_since)
            found.append(Dated(queries.due_of(sub.due_on, sub.kind.value, today, calendar,
                                              sub.due_provisional, paused=paused),
                               sub.receipt_no, "",
                               url_for("admin.queues.submission", submission_id=sub.id)))
    found.sort(key=lambda d: (d.due.on, d.number))
    return found[:NEAREST]
