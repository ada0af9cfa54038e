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

from portal.models import Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import (
    CaseState,
    InvalidTransition,
    RemovalReason,
    SubmissionKind,
    SubmissionState,
)
from portal.services import assignments, audit, case_steps, cases, filing_steps, submissions
from portal.services.calendar import load_calendar
from portal.services.permissions import PermissionDenied
from portal.services.submissions import Filing, ObjectionOutcome, SubmissionError
from tests.factories import make_staff, make_subject

C, K, S = CaseState, SubmissionKind, SubmissionState
J = load_profile("jiamusi")
SERVED = dt.date(2026, 9, 28)           # the defence window runs to 10-10
DECIDED = dt.date(2026, 10, 19)
TODAY = dt.date(2026, 11, 2)            # every step is tried on this day
ROLES = (Role.CLERK, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
REFUSALS = (PermissionDenied, cases.CaseError, InvalidTransition, SubmissionError)
#: the case variants: the state each is brought to, and how
CASE_VARIANTS = ("opened", "pre_noticed", "in_window", "defence_filed", "reviewed", "proposed",
                 "proposed_by_approver", "decided", "shared", "published", "removed", "dropped")


@pytest.fixture
def team(session):
    found = {role: make_staff(session, role) for role in ROLES}
    session.commit()
    return found


def build_case(session, key: str, variant: str, team):
    """A Jiamusi case brought to ``variant`` through the services (the system takes the steps
    whose actor does not matter here; the clerk opens and serves)."""
    calendar, clerk = load_calendar(session), team[Role.CLERK]
    case = cases.open_case(session, clerk, J, make_subject(session),
                           cases.CaseInput(ground="J1", facts="经查，该单位未依法参保。"),
                           SERVED - dt.timedelta(days=7))
    if variant == "dropped":
        cases.drop_case(session, None, case, "不予列入")
    if variant in ("opened", "dropped"):
        return case
    served = TODAY - dt.timedelta(days=1) if variant == "in_window" else SERVED
    cases.serve_pre_notice(session, clerk, case, J, calendar, served)
    if variant in ("pre_noticed", "in_window"):
        return case
    if variant == "defence_filed":
        cases.record_defence(session, audit.PARTY, case, served)
        return case
    cases.complete_review(session, None, case, SERVED + dt.timedelta(days=14))
    if variant == "reviewed":
        return case
    cases.propose_listing(session, clerk, case)
    if variant == "proposed_by_approver":
        # the preparer was promoted to approver since: they still may not sign it
        case.prepared_by_id = team[Role.APPROVER].id
    if variant.startswith("proposed"):
        return case
    cases.approve_listing(session, None, case, J, calendar, DECIDED)
    if variant == "shared":
        cases.mark_shared(session, None, case, DECIDED)
    if variant in ("decided", "shared"):
        return case
    cases.publish_case(session, None, case, J, key, DECIDED + dt.timedelta(days=1))
    if variant == "removed":
        cases.remove_case(session, None, case, J, key, RemovalReason.REVOKED,
                          DECIDED + dt.timedelta(days=2))
    return case


def take_case_step(session, key: str, user, case, step: str) -> None:
    calendar = load_calendar(session)
    if step == "pre_notice":
        cases.serve_pre_notice(session, user, case, J, calendar, TODAY)
    elif step == "defence":
        cases.record_defence(session, audit.Actor.staff(user), case,
                             case.pre_notice_served_on or TODAY)
    elif step == "review":
        cases.complete_review(session, user, case, TODAY, "期限内未提出陈述申辩。")
    elif step == "propose":
        cases.propose_listing(session, user, case)
    elif step == "approve":
        cases.approve_listing(session, user, case, J, calendar, TODAY)
    elif step == "send_back":
        cases.send_back(session, user, case, "事实不清")
    elif step == "drop":
        cases.drop_case(session, user, case, "不予列入")
    elif step == "publish":
        cases.publish_case(session, user, case, J, key, TODAY)
    elif step == "share":
        cases.mark_shared(session, user, case, TODAY)
    elif step == "remove":
        cases.remove_case(session, user, case, J, key, RemovalReason.REVOKED, TODAY, "复议撤销")
    else:
        raise AssertionError(step)


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
                if verdict.allowed != ok:
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


# --------------------------------------------------------------------------
# Filings
# --------------------------------------------------------------------------

#: kind -> the case variant its filing is made on (None: a complaint, no case)
FILING_CASES = {
    K.DEFENCE: ("pre_noticed", "proposed"),              # the second: the case has moved on
    K.OBJECTION: ("published", "decided"),               # decided: nothing published to correct
    K.RECTIFICATION: ("published",),
    K.CREDIT_REPAIR: ("published",),                     # the repair window has not opened
    K.COMPLAINT: (None,),
}
FILING_STATES = (S.RECEIVED, S.UNDER_REVIEW, S.AWAITING_MATERIAL, S.GRANTED, S.REJECTED)


def build_filing(session, key: str, kind, case, state):
    calendar = load_calendar(session)
    received = TODAY - dt.timedelta(days=3)
    sub = submissions.receive(session, J, calendar, Filing(
        kind=kind, body="请予审查。", case=case, filer_name="王建国", filer_contact="13800000000"),
        received).submission
    if state is S.RECEIVED:
        return sub
    submissions.accept_for_review(session, None, sub, J, calendar, received)
    if state is S.AWAITING_MATERIAL:
        submissions.request_material(session, None, sub, "请补充材料", received, J, calendar)
    elif state in (S.GRANTED, S.REJECTED):
        # a decision that changes no case: the state is what matters here
        submissions.transition(session, audit.SYSTEM, sub, state, "已审查", received)
    return sub


def take_filing_step(session, key: str, user, sub, step: str) -> None:
    calendar = load_calendar(session)
    if step == "accept":
        submissions.accept_for_review(session, user, sub, J, calendar, TODAY)
    elif step == "request_material":
        submissions.request_material(session, user, sub, "请补充整改证明", TODAY, J, calendar)
    elif step == "reject":
        submissions.decide(session, user, sub, False, "理由不成立", J, calendar, key, TODAY)
    elif step == "grant":
        submissions.decide(session, user, sub, True, "理由成立", J, calendar, key, TODAY)
    elif step == "grant_corrected":
        submissions.decide(session, user, sub, True, "部分事实有误", J, calendar, key, TODAY,
                           outcome=ObjectionOutcome(facts="经复核，更正后的事实。"))
    elif step == "grant_fell":
        submissions.decide(session, user, sub, True, "列入依据不足", J, calendar, key, TODAY,
                           outcome=ObjectionOutcome(listing_fell=True))
    elif step == "reissue_code":
        submissions.reissue_query_code(session, user, sub)
    elif step == "assign":
        assignments.assign_submission(session, user, sub, user)
    else:
        raise AssertionError(step)


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
                if verdict.allowed != ok:
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
