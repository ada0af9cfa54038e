"""The case page (issue 13): its filings, its letters (no "本案尚未出具文书" on a decided case),
and its clocks (defence window, decision, term, rectification and credit repair, next step)."""
import datetime as dt
import re

import pytest

from portal.models import Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import cases, filing_windows, submissions
from portal.services.calendar import load_calendar
from tests.factories import bureau_day, make_subject, published_case
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
JIAMUSI = load_profile("jiamusi")
NO_LETTER = "No letter has been issued for this case yet."


def _file(session, case, kind, on, body="材料"):
    return submissions.receive(session, JIAMUSI, load_calendar(session), submissions.Filing(
        kind=kind, body=body, case=case, filer_name="王建国"), on).submission


def test_the_case_page_lists_its_filings_with_their_dates(app, session, client, time_machine):
    bureau_day(time_machine, dt.date(2026, 4, 1))
    case = published_case(session, app, ground="J1", decided_on=dt.date(2026, 3, 16))
    objection = _file(session, case, SubmissionKind.OBJECTION, dt.date(2026, 3, 20))
    rectified = _file(session, case, SubmissionKind.RECTIFICATION, dt.date(2026, 3, 30))
    session.commit()
    english(client)
    login(client, staff(session, Role.CLERK))
    body = client.get(f"/admin/cases/{case.id}").get_data(as_text=True)
    section = body[body.index('id="case-filings"'):]
    section = section[:section.index("</section>")]
    for filing, kind in ((objection, "Objection"), (rectified, "Rectification evidence")):
        row = re.search(rf'<tr[^>]*>(?:(?!</tr>).)*{filing.receipt_no}(?:(?!</tr>).)*</tr>',
                        section, re.S).group(0)
        assert f'href="/admin/submissions/{filing.id}"' in row
        assert kind in row and "Received" in row
        assert filing.received_on.strftime("%b %-d, %Y") in row
        assert filing.due_on.strftime("%b %-d, %Y") in row
    assert section.index(objection.receipt_no) < section.index(rectified.receipt_no)


def test_the_case_page_shows_its_clocks_from_the_rules(app, session, client, time_machine):
    bureau_day(time_machine, dt.date(2026, 4, 1))
    case = published_case(session, app, ground="J1", decided_on=dt.date(2026, 3, 16))
    session.commit()
    english(client)
    login(client, staff(session, Role.CLERK))
    page = text(client.get(f"/admin/cases/{case.id}"))
    calendar = load_calendar(session)
    windows = filing_windows.windows(session, case, JIAMUSI, calendar, dt.date(2026, 4, 1))
    rect = windows[SubmissionKind.RECTIFICATION]
    repair = windows[SubmissionKind.CREDIT_REPAIR]
    fmt = "%b %-d, %Y"
    assert f"Rectification evidence may be filed until {rect.closes_on.strftime(fmt)}" in page
    assert f"Credit repair may be applied for from {repair.opens_on.strftime(fmt)}" in page
    assert f"Leaves the list on {case.leaves_list_on.strftime(fmt)}" in page
    assert "Next step" in page and "Upload to sharing platform due" in page
    assert case.share_due_on.strftime(fmt) in page


def test_a_case_decided_in_the_back_office_shows_its_decision_letter(app, session, client,
                                                                     time_machine):
    bureau_day(time_machine, dt.date(2026, 10, 12))
    clerk = staff(session, Role.CLERK, "wang.fang")
    approver = staff(session, Role.APPROVER, "zhang.wei")
    case = cases.open_case(session, clerk, JIAMUSI, make_subject(session),
                           cases.CaseInput(ground="J1", facts="经查"), dt.date(2026, 9, 1))
    session.commit()
    login(client, clerk)
    served = client.post(f"/admin/cases/{case.id}/step/pre_notice",
                         data={"pre_notice-served_on": "2026-09-01"})
    assert served.status_code == 200
    cases.complete_review(session, None, case, dt.date(2026, 9, 20))
    cases.propose_listing(session, clerk, case)
    session.commit()
    as_approver = app.test_client()
    login(as_approver, approver)
    signed = as_approver.post(f"/admin/cases/{case.id}/step/approve",
                              data={"approve-decided_on": "2026-10-12"})
    assert signed.status_code == 200
    english(as_approver)
    page = text(as_approver.get(f"/admin/cases/{case.id}"))
    assert NO_LETTER not in page
    assert "JIA-GZ-2026-00001" in page and "JIA-LR-2026-00001" in page


def test_a_decided_case_without_a_numbered_letter_does_not_say_none_was_issued(
        app, session, client, time_machine):
    bureau_day(time_machine, dt.date(2026, 4, 1))
    case = published_case(session, app, ground="J1", decided_on=dt.date(2026, 3, 16))
    opened = cases.open_case(session, staff(session, Role.CLERK), JIAMUSI, make_subject(session),
                             cases.CaseInput(ground="J1", facts="经查"), dt.date(2026, 3, 30))
    session.commit()
    english(client)
    login(client, staff(session, Role.CLERK))
    page = text(client.get(f"/admin/cases/{case.id}"))
    assert NO_LETTER not in page
    assert "Listing decision with the credit repair notice" in page
    assert "not yet numbered" in page
    assert NO_LETTER in text(client.get(f"/admin/cases/{opened.id}"))
