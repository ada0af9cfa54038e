"""Who may take which step of the listing procedure, and when: the one answer.

``portal.services.cases`` enforces :func:`check` in every step and the case page renders
:func:`steps_for`; a button is offered exactly when the step succeeds. A step names the
states it applies in and the roles that take it; approval follows the four-eyes rule (not
the preparer); the review waits until the defence window has passed; a decided case is
uploaded to the sharing platform once. Pure functions of the user, the case and the day;
:func:`ready_where` is their SQL twin, so a queue (and the count of it on the landing page)
lists exactly the cases on which :func:`check` allows a step.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from portal.models import Case, Role, StaffUser
from portal.rules.workflow import LISTED_STATES, CaseState
from portal.services.permissions import (
    STATE,
    TIMING,
    Verdict,
    allow,
    by_role,
    four_eyes,
    refuse,
)

C = CaseState
CLERK, REVIEWER, APPROVER = Role.CLERK, Role.REVIEWER, Role.APPROVER


@dataclass(frozen=True)
class Step:
    states: frozenset[CaseState] | None     # None: a step outside the state table (opening)
    roles: tuple[Role, ...]


#: step -> the states it applies in, the roles that take it
CASE_STEPS: dict[str, Step] = {
    "open": Step(None, (CLERK, REVIEWER)),
    "assign": Step(None, (CLERK, REVIEWER, APPROVER)),
    "pre_notice": Step(frozenset({C.OPENED}), (CLERK, REVIEWER)),
    "defence": Step(frozenset({C.PRE_NOTICED}), (CLERK, REVIEWER)),
    "review": Step(frozenset({C.PRE_NOTICED, C.DEFENCE_FILED}), (REVIEWER, APPROVER)),
    "propose": Step(frozenset({C.REVIEWED}), (CLERK, REVIEWER)),
    "approve": Step(frozenset({C.PROPOSED}), (APPROVER,)),
    "send_back": Step(frozenset({C.PROPOSED}), (APPROVER,)),
    "publish": Step(frozenset({C.DECIDED}), (CLERK, APPROVER)),
    "share": Step(LISTED_STATES, (CLERK, APPROVER)),
    "remove": Step(LISTED_STATES, (APPROVER,)),
    "drop": Step(frozenset({C.OPENED, C.PRE_NOTICED, C.DEFENCE_FILED, C.REVIEWED}),
                 (REVIEWER, APPROVER)),
    # an upheld objection corrects the facts of a listing that stands (no button of its own)
    "correct": Step(frozenset({C.PUBLISHED}), (REVIEWER, APPROVER)),
}
#: The steps of the case page, in the order it shows them.
BUTTONS = ("pre_notice", "defence", "review", "propose", "approve", "send_back", "drop",
           "publish", "share", "remove")


def check(user: StaffUser | None, case: Case, step: str, today: dt.date | None = None) -> Verdict:
    """May ``user`` (``None``: the system) take ``step`` on ``case`` on ``today``?"""
    rule = CASE_STEPS[step]
    if rule.states is not None and case.state not in rule.states:
        return refuse(step, STATE, "state")
    if step == "share" and case.shared_on is not None:
        return refuse(step, STATE, "shared")
    verdict = by_role(step, user, rule.roles)
    if not verdict.allowed:
        return verdict
    if step == "approve":
        refused = four_eyes(step, user, case.prepared_by_id, rule.roles)
        if refused is not None:
            return refused
    if step == "review" and case.state is C.PRE_NOTICED and _window_open(case, today):
        return refuse(step, TIMING, "defence_window", roles=rule.roles, until=case.defence_due_on)
    return allow(step, rule.roles)


def _window_open(case: Case, today: dt.date | None) -> bool:
    """The defence window of a pre-noticed case is still open on ``today`` (no review yet)."""
    return bool(case.defence_due_on and today is not None and today <= case.defence_due_on)


def ready_where(step: str, user: StaffUser | None, today: dt.date):
    """SQL condition on ``Case``: the cases on which :func:`check` allows ``user`` ``step``
    on ``today`` (the same rules, row by row, for the queues)."""
    rule = CASE_STEPS[step]
    if not by_role(step, user, rule.roles).allowed:
        return sa.false()
    conditions = []
    if rule.states is not None:
        conditions.append(Case.state.in_(sorted(rule.states, key=lambda s: s.value)))
    if step == "share":
        conditions.append(Case.shared_on.is_(None))
    if step == "approve" and user is not None:      # four-eyes: not what the user prepared
        conditions.append(sa.or_(Case.prepared_by_id.is_(None), Case.prepared_by_id != user.id))
    if step == "review":                            # the twin of _window_open
        conditions.append(sa.or_(Case.state != C.PRE_NOTICED, Case.defence_due_on.is_(None),
                                 Case.defence_due_on < today))
    return sa.and_(sa.true(), *conditions)


def can_open(user: StaffUser | None) -> Verdict:
    return by_role("open", user, CASE_STEPS["open"].roles)


def steps_for(user: StaffUser | None, case: Case, today: dt.date) -> list[Verdict]:
    """The case page's steps that apply in the case's state, each allowed or with its reason."""
    found = (check(user, case, name, today) for name in BUTTONS)
    return [v for v in found if v.applies]


def allowed_steps(user: StaffUser | None, case: Case, today: dt.date) -> list[str]:
    return [v.step for v in steps_for(user, case, today) if v.allowed]
