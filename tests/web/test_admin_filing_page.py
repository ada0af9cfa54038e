"""The filing page (issue 13): every 补正 exchange in order — the bureau's request with its date,
the party's reply text with its date, the files that came with each reply — and the date a
rectification was completed."""
import datetime as dt
import re

import pytest

from portal.models import Role, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import submissions
from portal.services.calendar import load_calendar
from tests.factories import EVIDENCE, make_staff, published_case
from tests.web.admin_support import english as english_admin
from tests.web.admin_support import fast_passwords, staff, text  # noqa: F401
from tests.web.admin_support import login as staff_login
from tests.web.test_submit_filings import post, set_today
from tests.web.test_submit_track import _objection

pytestmark = pytest.mark.usefixtures("fast_passwords")
D = dt.date
JIAMUSI = load_profile("jiamusi")


def _exchanges(body: str) -> list[str]:
    section = body[body.index('id="material-exchanges"'):]
    section = section[:section.index("</section>")]
    return re.findall(r'<li class="exchange"[^>]*>(.*?)</li>\s*(?=<li class="exchange"|</ol>)',
                      section, re.S)


def test_every_material_exchange_shows_its_texts_dates_and_files(app, session, client,
                                                                 time_machine):
    _case, sub, query = _objection(app, session, client, time_machine, on=D(2026, 6, 1))
    calendar = load_calendar(session)
    clerk = make_staff(session, Role.CLERK)
    submissions.accept_for_review(session, clerk, sub, JIAMUSI, calendar, D(2026, 6, 2))
    submissions.request_material(session, clerk, sub, "请提交2025年度缴费明细。", D(2026, 6, 3),
                                 JIAMUSI, calendar)
    session.commit()
    set_today(time_machine, D(2026, 6, 5))
    client.post("/track", data={"receipt_no": sub.receipt_no, "query_code": query})
    done = post(client, f"/track/{sub.receipt_no}/reply", {"body": "缴费明细见附件。"},
                [("缴费明细.pdf", EVIDENCE["pdf"])])
    assert done.status_code == 302
    submissions.request_material(session, clerk, sub, "请补充银行回单。", D(2026, 6, 8),
                                 JIAMUSI, calendar)
    session.commit()
    set_today(time_machine, D(2026, 6, 9))
    client.post("/track", data={"receipt_no": sub.receipt_no, "query_code": query})
    again = post(client, f"/track/{sub.receipt_no}/reply", {"body": "银行回单已于今日寄出纸质件。"})
    assert again.status_code == 302

    session.expire_all()
    sub = session.get(Submission, sub.id)
    licence, statement = sub.attachments
    browser = app.test_client()
    english_admin(browser)
    staff_login(browser, staff(session, Role.CLERK, "wang.fang"))
    body = browser.get(f"/admin/submissions/{sub.id}").get_data(as_text=True)
    first, second = _exchanges(body)
    plain = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", part)) for part in (first, second)]
    assert "请提交2025年度缴费明细。" in plain[0] and "Jun 3, 2026" in plain[0]
    assert "缴费明细见附件。" in plain[0] and "Jun 5, 2026" in plain[0]
    assert f"/admin/submissions/{sub.id}/files/{statement.id}" in first
    assert licence.original_name not in first
    assert "请补充银行回单。" in plain[1] and "Jun 8, 2026" in plain[1]
    assert "银行回单已于今日寄出纸质件。" in plain[1] and "Jun 9, 2026" in plain[1]
    assert "缴费明细.pdf" not in second
    # the evidence list tells the filing's own files from those that came with a reply
    evidence = body[body.index('id="evidence"'):]
    evidence = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", evidence[:evidence.index("</section>")]))
    assert re.search(r"营业执照（副本）\.png [^缴]*with the filing", evidence)
    assert re.search(r"缴费明细\.pdf [^营]*with reply 1", evidence)


def test_an_unanswered_request_says_it_waits(app, session, client, time_machine):
    set_today(time_machine, D(2026, 4, 1))
    case = published_case(session, app, ground="J1", decided_on=D(2026, 3, 16))
    calendar = load_calendar(session)
    sub = submissions.receive(session, JIAMUSI, calendar, submissions.Filing(
        kind=SubmissionKind.RECTIFICATION, body="已补缴全部欠费。", case=case, filer_name="王建国",
        details={"rectified_on": "2026-03-28"}), D(2026, 3, 30)).submission
    clerk = staff(session, Role.CLERK, "wang.fang")
    submissions.accept_for_review(session, clerk, sub, JIAMUSI, calendar, D(2026, 3, 31))
    submissions.request_material(session, clerk, sub, "请提供补缴凭证。", D(2026, 4, 1),
                                 JIAMUSI, calendar)
    session.commit()
    english_admin(client)
    staff_login(client, clerk)
    page = text(client.get(f"/admin/submissions/{sub.id}"))
    assert "Rectification completed on Mar 28, 2026" in page
    assert "请提供补缴凭证。" in page and "No reply yet" in page
    assert "reply due" in page.lower()


def test_files_of_replies_recorded_before_they_were_named_are_matched_by_time(
        app, session, client, time_machine):
    from portal.admin import exchanges
    from portal.models import Attachment

    set_today(time_machine, D(2026, 4, 1))
    case = published_case(session, app, ground="J1", decided_on=D(2026, 3, 16))
    calendar = load_calendar(session)
    sub = submissions.receive(session, JIAMUSI, calendar, submissions.Filing(
        kind=SubmissionKind.OBJECTION, body="金额有误。", case=case, filer_name="王建国"),
        D(2026, 4, 1)).submission
    sub.attachments.append(Attachment(original_name="原件.pdf", stored_name="a" * 32,
                                      content_type="application/pdf", size=10, sha256="0" * 64))
    session.flush()
    clerk = staff(session, Role.CLERK, "wang.fang")
    submissions.accept_for_review(session, clerk, sub, JIAMUSI, calendar, D(2026, 4, 1))
    set_today(time_machine, D(2026, 4, 2))
    submissions.request_material(session, clerk, sub, "请补充。", D(2026, 4, 2), JIAMUSI, calendar)
    set_today(time_machine, D(2026, 4, 3))
    submissions.reply_material(session, sub, "已补充。", D(2026, 4, 3), JIAMUSI, calendar)
    sub.attachments.append(Attachment(original_name="补充.pdf", stored_name="b" * 32,
                                      content_type="application/pdf", size=10, sha256="1" * 64))
    details = dict(sub.details)                     # as recorded before the files were named
    details["material_requests"] = [{k: v for k, v in r.items() if k != "files"}
                                    for r in details["material_requests"]]
    sub.details = details
    session.commit()
    found, came_with = exchanges.exchanges(sub)
    original, later = sub.attachments
    assert came_with == {later.id: 1} and found[0].files == [later]
