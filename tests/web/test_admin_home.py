"""The landing page of each role: what waits for that role, with counts, links, and the nearest
deadlines (issue 13: an approver landed on "共0件案件" while five proposals waited)."""
import datetime as dt
import re

import pytest

from portal.models import Role
from portal.rules.workflow import SubmissionKind
from portal.services import cases, submissions
from portal.services.calendar import load_calendar
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

from tests.web.desk_support import JIAMUSI, TODAY, _opened, _pre_noticed, _proposed, today  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")




def _decided(session, clerk, reviewer, approver, decided_on):
    case = _proposed(session, clerk, reviewer, decided_on - dt.timedelta(days=30))
    cases.approve_listing(session, approver, case, JIAMUSI, load_calendar(session), decided_on)
    return case


@pytest.fixture
def office(session, app, today):  # noqa: F811 (the fixture of desk_support)
    clerk = staff(session, Role.CLERK, "wang.fang")
    reviewer = staff(session, Role.REVIEWER, "li.na")
    approver = staff(session, Role.APPROVER, "zhang.wei")
    proposed = [_proposed(session, clerk, reviewer, dt.date(2026, 8, 3)) for _ in range(5)]
    defence = _pre_noticed(session, clerk, dt.date(2026, 10, 9))        # window ends 10-16
    opened = _opened(session, clerk, dt.date(2026, 10, 9))
    decided = _decided(session, clerk, reviewer, approver, dt.date(2026, 9, 30))  # publish 10-15
    cases.publish_case(session, clerk, decided, JIAMUSI, "k", dt.date(2026, 10, 9))
    objection = submissions.receive(session, JIAMUSI, load_calendar(session), submissions.Filing(
        kind=SubmissionKind.OBJECTION, body="请求更正", case=decided, filer_name="王建国"),
        dt.date(2026, 10, 9)).submission                                  # decision due 10-16
    session.commit()
    return {"clerk": clerk, "reviewer": reviewer, "approver": approver, "proposed": proposed,
            "defence": defence, "opened": opened, "decided": decided, "objection": objection}


def _panel(body: str, name: str) -> str:
    found = re.search(rf'<li data-waiting="{name}">(.*?)</li>', body, re.S)
    assert found, name
    return found.group(1)


def test_an_approver_lands_on_the_proposals_waiting_for_signature(session, client, office):
    english(client)
    login(client, office["approver"])
    response = client.get("/admin/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    waiting = _panel(body, "proposals")
    assert re.search(r">\s*5\s*<", waiting)
    assert 'href="/admin/queue/cases?state=proposed&amp;step=approve"' in waiting
    assert "0 cases" not in text(response)


def test_the_approver_does_not_count_what_it_prepared(session, client, office):
    # the four-eyes rule: a proposal the approver prepared waits for another approver
    office["proposed"][0].prepared_by_id = office["approver"].id
    session.commit()
    login(client, office["approver"])
    waiting = _panel(client.get("/admin/").get_data(as_text=True), "proposals")
    assert re.search(r">\s*4\s*<", waiting)


def test_a_clerk_sees_its_work_and_the_nearest_deadlines_in_date_order(session, client, office):
    english(client)
    login(client, office["clerk"])
    response = client.get("/admin/")
    body = response.get_data(as_text=True)
    assert re.search(r">\s*1\s*<", _panel(body, "to_pre_notice"))
    assert 'href="/admin/queue/cases?state=opened"' in _panel(body, "to_pre_notice")
    assert re.search(r">\s*1\s*<", _panel(body, "filings_to_accept"))
    assert 'href="/admin/queue/submissions?state=received"' in _panel(body, "filings_to_accept")
    deadlines = body[body.index('id="deadlines"'):]
    for number in (office["decided"].case_no, office["defence"].case_no,
                   office["objection"].receipt_no):
        assert number in deadlines
    days = [dt.datetime.strptime(d, "%b %d, %Y").date()
            for d in re.findall(r'class="due-date">([^<]+)<', deadlines)]
    assert len(days) == 3 and days == sorted(days)
    assert office["defence"].defence_due_on in days and office["objection"].due_on in days


def test_a_reviewer_sees_reviews_and_filings_under_review(session, client, office):
    english(client)
    _pre_noticed(session, office["clerk"], dt.date(2026, 9, 1))   # window over
    session.commit()
    login(client, office["reviewer"])
    body = client.get("/admin/").get_data(as_text=True)
    assert re.search(r">\s*1\s*<", _panel(body, "windows_lapsed"))
    assert 'href="/admin/queue/submissions?state=under_review"' in _panel(body, "under_review")


def test_an_admin_sees_accounts_calendar_and_imports(session, client, office):
    english(client)
    admin = staff(session, Role.ADMIN, "admin.zhou")
    office["clerk"].active = False
    session.commit()
    login(client, admin)
    response = client.get("/admin/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert re.search(r">\s*1\s*<", _panel(body, "inactive_accounts"))
    assert 'href="/admin/users/"' in body and "/admin/calendar/" in body
