"""Who handles a case or a submission: assign and reassign, each audited."""
from __future__ import annotations

from sqlalchemy.orm import Session

from portal import clock
from portal.models import Case, StaffUser, Submission
from portal.services import audit, case_steps, filing_steps, scope
from portal.services.audit import Actor
from portal.services.permissions import PermissionDenied, Verdict, require


def _check(session: Session, user: StaffUser, assignee: StaffUser | None,
           jurisdiction: str, verdict: Verdict) -> Actor:
    if user is None or not user.active:
        raise PermissionDenied("only an active staff member assigns work")
    require(verdict, user)
    scope.require(session, user, jurisdiction)
    if assignee is not None and not assignee.active:
        raise PermissionDenied("work can only be assigned to an active staff member")
    if assignee is not None and not scope.staff_scope(session, assignee).can_write(jurisdiction):
        raise PermissionDenied("work can only be assigned to staff of its jurisdiction")
    return Actor.staff(user)


def _name(session: Session, user_id: int | None) -> str | None:
    user = session.get(StaffUser, user_id) if user_id else None
    return user.username if user else None


def assign_case(session: Session, user: StaffUser, case: Case, assignee: StaffUser | None) -> bool:
    """Set the case's handler (``None``: unassigned); False when nothing changed."""
    actor = _check(session, user, assignee, case.jurisdiction,
                   case_steps.check(user, case, "assign"))
    new_id = assignee.id if assignee else None
    if case.assignee_id == new_id:
        return False
    audit.record(session, actor, "case.assign", "case", case.case_no,
                 {"from": _name(session, case.assignee_id), "to": assignee.username if assignee else None})
    case.assignee_id = new_id
    session.flush()
    return True


def assign_submission(session: Session, user: StaffUser, submission: Submission,
                      assignee: StaffUser | None) -> bool:
    actor = _check(session, user, assignee, submission.jurisdiction,
                   filing_steps.check(user, submission, None, "assign", clock.today()))
    new_id = assignee.id if assignee else None
    if submission.assignee_id == new_id:
        return False
    audit.record(session, actor, "submission.assign", "submission", submission.receipt_no,
                 {"from": _name(session, submission.assignee_id),
                  "to": assignee.username if assignee else None})
    submission.assignee_id = new_id
    session.flush()
    return True
