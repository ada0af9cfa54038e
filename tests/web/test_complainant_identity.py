"""A named complainant's identity: read only by the roles that handle complaints, each reading audited."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from portal.admin import access
from portal.models import AuditEvent, Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import submissions
from portal.services.calendar import load_calendar
from tests.factories import listed_case
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
NAME, PHONE, MAIL = "王建国", "13912345678", "wjg@example.cn"


def _file(session, kind=SubmissionKind.COMPLAINT, anonymous=False, case=None):
    return submissions.receive(session, load_profile("jiamusi"), load_calendar(session),
                               submissions.Filing(
                                   kind=kind, body="某公司未给职工参保", reported_name="某公司",
                                   case=case, filer_name=NAME, filer_contact=PHONE,
                                   filer_email=MAIL, anonymous=anonymous),
                               dt.date(2026, 10, 9)).submission


def _readings(session, receipt_no):
    return session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "submission.read_filer_identity",
        AuditEvent.entity_id == receipt_no).order_by(AuditEvent.seq)).scalars().all()


def test_only_complaint_handlers_may_read_a_complainant():
    assert {r for r in Role if access.may_read_complainant(r)} == {
        Role.CLERK, Role.REVIEWER, Role.APPROVER}


def test_the_admin_does_not_see_a_named_complainant(app, session, client):
    complaint = _file(session)
    session.commit()
    login(client, staff(session, Role.ADMIN))
    page = client.get(f"/admin/submissions/{complaint.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert NAME not in html and PHONE not in html and MAIL not in html
    assert "某公司未给职工参保" in html                       # the filing itself stays readable
    assert _readings(session, complaint.receipt_no) == []


@pytest.mark.parametrize("role", [Role.CLERK, Role.REVIEWER, Role.APPROVER])
def test_handlers_see_the_complainant_and_each_reading_is_audited(app, session, client, role):
    complaint = _file(session)
    session.commit()
    reader = staff(session, role)
    login(client, reader)
    for _ in range(2):
        html = client.get(f"/admin/submissions/{complaint.id}").get_data(as_text=True)
        assert NAME in html and PHONE in html and MAIL in html
    session.expire_all()
    readings = _readings(session, complaint.receipt_no)
    assert [(e.actor_id, e.entity_type) for e in readings] == [(reader.id, "submission")] * 2
    recorded = json.dumps([e.data for e in readings], ensure_ascii=False)
    assert NAME not in recorded and PHONE not in recorded and MAIL not in recorded


def test_anonymous_complaints_and_party_filings_record_no_reading(app, session, client):
    anonymous = _file(session, anonymous=True)
    case, _code = listed_case(session, app)
    objection = _file(session, SubmissionKind.OBJECTION, case=case)
    session.commit()
    login(client, staff(session, Role.CLERK))
    client.get(f"/admin/submissions/{anonymous.id}")
    assert NAME in client.get(f"/admin/submissions/{objection.id}").get_data(as_text=True)
    session.expire_all()
    assert _readings(session, anonymous.receipt_no) == []
    assert _readings(session, objection.receipt_no) == []
