"""Work queues: sorted by due date, working days left, overdue flags, filters, assignment."""
import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portal.admin import queries
from portal.models import AuditEvent, Case, PublishedEntry, Role, SubjectKind, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind, SubmissionState
from portal.services import cases, submissions
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, make_subject
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
JIAMUSI = load_profile("jiamusi")
TODAY = dt.date(2026, 10, 12)          # a Monday, after National Day


@pytest.fixture
def today(time_machine):
    bureau_day(time_machine, TODAY)
    return TODAY


def _opened(session, clerk, on, kind=SubjectKind.ORGANISATION):
    ground = "J1" if kind is SubjectKind.ORGANISATION else "J5"
    return cases.open_case(session, clerk, JIAMUSI, make_subject(session, kind),
                           cases.CaseInput(ground=ground, facts="经查"), on)


def _pre_noticed(session, clerk, served_on, **kw):
    case = _opened(session, clerk, served_on, **kw)
    cases.serve_pre_notice(session, clerk, case, JIAMUSI, load_calendar(session), served_on)
    return case


def _decided(session, clerk, approver, decided_on):
    case = _pre_noticed(session, clerk, decided_on - dt.timedelta(days=30))
    cases.complete_review(session, None, case, decided_on - dt.timedelta(days=1))
    cases.propose_listing(session, clerk, case)
    cases.approve_listing(session, approver, case, JIAMUSI, load_calendar(session), decided_on)
    return case


@pytest.fixture
def desk(session, app):
    """Cases whose next deadlines fall around TODAY (computed with the 2026 schedule)."""
    clerk, other = staff(session, Role.CLERK, "wang.fang"), staff(session, Role.CLERK, "zhao.lei")
    approver = staff(session, Role.APPROVER, "zhang.wei")
    made = {
        "D": _pre_noticed(session, clerk, dt.date(2026, 10, 12)),        # defence due 10-19
        "A": _pre_noticed(session, clerk, dt.date(2026, 9, 28)),         # defence due 10-10
        "F": _opened(session, other, dt.date(2026, 10, 9)),              # no deadline yet
        "B": _decided(session, clerk, approver, dt.date(2026, 9, 30)),   # publication due 10-15
        "E": _pre_noticed(session, other, dt.date(2026, 10, 7), kind=SubjectKind.PERSON),  # 10-13
    }
    shared = _decided(session, clerk, approver, dt.date(2026, 9, 1))
    cases.publish_case(session, clerk, shared, JIAMUSI, "k", dt.date(2026, 9, 2))
    cases.mark_shared(session, clerk, shared, dt.date(2026, 9, 2))
    made["G"] = shared                                                    # nothing left to do
    session.commit()
    return {"clerk": clerk, "other": other, "approver": approver, "cases": made}


def _rows(response) -> dict[str, str]:
    html = response.get_data(as_text=True)
    body = html[html.index("<tbody>"):html.index("</tbody>")]
    rows = {}
    for row in body.split("<tr")[1:]:
        number = re.search(r'class="code">([A-Z]+-\d{4}-\d+|[A-Z]\d{8}-[0-9A-F]+)</a>', row)
        if number:
            rows[number.group(1)] = row
    return rows


def test_the_case_queue_is_sorted_by_due_date_with_flags(session, client, desk, today):
    english(client)
    login(client, desk["clerk"])
    response = client.get("/admin/queue/cases")
    rows = _rows(response)
    c = {k: v.case_no for k, v in desk["cases"].items()}
    assert list(rows) == [c["A"], c["E"], c["B"], c["D"], c["F"]]       # G has nothing due
    assert 'class="row-overdue"' in rows[c["A"]] and "overdue by 1 working day" in rows[c["A"]]
    assert 'class="row-soon"' in rows[c["E"]] and "1 working day left" in rows[c["E"]]
    assert 'class=""' in rows[c["B"]] and "3 working days left" in rows[c["B"]]
    assert "Publication due" in rows[c["B"]] and "Defence window ends" in rows[c["A"]]
    assert "5 working days left" in rows[c["D"]]
    assert "no statutory deadline" in rows[c["F"]]
    assert "Today: Oct 12, 2026" in text(response)


def test_the_case_queue_filters_and_pages(session, client, desk, today, monkeypatch):
    login(client, desk["clerk"])
    c = {k: v.case_no for k, v in desk["cases"].items()}
    assert list(_rows(client.get("/admin/queue/cases?kind=person"))) == [c["E"]]
    assert list(_rows(client.get("/admin/queue/cases?state=published"))) == [c["G"]]
    assert len(_rows(client.get("/admin/queue/cases?state=all"))) == 6
    mine = f"/admin/queue/cases?assignee={desk['other'].id}"
    assert list(_rows(client.get(mine))) == [c["E"], c["F"]]
    assert list(_rows(client.get("/admin/queue/cases?assignee=me"))) == [c["A"], c["B"], c["D"]]
    monkeypatch.setattr(queries, "PER_PAGE", 2)
    english(client)
    second = client.get("/admin/queue/cases?page=2")
    assert list(_rows(second)) == [c["B"], c["D"]]
    assert "Page 2 of 3" in text(second)
    assert 'href="/admin/queue/cases?page=3"' in second.get_data(as_text=True)
    assert list(_rows(client.get("/admin/queue/cases?page=99"))) == [c["F"]]    # clamped


def test_reassigning_a_case_is_audited(session, client, desk, today):
    case = desk["cases"]["A"]
    login(client, desk["clerk"])
    response = client.post(f"/admin/cases/{case.id}/assign",
                           data={"assign-assignee": str(desk["other"].id)})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).assignee_id == desk["other"].id
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "case.assign")).scalar_one()
    assert event.data == {"from": "wang.fang", "to": "zhao.lei"}
    assert event.actor_label == "staff:wang.fang"
    # an admin is not a case handler
    admin = staff(session, Role.ADMIN)
    assert client.post(f"/admin/cases/{case.id}/assign",
                       data={"assign-assignee": str(admin.id)}).status_code == 302
    session.expire_all()
    assert session.get(Case, case.id).assignee_id == desk["other"].id


def _filing(session, case, kind, received_on, body="请求更正"):
    return submissions.receive(session, JIAMUSI, load_calendar(session), submissions.Filing(
        kind=kind, body=body, case=case if kind is not SubmissionKind.COMPLAINT else None,
        filer_name="王建国", filer_contact="13800000000"), received_on).submission


def test_the_filing_queue_and_the_steps_of_a_filing(app, session, client, desk, today):
    listed = desk["cases"]["G"]
    late = _filing(session, listed, SubmissionKind.OBJECTION, dt.date(2026, 9, 28))      # due 10-10
    soon = _filing(session, listed, SubmissionKind.OBJECTION, dt.date(2026, 10, 8))      # due 10-14
    complaint = _filing(session, None, SubmissionKind.COMPLAINT, dt.date(2026, 10, 9))   # 15 wd
    session.commit()
    assert (late.due_on, soon.due_on) == (dt.date(2026, 10, 10), dt.date(2026, 10, 14))
    english(client)
    login(client, desk["clerk"])
    rows = _rows(client.get("/admin/queue/submissions"))
    assert list(rows) == [late.receipt_no, soon.receipt_no, complaint.receipt_no]
    assert "row-overdue" in rows[late.receipt_no] and "row-soon" in rows[soon.receipt_no]
    assert "2 working days left" in rows[soon.receipt_no]
    assert list(_rows(client.get("/admin/queue/submissions?kind=complaint"))) == [complaint.receipt_no]

    url = f"/admin/submissions/{soon.id}"
    assert client.post(f"{url}/accept").status_code == 302
    session.expire_all()
    assert soon.state is SubmissionState.UNDER_REVIEW
    assert session.execute(sa.select(PublishedEntry.under_objection)).scalar_one() is True
    empty = client.post(f"{url}/material", data={"material-note": ""})
    assert empty.status_code == 400 and "This field is required." in text(empty)
    asked = client.post(f"{url}/material", data={"material-note": "请补充缴费凭证复印件。"})
    assert asked.status_code == 302
    session.expire_all()
    assert soon.state is SubmissionState.AWAITING_MATERIAL and soon.paused_since == TODAY
    assert soon.events[-1].note == "请补充缴费凭证复印件。"
    rows = _rows(client.get("/admin/queue/submissions"))
    assert "clock paused" in rows[soon.receipt_no] and "row-" not in rows[soon.receipt_no].split(">")[0]

    # a granted decision needs the filing under review: only "rejected" is offered meanwhile
    page = client.get(url).get_data(as_text=True)
    assert 'value="granted"' not in page and 'value="rejected"' in page
    decided = client.post(f"{url}/decide", data={"decide-outcome": "rejected",
                                                  "decide-reasons": "经核查，原认定事实清楚。"})
    assert decided.status_code == 302
    session.expire_all()
    assert soon.state is SubmissionState.REJECTED and soon.decided_on == TODAY
    assert soon.decision_reasons == "经核查，原认定事实清楚。"
    assert soon.events[-1].note == "经核查，原认定事实清楚。"          # what the party sees
    assert session.execute(sa.select(PublishedEntry.under_objection)).scalar_one() is False
    actions = session.execute(sa.select(AuditEvent.action).where(
        AuditEvent.entity_id == soon.receipt_no).order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["submission.receive", "submission.under_review",
                       "submission.objection_marker", "submission.awaiting_material",
                       "submission.rejected"]


def test_assigning_a_filing_and_the_admin_cannot_decide(session, client, desk, today):
    filing = _filing(session, desk["cases"]["G"], SubmissionKind.OBJECTION, dt.date(2026, 10, 9))
    session.commit()
    login(client, desk["clerk"])
    assert client.post(f"/admin/submissions/{filing.id}/assign",
                       data={"assign-assignee": str(desk["clerk"].id)}).status_code == 302
    session.expire_all()
    assert session.get(Submission, filing.id).assignee_id == desk["clerk"].id
    assert list(_rows(client.get("/admin/queue/submissions?assignee=me"))) == [filing.receipt_no]
    admin_client = client.application.test_client()
    login(admin_client, staff(session, Role.ADMIN))
    assert admin_client.get(f"/admin/submissions/{filing.id}").status_code == 200   # read only
    assert admin_client.post(f"/admin/submissions/{filing.id}/accept").status_code == 403
