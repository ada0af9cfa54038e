"""Who may take which step of a filing (defence, objection, rectification, repair,
complaint), and when: the one answer the services enforce and the filing page renders.

Any case role (clerk, reviewer, approver) accepts a filing for review, asks for more
material (补正), rejects it, assigns it and reissues its query code. Granting a filing
takes a step of its case, so whoever grants must be allowed that step of the case, in the
case's state (``portal.services.case_steps``): a granted defence drops the case (reviewer,
approver), a granted rectification or credit repair removes the listing (approver; only
when the removal is possible on that day), a granted objection corrects the published
facts (reviewer, approver) or removes the listing (approver). A complaint changes no case.
"""
from __future__ import annotations

import datetime as dt

from portal.models import Case, StaffUser, Submission
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.workflow import (
    OPEN_SUBMISSION_STATES,
    RemovalReason,
    SubmissionKind,
    SubmissionState,
)
from portal.services import case_steps, rules_of
from portal.services.permissions import (
    CASE_ROLES,
    CONFLICT,
    FORBIDDEN,
    STATE,
    TIMING,
    Verdict,
    allow,
    by_role,
    refuse,
)

K, S = SubmissionKind, SubmissionState

#: step -> the filing states it applies in (None: any)
FILING_STEPS: dict[str, frozenset[SubmissionState] | None] = {
    "accept": frozenset({S.RECEIVED}),
    "request_material": frozenset({S.UNDER_REVIEW}),
    "grant": frozenset({S.UNDER_REVIEW}),
    "grant_corrected": frozenset({S.UNDER_REVIEW}),
    "grant_fell": frozenset({S.UNDER_REVIEW}),
    "reject": OPEN_SUBMISSION_STATES,
    "assign": None,
    "reissue_code": None,
}
#: The ways a filing of each kind is granted (an objection: corrected, or the listing fell).
GRANTS: dict[SubmissionKind, tuple[str, ...]] = {
    K.OBJECTION: ("grant_corrected", "grant_fell"),
}
#: grant step (of a kind) -> the case step it takes, and the removal's reason
EFFECTS: dict[tuple[SubmissionKind, str], tuple[str, RemovalReason | None]] = {
    (K.DEFENCE, "grant"): ("drop", None),
    (K.RECTIFICATION, "grant"): ("remove", RemovalReason.RECTIFIED),
    (K.CREDIT_REPAIR, "grant"): ("remove", RemovalReason.CREDIT_REPAIRED),
    (K.OBJECTION, "grant_corrected"): ("correct", None),
    (K.OBJECTION, "grant_fell"): ("remove", RemovalReason.OBJECTION_UPHELD),
}
#: A removal that only has to wait (the term or the repair window), not one that never works.
WAITING = ("term_not_over", "repair_not_open")
#: The steps of the filing page, in its order.
BUTTONS = ("accept", "request_material", "grant", "grant_corrected", "grant_fell", "reject")


def grant_steps(kind: SubmissionKind) -> tuple[str, ...]:
    return GRANTS.get(kind, ("grant",))


def _effect(user: StaffUser | None, submission: Submission, case: Case | None, step: str,
            today: dt.date, calendar: WorkCalendar | None) -> Verdict:
    """What granting does to the case, checked as that case step."""
    effect = EFFECTS.get((submission.kind, step))
    if effect is None:                              # a complaint changes no case
        return allow(step, CASE_ROLES)
    if case is None:
        return refuse(step, CONFLICT, "case_required")
    case_step, reason = effect
    verdict = case_steps.check(user, case, case_step, today)
    if not verdict.allowed:
        if verdict.refusal == STATE:
            return refuse(step, CONFLICT, "case_state", detail=case.state.value)
        return verdict.renamed(step)
    if reason is not None and calendar is not None and case.decided_on is not None:
        problem = terms.removal_problem(rules_of.case(case), case.ground, reason.value,
                                        case.decided_on, case.leaves_list_on, case.prior_listings,
                                        today, calendar)
        if problem is not None:
            return refuse(step, TIMING if problem in WAITING else CONFLICT, "removal",
                          roles=verdict.roles, detail=problem)
    return verdict.renamed(step)


def check(user: StaffUser | None, submission: Submission, case: Case | None, step: str,
          today: dt.date, calendar: WorkCalendar | None = None) -> Verdict:
    """May ``user`` (``None``: the system) take ``step`` on ``submission`` (of ``case``)?

    ``calendar``: with it, a grant that removes a listing is checked for the day's removal
    rules too (the term, the repair window)."""
    if step.startswith("grant") and step not in grant_steps(submission.kind):
        return refuse(step, STATE, "kind")
    states = FILING_STEPS[step]
    if states is not None and submission.state not in states:
        return refuse(step, STATE, "state")
    if step == "reissue_code" and user is None:
        return refuse(step, FORBIDDEN, "staff_only", roles=CASE_ROLES)
    verdict = by_role(step, user, CASE_ROLES)
    if not verdict.allowed or not step.startswith("grant"):
        return verdict
    return _effect(user, submission, case, step, today, calendar)


def steps_for(user: StaffUser | None, submission: Submission, case: Case | None,
              today: dt.date, calendar: WorkCalendar | None = None) -> list[Verdict]:
    """The filing page's steps that apply to it now, each allowed or with its reason."""
    found = (check(user, submission, case, name, today, calendar) for name in BUTTONS)
    return [v for v in found if v.applies]


def allowed_steps(user: StaffUser | None, submission: Submission, case: Case | None,
                  today: dt.date, calendar: WorkCalendar | None = None) -> list[str]:
    return [v.step for v in steps_for(user, submission, case, today, calendar) if v.allowed]
