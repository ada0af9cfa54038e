"""The back office offers the steps the services allow, and a refused step loses nothing typed.

The pages render the buttons ``case_steps`` / ``filing_steps`` allow (the exhaustive check
that those are exactly the steps that succeed is ``tests/services/test_step_permissions``);
a step refused for the user's role, the record's state or the day shows the page again with
403 / 409 and with what the user typed.
"""
import re

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Case, Role, Submission
from portal.rules.workflow import CaseState, SubmissionState
from portal.services import audit, case_steps, cases, filing_steps, submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing
from tests.factories import bureau_day
from tests.steps_support import (
    CASE_VARIANTS,
    FILING_CASES,
    FILING_STATES,
    ROLES,
    TODAY,
    J,
    K,
    build_case,
    build_filing,
    make_team,
)
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def desk(app, session, time_machine):
    """One signed-in browser per role (each signs in once), on TODAY."""
    bureau_day(time_machine, TODAY)
    team = make_team(session, staff)
    browsers = {}
    for role, user in team.items():
        browsers[role] = app.test_client()
        english(browsers[role])
        login(browsers[role], user)
    return team, browsers


def _inputs(html: str, name: str) -> set[str]:
    return {re.search(r'value="([^"]*)"', tag).group(1)
            for tag in re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)}


def offered_filing_steps(html: str, kind) -> set[str]:
    """The steps the filing page offers: its forms and the outcomes its decide form lists."""
    found = {step for step, action in (("accept", "/accept\""), ("request_material", "/material\""))
             if action in html}
    outcomes = _inputs(html, "decide-outcome")
    if "rejected" in outcomes:
        found.add("reject")
    if "granted" in outcomes:
        if kind is K.OBJECTION:
            found |= {f"grant_{o}" for o in _inputs(html, "decide-objection_outcome")}
        else:
            found.add("grant")
    return found


def test_the_case_page_offers_exactly_the_allowed_steps(app, session, desk):
    team, browsers = desk
    key = app.config["PORTAL_LOOKUP_KEY"]
    built = {variant: build_case(session, key, variant, team) for variant in CASE_VARIANTS}
    session.commit()
    for variant, case in built.items():
        for role in ROLES:
            html = browsers[role].get(f"/admin/cases/{case.id}").get_data(as_text=True)
            offered = set(re.findall(rf'/admin/cases/{case.id}/step/(\w+)"', html))
            assert offered == set(case_steps.allowed_steps(team[role], case, TODAY)), (variant, role)
    # the reason a step is not offered is shown: who takes it, the four-eyes rule, the window
    page = text(browsers[Role.CLERK].get(f"/admin/cases/{built['proposed'].id}"))
    assert "This step is taken by: Approver." in page
    page = text(browsers[Role.APPROVER].get(f"/admin/cases/{built['proposed_by_approver'].id}"))
    assert "four-eyes rule" in page
    page = text(browsers[Role.REVIEWER].get(f"/admin/cases/{built['in_window'].id}"))
    assert "The defence window is open until" in page


def test_the_filing_page_offers_exactly_the_allowed_steps(app, session, desk):
    team, browsers = desk
    key = app.config["PORTAL_LOOKUP_KEY"]
    built = []
    for kind, variants in FILING_CASES.items():
        for variant in variants:
            for state in FILING_STATES:
                case = build_case(session, key, variant, team) if variant else None
                built.append((kind, case, build_filing(session, key, kind, case, state)))
    session.commit()
    calendar = load_calendar(session)
    for kind, case, sub in built:
        for role in ROLES:
            html = browsers[role].get(f"/admin/submissions/{sub.id}").get_data(as_text=True)
            allowed = set(filing_steps.allowed_steps(team[role], sub, case, TODAY, calendar))
            assert offered_filing_steps(html, kind) == allowed, (kind, sub.state, role)


def _defence_under_review(session):
    """A defence filed in time on a pre-noticed case (which it moves on), under review."""
    case = build_case(session, "k", "pre_noticed", make_team(session))
    sub = submissions.file(session, J, load_calendar(session), Filing(
        kind=K.DEFENCE, body="我单位已补缴。", case=case, filer_name="王建国",
        filer_contact="13800000000"), case.pre_notice_served_on).submission
    submissions.accept_for_review(session, None, sub, J, load_calendar(session), TODAY)
    session.commit()
    return case, sub


def test_a_clerk_is_not_offered_a_grant_and_a_refused_one_keeps_the_reasons(session, desk):
    _team, browsers = desk
    case, sub = _defence_under_review(session)
    clerk = browsers[Role.CLERK]
    page = clerk.get(f"/admin/submissions/{sub.id}")
    html = page.get_data(as_text=True)
    assert _inputs(html, "decide-outcome") == {"rejected"}         # a grant drops the case
    assert "This step is taken by: Reviewer, Approver." in text(page)
    reasons = "经复核，当事人申辩理由成立，本案不予列入。"
    refused = clerk.post(f"/admin/submissions/{sub.id}/decide",
                         data={"decide-outcome": "granted", "decide-reasons": reasons})
    assert refused.status_code == 403
    assert reasons in refused.get_data(as_text=True)                  # nothing typed is lost
    assert "This step is taken by: Reviewer, Approver." in text(refused)
    session.expire_all()
    assert session.get(Submission, sub.id).state is SubmissionState.UNDER_REVIEW
    assert session.get(Case, case.id).state is CaseState.DEFENCE_FILED
    # a reviewer grants it with the same reasons
    granted = browsers[Role.REVIEWER].post(f"/admin/submissions/{sub.id}/decide",
                                           data={"decide-outcome": "granted",
                                                 "decide-reasons": reasons})
    assert granted.status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).state is CaseState.DROPPED


def test_a_decision_on_a_filing_decided_meanwhile_keeps_the_reasons(session, desk):
    _team, browsers = desk
    _case, sub = _defence_under_review(session)
    submissions.decide(session, None, sub, False, "已另行处理", J, load_calendar(session), "k", TODAY)
    session.commit()
    reasons = "申辩理由不成立，维持原认定。"
    late = browsers[Role.APPROVER].post(f"/admin/submissions/{sub.id}/decide",
                                        data={"decide-outcome": "rejected",
                                              "decide-reasons": reasons})
    assert late.status_code == 409 and reasons in late.get_data(as_text=True)
    assert "the page may be out of date" in text(late)


def test_a_refused_case_step_keeps_what_was_typed(app, session, desk):
    team, browsers = desk
    case = build_case(session, app.config["PORTAL_LOOKUP_KEY"], "proposed", team)
    session.commit()
    events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    reason = "违法事实认定依据不足，请补充调查。"
    refused = browsers[Role.CLERK].post(f"/admin/cases/{case.id}/step/send_back",
                                        data={"send_back-reason": reason})
    assert refused.status_code == 403
    assert reason in refused.get_data(as_text=True)
    assert "This step is taken by: Approver." in text(refused)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events
    # the approver who prepared it may send it back, but not sign it
    case.prepared_by_id = team[Role.APPROVER].id
    session.commit()
    own = browsers[Role.APPROVER].post(f"/admin/cases/{case.id}/step/approve",
                                       data={"approve-decided_on": TODAY.isoformat()})
    assert own.status_code == 403 and "four-eyes" in text(own)
    assert TODAY.isoformat() in own.get_data(as_text=True)
    # sent back meanwhile by a colleague: 409, the reason typed still there
    session.expire_all()
    cases.send_back(session, None, session.get(Case, case.id), "另有审批人退回")
    session.commit()
    stale = browsers[Role.APPROVER].post(f"/admin/cases/{case.id}/step/send_back",
                                         data={"send_back-reason": reason})
    assert stale.status_code == 409 and reason in stale.get_data(as_text=True)
    assert audit.verify(session) == []
