"""The back office decides an objection with its outcome: corrected facts, or the listing fell."""
import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine

from portal.models import PublishedEntry, Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, SubmissionKind, SubmissionState
from portal.services import submissions
from portal.services.calendar import load_calendar
from tests.factories import published_case
from tests.web.admin_support import fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
CONTESTED = "经查，该单位拖欠社会保险费人民币叁拾万元。"
CORRECTED = "经复查，该单位拖欠社会保险费人民币伍万元。"


@pytest.fixture
def objection(app, session):
    case = published_case(session, app, facts=CONTESTED, decided_on=dt.date(2026, 9, 1))
    filing = submissions.Filing(kind=SubmissionKind.OBJECTION, body="金额有误", case=case,
                                filer_name="王建国", category="facts")
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    sub = submissions.file(session, profile, calendar, filing, dt.date(2026, 10, 9)).submission
    approver = staff(session, Role.APPROVER, "zhang.wei")
    submissions.accept_for_review(session, approver, sub, profile, calendar, dt.date(2026, 10, 9))
    session.commit()
    return case, sub, approver


def test_upholding_an_objection_in_the_back_office_publishes_the_corrected_facts(
        session, client, objection):
    case, sub, approver = objection
    with time_machine.travel(dt.datetime(2026, 10, 12, 3, tzinfo=dt.UTC), tick=False):
        login(client, approver)
        url = f"/admin/submissions/{sub.id}"
        assert "decide-corrected_facts" in client.get(url).get_data(as_text=True)
        missing = client.post(f"{url}/decide", data={"decide-outcome": "granted",
                                                      "decide-reasons": "异议成立。"})
        assert missing.status_code == 400              # the page again, the reasons kept
        assert "corrected facts or reasons" in text(missing) or "更正后的事实" in text(missing)
        assert "异议成立。" in missing.get_data(as_text=True)
        session.expire_all()
        assert sub.state is SubmissionState.UNDER_REVIEW
        done = client.post(f"{url}/decide", data={
            "decide-outcome": "granted", "decide-reasons": "异议成立。",
            "decide-objection_outcome": "corrected", "decide-corrected_facts": CORRECTED})
        assert done.status_code == 302
    session.expire_all()
    assert sub.state is SubmissionState.GRANTED and case.state is CaseState.PUBLISHED
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert entry.facts == CORRECTED and entry.corrected_on == dt.date(2026, 10, 12)
    page = client.get(f"/entries/{entry.public_id}").get_data(as_text=True)
    assert CORRECTED in page and CONTESTED not in page
    with time_machine.travel(dt.datetime(2026, 10, 12, 3, tzinfo=dt.UTC), tick=False):
        login(client, approver)
        staff_page = text(client.get(f"/admin/cases/{case.id}"))
    assert "异议成立后更正事实" in staff_page and CORRECTED in staff_page


def test_a_listing_that_fell_on_objection_gets_its_removal_letter_numbered(
        session, client, objection):
    """The removal a granted filing causes is an act like the back office's own removal step:
    its 移出决定书 is numbered in the register as it is taken."""
    from portal.models import Letter, LetterKind

    case, sub, approver = objection
    with time_machine.travel(dt.datetime(2026, 10, 12, 3, tzinfo=dt.UTC), tick=False):
        login(client, approver)
        done = client.post(f"/admin/submissions/{sub.id}/decide", data={
            "decide-outcome": "granted", "decide-reasons": "异议成立，列入依据不足。",
            "decide-objection_outcome": "fell"})
        assert done.status_code == 302
    session.expire_all()
    assert case.state is CaseState.REMOVED
    kinds = set(session.execute(sa.select(Letter.kind).where(Letter.case_id == case.id)).scalars())
    assert LetterKind.REMOVAL_DECISION in kinds
