"""Every step of the procedure, tried by every role that may not take it: refused, nothing changes."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Case, Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState
from portal.services import cases
from portal.services.case_steps import BUTTONS, CASE_STEPS
from portal.services.audit import Actor
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, make_staff, make_subject
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
C = CaseState
SERVED = dt.date(2026, 9, 28)
#: the state each step is tried in
STATE_FOR = {"pre_notice": C.OPENED, "defence": C.PRE_NOTICED, "review": C.DEFENCE_FILED,
             "propose": C.REVIEWED, "approve": C.PROPOSED, "send_back": C.PROPOSED,
             "publish": C.DECIDED, "share": C.DECIDED, "remove": C.PUBLISHED, "drop": C.OPENED}
FORBIDDEN = [(step, role) for step in BUTTONS for role in Role
             if role not in CASE_STEPS[step].roles]


def _case_in(session, app, state: CaseState) -> Case:
    """A Jiamusi case brought to ``state`` through the services by a separate team."""
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    clerk, reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
    approver = make_staff(session, Role.APPROVER)
    case = cases.open_case(session, clerk, profile, make_subject(session),
                           cases.CaseInput(ground="J1", facts="经查。"), SERVED)
    order = [C.PRE_NOTICED, C.DEFENCE_FILED, C.REVIEWED, C.PROPOSED, C.DECIDED, C.PUBLISHED]
    for target in order[:order.index(state) + 1] if state in order else []:
        if target is C.PRE_NOTICED:
            cases.serve_pre_notice(session, clerk, case, profile, calendar, SERVED)
        elif target is C.DEFENCE_FILED:
            cases.record_defence(session, Actor.staff(clerk), case, SERVED)
        elif target is C.REVIEWED:
            cases.complete_review(session, reviewer, case, SERVED)
        elif target is C.PROPOSED:
            cases.propose_listing(session, clerk, case)
        elif target is C.DECIDED:
            cases.approve_listing(session, approver, case, profile, calendar, SERVED + dt.timedelta(days=20))
        elif target is C.PUBLISHED:
            cases.publish_case(session, clerk, case, profile, app.config["PORTAL_LOOKUP_KEY"],
                               SERVED + dt.timedelta(days=21))
    session.commit()
    assert case.state is state
    return case


def test_every_step_has_a_state_to_be_tried_in():
    assert set(STATE_FOR) == set(BUTTONS)
    assert all(STATE_FOR[step] in CASE_STEPS[step].states for step in BUTTONS)


@pytest.mark.parametrize(("step", "role"), FORBIDDEN, ids=[f"{s}-{r.value}" for s, r in FORBIDDEN])
def test_a_forbidden_step_is_refused(app, session, client, time_machine, step, role):
    bureau_day(time_machine, dt.date(2026, 11, 2))
    case = _case_in(session, app, STATE_FOR[step])
    events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    login(client, staff(session, role))
    day = "2026-11-02"
    response = client.post(f"/admin/cases/{case.id}/step/{step}", data={
        f"{step}-served_on": day, f"{step}-received_on": day, f"{step}-decided_on": day,
        f"{step}-published_on": day, f"{step}-shared_on": day, f"{step}-removed_on": day,
        f"{step}-reason": "revoked" if step == "remove" else "不予列入", f"{step}-note": "x"})
    assert response.status_code == 403
    session.expire_all()
    after = session.get(Case, case.id)
    assert after.state is STATE_FOR[step] and after.shared_on is None
    actions = session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.seq)
                              .offset(events)).scalars().all()
    assert not [a for a in actions if a.startswith("case.")], actions


def test_the_preparer_cannot_approve_even_as_approver(app, session, client, time_machine):
    bureau_day(time_machine, dt.date(2026, 11, 2))
    case = _case_in(session, app, C.REVIEWED)
    # The preparer is whoever proposed: a reviewer who proposed and was later made an
    # approver still may not sign that decision.
    reviewer = staff(session, Role.REVIEWER)
    cases.propose_listing(session, reviewer, case)
    reviewer.role = Role.APPROVER
    session.commit()
    login(client, reviewer)
    response = client.post(f"/admin/cases/{case.id}/step/approve",
                           data={"approve-decided_on": "2026-11-02"})
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Case, case.id).state is C.PROPOSED
