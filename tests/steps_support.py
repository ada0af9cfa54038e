"""Cases and filings brought to each state through the services, and each step taken with
valid data: shared by the tests that check what is offered against what succeeds."""
import datetime as dt

from portal.models import Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, RemovalReason, SubmissionKind, SubmissionState
from portal.services import assignments, audit, cases, submissions
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing, ObjectionOutcome
from tests.factories import make_staff, make_subject

C, K, S = CaseState, SubmissionKind, SubmissionState
J = load_profile("jiamusi")
SERVED = dt.date(2026, 9, 28)           # the defence window runs to 10-10
DECIDED = dt.date(2026, 10, 19)
TODAY = dt.date(2026, 11, 2)            # every step is tried on this day
ROLES = (Role.CLERK, Role.REVIEWER, Role.APPROVER, Role.ADMIN)
#: the case variants: the state each is brought to, and how
CASE_VARIANTS = ("opened", "pre_noticed", "in_window", "defence_filed", "reviewed", "proposed",
                 "proposed_by_approver", "decided", "shared", "published", "removed", "dropped")


def make_team(session, make=make_staff) -> dict:
    """One member of staff of each role (``make``: how one is made, e.g. with a password)."""
    return {role: make(session, role) for role in ROLES}


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


#: kind -> the case variants its filing is made on (None: a complaint, no case)
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
