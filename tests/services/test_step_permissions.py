"""What is offered is exactly what succeeds: every step of every state, for every role.

For each case (filing) in each state, each step of the case page (filing page) and each role
(clerk, reviewer, approver, admin), the test asks the one permission function of the
services (``case_steps.check`` / ``filing_steps.check``) and then takes the step through
the service with valid data, inside a savepoint that is rolled back: the step is allowed
exactly when it succeeds. The variants include the four-eyes rule (an approver who prepared
the proposal), the open defence window, a decided case already shared, filings whose case
has moved on, and a credit repair whose window has not opened.
"""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import Case, Role
from portal.rules.workflow import InvalidTransition
from portal.services import case_steps, cases, filing_steps
from portal.services.calendar import load_calendar
from portal.services.permissions import PermissionDenied
from portal.services.submissions import SubmissionError
from tests.steps_support import (
    CASE_VARIANTS,
    FILING_CASES,
    FILING_STATES,
    ROLES,
    TODAY,
    K,
    S,
    build_case,
    build_filing,
    make_team,
    take_case_step,
    take_filing_step,
)

REFUSALS = (PermissionDenied, cases.CaseError, InvalidTransition, SubmissionError)


@pytest.fixture
def team(session):
    found = make_team(session)
    session.commit()
    return found


def succeeds(session, attempt) -> bool:
    """Take the step inside a savepoint and roll it back: did the service accept it?"""
    savepoint = session.begin_nested()
    try:
        attempt()
        session.flush()
    except REFUSALS:
        return False
    finally:
        savepoint.rollback()
        session.expire_all()
    return True


def test_every_case_step_is_offered_exactly_when_it_succeeds(app, session, team):
    key = app.config["PORTAL_LOOKUP_KEY"]
    built = {variant: build_case(session, key, variant, team) for variant in CASE_VARIANTS}
    session.commit()
    wrong, done = [], set()
    for variant, case in built.items():
        for step in case_steps.BUTTONS:
            for role in ROLES:
                user = team[role]
                verdict = case_steps.check(user, case, step, TODAY)
                ok = succeeds(session, lambda: take_case_step(session, key, user, case, step))
                if verdict.allowed != ok or verdict.step != step:
                    wrong.append((variant, step, role.value, verdict, ok))
                if ok:
                    done.add(step)
    assert wrong == []
    assert done == set(case_steps.BUTTONS)          # every step succeeds somewhere


def test_the_four_eyes_rule_and_the_defence_window_are_refusals_with_a_reason(app, session, team):
    key = app.config["PORTAL_LOOKUP_KEY"]
    approver = team[Role.APPROVER]
    own = build_case(session, key, "proposed_by_approver", team)
    other = build_case(session, key, "proposed", team)
    waiting = build_case(session, key, "in_window", team)
    session.commit()
    refused = case_steps.check(approver, own, "approve", TODAY)
    assert (refused.allowed, refused.refusal, refused.reason) == (False, "forbidden", "four_eyes")
    assert case_steps.check(approver, other, "approve", TODAY).allowed
    assert "approve" not in case_steps.allowed_steps(approver, own, TODAY)
    assert "send_back" in case_steps.allowed_steps(approver, own, TODAY)
    window = case_steps.check(team[Role.REVIEWER], waiting, "review", TODAY)
    assert (window.allowed, window.refusal, window.reason) == (False, "timing", "defence_window")
    assert window.until == waiting.defence_due_on and window.until >= TODAY
    with pytest.raises(cases.NotYet):
        cases.complete_review(session, team[Role.REVIEWER], waiting, TODAY)
    after = waiting.defence_due_on + dt.timedelta(days=1)
    assert case_steps.check(team[Role.REVIEWER], waiting, "review", after).allowed
    # the admin manages accounts and the calendar: no step of a case is theirs
    for variant in ("opened", "proposed"):
        case = own if variant == "proposed" else build_case(session, key, variant, team)
        assert case_steps.allowed_steps(team[Role.ADMIN], case, TODAY) == []


def test_a_queue_of_the_cases_ready_for_a_step_holds_exactly_those_check_allows(app, session, team):
    """``ready_where`` (the queues and the landing page's counts) is the SQL twin of ``check``."""
    key = app.config["PORTAL_LOOKUP_KEY"]
    built = {variant: build_case(session, key, variant, team) for variant in CASE_VARIANTS}
    session.commit()
    ids = [case.id for case in built.values()]
    for step in case_steps.CASE_STEPS:
        for role in ROLES:
            user = team[role]
            listed = set(session.execute(sa.select(Case.id).where(
                Case.id.in_(ids), case_steps.ready_where(step, user, TODAY))).scalars())
            allowed = {case.id for case in built.values()
                       if case_steps.check(user, case, step, TODAY).allowed}
            assert listed == allowed, (step, role.value)


# --------------------------------------------------------------------------
# Filings
# --------------------------------------------------------------------------

def test_every_filing_step_is_offered_exactly_when_it_succeeds(app, session, team):
    key = app.config["PORTAL_LOOKUP_KEY"]
    built = []
    for kind, variants in FILING_CASES.items():
        for variant in variants:
            for state in FILING_STATES:
                case = build_case(session, key, variant, team) if variant else None
                built.append((kind, variant, state, case, build_filing(session, key, kind, case,
                                                                       state)))
    session.commit()
    calendar = load_calendar(session)
    wrong, done, refused = [], set(), set()
    for kind, variant, state, case, sub in built:
        steps = [s for s in filing_steps.FILING_STEPS
                 if not s.startswith("grant") or s in filing_steps.grant_steps(kind)]
        for step in steps:
            for role in ROLES:
                user = team[role]
                verdict = filing_steps.check(user, sub, case, step, TODAY, calendar)
                ok = succeeds(session, lambda: take_filing_step(session, key, user, sub, step))
                if verdict.allowed != ok or verdict.step != step:
                    wrong.append((kind.value, variant, state.value, step, role.value, verdict, ok))
                if ok:
                    done.add(step)
                elif verdict.applies:
                    refused.add((step, verdict.reason))
    assert wrong == []
    assert done == set(filing_steps.FILING_STEPS)
    # the refusals the variants were built for all occur
    assert {("grant", "role"), ("grant", "case_state"), ("grant_corrected", "case_state"),
            ("grant_fell", "role"), ("grant", "removal"), ("accept", "role")} <= refused


def test_a_step_of_another_kind_is_not_a_step_of_this_filing(app, session, team):
    sub = build_filing(session, app.config["PORTAL_LOOKUP_KEY"], K.COMPLAINT, None,
                       S.UNDER_REVIEW)
    user = team[Role.APPROVER]
    assert not filing_steps.check(user, sub, None, "grant_fell", TODAY).applies
    assert filing_steps.allowed_steps(user, sub, None, TODAY) == ["request_material", "grant",
                                                                 "reject"]
