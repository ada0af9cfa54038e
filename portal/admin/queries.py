"""Read queries of the back office: queues sorted by due date, pagination, audit trails."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from math import ceil

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.input_guard import small_int
from portal.models import (
    AuditEvent,
    Case,
    Role,
    StaffJurisdiction,
    StaffUser,
    Subject,
    SubjectKind,
    Submission,
    SubmissionEvent,
)
from portal.rules.calendar import WorkCalendar
from portal.rules.workflow import (
    ENDS_LISTING_KINDS,
    OPEN_SUBMISSION_STATES,
    CaseState,
    SubmissionKind,
    SubmissionState,
)
from portal.services import case_steps
from portal.services.scope import Scope

PER_PAGE = 25
#: A due date this many working days away (or fewer) is highlighted.
SOON = 2
C = CaseState
WORK_STATES = (C.OPENED, C.PRE_NOTICED, C.DEFENCE_FILED, C.REVIEWED, C.PROPOSED, C.DECIDED)


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def count(session: Session, stmt: sa.Select) -> int:
    """How many rows ``stmt`` selects (one COUNT, without its order)."""
    return session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0


def paginate(session: Session, stmt: sa.Select, page: int, per_page: int,
             scalars: bool = True) -> Page:
    total = count(session, stmt)
    page = max(1, min(page, max(1, ceil((total or 0) / per_page))))
    result = session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = result.scalars().all() if scalars else result.all()
    return Page(items, total or 0, page, per_page)


@dataclass(frozen=True)
class Due:
    """A due date as the queue shows it."""

    on: dt.date | None
    what: str | None                 # defence | publication | sharing | decision
    days_left: int | None = None     # working days from today; negative = overdue
    overdue: bool = False
    soon: bool = False
    provisional: bool = False
    paused: bool = False


def due_of(on: dt.date | None, what: str | None, today: dt.date, calendar: WorkCalendar,
           provisional: bool = False, paused: bool = False) -> Due:
    if on is None:
        return Due(None, what, provisional=provisional, paused=paused)
    left = calendar.working_days_between(today, on)
    overdue = on < today and not paused
    return Due(on, what, left, overdue, not overdue and not paused and 0 <= left <= SOON,
               provisional, paused)


# --------------------------------------------------------------------------
# Case queue
# --------------------------------------------------------------------------

def case_due(case: Case) -> tuple[dt.date | None, str | None]:
    """The date that matters now: defence window, publication, or upload to the sharing platform."""
    if case.state is C.PRE_NOTICED:
        return case.defence_due_on, "defence"
    if case.state is C.DECIDED:
        if (case.shared_on is None and case.share_due_on and case.publish_due_on
                and case.share_due_on < case.publish_due_on):
            return case.share_due_on, "sharing"
        return case.publish_due_on, "publication"
    if case.state is C.PUBLISHED and case.shared_on is None:
        return case.share_due_on, "sharing"
    return None, None


def _case_due_sql():
    """SQL twin of :func:`case_due`, for sorting and paging in the database."""
    unshared = Case.shared_on.is_(None)
    decided = sa.case((unshared & (Case.share_due_on < Case.publish_due_on), Case.share_due_on),
                      else_=Case.publish_due_on)
    return sa.case(
        (Case.state == C.PRE_NOTICED, Case.defence_due_on),
        (Case.state == C.DECIDED, decided),
        ((Case.state == C.PUBLISHED) & unshared, Case.share_due_on),
        else_=sa.null(),
    )


def _assignee_filter(column, assignee: str, me: int):
    if assignee == "me":
        return column == me
    if assignee == "none":
        return column.is_(None)
    staff_id = small_int(assignee)      # ASCII digits within the integer range, else no filter
    if staff_id is not None:
        return column == staff_id
    return None


#: ``step`` filter of the case queue: the cases on which the user may take that step today
#: (:func:`case_steps.ready_where`).
READY_STEPS = ("review", "approve")


def case_queue_query(*, scope: Scope, user: StaffUser, state: str = "", kind: str = "",
                     assignee: str = "", step: str = "", today: dt.date | None = None) -> sa.Select:
    """Cases of the readable jurisdictions by due date (earliest first, none last).
    ``state``: "" = open work, "all", or a state; ``step``: one of :data:`READY_STEPS`
    (with ``today``).  The landing page counts this very query for each of its lines."""
    due = _case_due_sql()
    stmt = scope.filter(sa.select(Case).join(Subject, Case.subject_id == Subject.id),
                        Case.jurisdiction)
    if state == "all":
        pass
    elif state in {s.value for s in C}:
        stmt = stmt.where(Case.state == C(state))
    else:
        stmt = stmt.where(sa.or_(Case.state.in_(WORK_STATES),
                                 (Case.state == C.PUBLISHED) & Case.shared_on.is_(None)))
    if kind in {k.value for k in SubjectKind}:
        stmt = stmt.where(Subject.kind == SubjectKind(kind))
    condition = _assignee_filter(Case.assignee_id, assignee, user.id)
    if condition is not None:
        stmt = stmt.where(condition)
    if step in READY_STEPS and today is not None:
        stmt = stmt.where(case_steps.ready_where(step, user, today))
    return stmt.order_by(sa.case((due.is_(None), 1), else_=0), due, Case.id)


def case_queue(session: Session, *, page: int = 1, **filters) -> Page:
    return paginate(session, case_queue_query(**filters), page, PER_PAGE)


# --------------------------------------------------------------------------
# Submission queue
# --------------------------------------------------------------------------

#: ``kind`` filter of the submission queue for the group of kinds that may end a listing.
ENDS_LISTING = "ends_listing"
#: ``state`` filter of the submission queue: back under review after the filer answered a
#: request for more material (补正) — the only way from "awaiting material" to "under review".
REPLIED = "replied"


def _replied():
    asked = sa.select(SubmissionEvent.id).where(
        SubmissionEvent.submission_id == Submission.id,
        SubmissionEvent.state == SubmissionState.AWAITING_MATERIAL)
    return (Submission.state == SubmissionState.UNDER_REVIEW) & asked.exists()


def submission_queue_query(*, scope: Scope, user: StaffUser, state: str = "", kind: str = "",
                           assignee: str = "") -> sa.Select:
    """Open submissions of the readable jurisdictions by due date (earliest first, none
    last).  The landing page counts this very query for each of its lines."""
    stmt = scope.filter(sa.select(Submission), Submission.jurisdiction)
    open_states = {s.value for s in OPEN_SUBMISSION_STATES}
    if state == REPLIED:
        stmt = stmt.where(_replied())
    elif state in open_states or state in ("granted", "rejected", "withdrawn"):
        stmt = stmt.where(Submission.state == SubmissionState(state))
    else:
        stmt = stmt.where(Submission.state.in_(list(OPEN_SUBMISSION_STATES)))
    if kind == ENDS_LISTING:
        stmt = stmt.where(Submission.kind.in_(sorted(ENDS_LISTING_KINDS, key=lambda k: k.value)))
    elif kind in {k.value for k in SubmissionKind}:
        stmt = stmt.where(Submission.kind == SubmissionKind(kind))
    condition = _assignee_filter(Submission.assignee_id, assignee, user.id)
    if condition is not None:
        stmt = stmt.where(condition)
    return stmt.order_by(sa.case((Submission.due_on.is_(None), 1), else_=0),
                         Submission.due_on, Submission.id)


def submission_queue(session: Session, *, page: int = 1, **filters) -> Page:
    return paginate(session, submission_queue_query(**filters), page, PER_PAGE)


# --------------------------------------------------------------------------
# People and trails
# --------------------------------------------------------------------------

def handlers(session: Session, jurisdiction: str | None = None) -> list[StaffUser]:
    """Active staff who can be assigned cases and submissions (of ``jurisdiction``: its members)."""
    stmt = sa.select(StaffUser).where(
        StaffUser.active.is_(True), StaffUser.role.in_([Role.CLERK, Role.REVIEWER, Role.APPROVER]))
    if jurisdiction is not None:
        stmt = stmt.where(StaffUser.id.in_(
            sa.select(StaffJurisdiction.staff_id)
            .where(StaffJurisdiction.jurisdiction_code == jurisdiction)))
    return session.execute(stmt.order_by(StaffUser.display_name, StaffUser.id)).scalars().all()


def staff_names(session: Session, ids) -> dict[int, StaffUser]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    rows = session.execute(sa.select(StaffUser).where(StaffUser.id.in_(ids))).scalars()
    return {u.id: u for u in rows}


def case_trail(session: Session, case: Case, limit: int = 500) -> list[AuditEvent]:
    """The audit events of a case, its subject (ID reveals) and its submissions, in order."""
    receipts = session.execute(
        sa.select(Submission.receipt_no).where(Submission.case_id == case.id)).scalars().all()
    where = ((AuditEvent.entity_type == "case") & (AuditEvent.entity_id == case.case_no)) | (
        (AuditEvent.entity_type == "subject") & (AuditEvent.entity_id == str(case.subject_id)))
    if receipts:
        where = where | ((AuditEvent.entity_type == "submission")
                         & AuditEvent.entity_id.in_(receipts))
    return session.execute(
        sa.select(AuditEvent).where(where).order_by(AuditEvent.seq).limit(limit)
    ).scalars().all()


def submission_trail(session: Session, submission: Submission) -> list[AuditEvent]:
    return session.execute(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "submission",
                                    AuditEvent.entity_id == submission.receipt_no)
        .order_by(AuditEvent.seq)
    ).scalars().all()


def audit_page(session: Session, *, scope: Scope, actor: str = "", action: str = "",
               entity_type: str = "", entity_id: str = "", since: dt.datetime | None = None,
               until: dt.datetime | None = None, page: int = 1, per_page: int = 50) -> Page:
    """Audit events of the readable jurisdictions (and portal-wide ones for admins), newest
    first. ``action`` ending in "." matches a prefix ("case.")."""
    stmt = sa.select(AuditEvent).where(scope.audit_where(AuditEvent.jurisdiction))
    if actor:
        stmt = stmt.where(AuditEvent.actor_label.in_([actor, f"staff:{actor}"]))
    if action:
        if action.endswith("."):
            stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
        else:
            stmt = stmt.where(AuditEvent.action == action)
    if entity_type:
        stmt = stmt.where(AuditEvent.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    return paginate(session, stmt.order_by(AuditEvent.seq.desc()), page, per_page)
