"""/track: receipt number + query code, history, 补正 replies with files, downloads, e-mail."""
import datetime as dt
import re
from urllib.parse import quote

import sqlalchemy as sa

from portal.models import Role, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionState
from portal.services import submissions
from portal.services.calendar import load_calendar
from tests.factories import EVIDENCE, listed_case, make_staff
from tests.services.test_notifications import deliver, rows, smtp_server  # noqa: F401
from tests.storage_support import BOTH, stored_names
from tests.web.test_submit_filings import (
    FILER,
    english,
    login,
    only_submission,
    post,
    query_code,
    set_today,
    token,
)

D = dt.date
JUNE_1 = D(2026, 6, 1)
LICENCE = (("营业执照（副本）.png", EVIDENCE["png"]),)


def _objection(app, session, client, time_machine, on=JUNE_1, files=LICENCE, email=""):
    case, code = listed_case(session, app)
    session.commit()
    set_today(time_machine, on)
    login(client, case, code)
    reply = post(client, "/submit/objection", {"token": token(client, "/submit/objection"), "category": "facts",
                                               "body": "金额有误。", **FILER, "filer_email": email}, files)
    assert reply.status_code == 200
    return case, only_submission(session), query_code(reply.get_data(as_text=True))


def test_track_with_receipt_and_code_shows_status_and_due_date(app, session, client, time_machine):
    _case, sub, code = _objection(app, session, client, time_machine)
    other = app.test_client()
    english(other)
    reply = other.post("/track", data={"receipt_no": sub.receipt_no.lower(), "query_code": code.lower()})
    assert reply.status_code == 302 and reply.headers["Location"] == f"/track/{sub.receipt_no}"
    page = other.get(f"/track/{sub.receipt_no}").get_data(as_text=True)
    assert "Received" in page and "Jun 8, 2026" in page
    assert "Working days left after today: 5" in page
    assert "State Council holiday schedule 2026" in page
    assert "金额有误。" in page and "营业执照（副本）.png" in page
    assert other.get(f"/track/{sub.receipt_no}").headers["Cache-Control"] == "private, no-store"


def test_a_wrong_code_looks_exactly_like_an_unknown_receipt(app, session, client, time_machine):
    _case, sub, _code = _objection(app, session, client, time_machine)
    stranger = app.test_client()
    wrong = stranger.post("/track", data={"receipt_no": sub.receipt_no, "query_code": "2345-6789-AB"})
    unknown = stranger.post("/track", data={"receipt_no": "O20260601-000000", "query_code": "2345-6789-AB"})
    assert wrong.status_code == unknown.status_code == 422
    strip = lambda r: re.sub(r'name="receipt_no"[^>]*value="[^"]*"', "", r.get_data(as_text=True))
    assert strip(wrong) == strip(unknown)
    assert sub.receipt_no not in strip(wrong).replace(f'value="{sub.receipt_no}"', "")
    assert stranger.get(f"/track/{sub.receipt_no}").status_code == 302


def test_one_filer_cannot_read_or_download_another_filing(app, session, client, time_machine):
    _case, sub_a, _code_a = _objection(app, session, client, time_machine)
    b_browser = app.test_client()
    case_b, b_code = listed_case(session, app)
    session.commit()
    login(b_browser, case_b, b_code)
    post(b_browser, "/submit/objection", {"token": token(b_browser, "/submit/objection"), "category": "identity",
                                          "body": "B 的异议", **FILER}, [("b.pdf", EVIDENCE["pdf"])])
    session.expire_all()
    sub_b = session.execute(sa.select(Submission).where(Submission.case_id == case_b.id)).scalar_one()
    b_file = sub_b.attachments[0]
    # A's browser tracks A's filing (it filed it) but not B's
    assert client.get(f"/track/{sub_a.receipt_no}").status_code == 200
    assert client.get(f"/track/{sub_b.receipt_no}").status_code == 302
    assert client.get(f"/track/{sub_b.receipt_no}/files/{b_file.id}").status_code == 404
    assert client.get(f"/track/{sub_a.receipt_no}/files/{b_file.id}").status_code == 404   # not A's file
    assert b_browser.get(f"/track/{sub_b.receipt_no}/files/{b_file.id}").status_code == 200


@BOTH
def test_download_round_trips_the_chinese_name_and_the_bytes(app, session, client, time_machine):
    _case, sub, _code = _objection(app, session, client, time_machine,
                                   files=(("营业执照（副本）.png", EVIDENCE["png"]), ("照片.pdf", EVIDENCE["png"])))
    first, renamed = sub.attachments
    reply = client.get(f"/track/{sub.receipt_no}/files/{first.id}")
    assert reply.status_code == 200 and reply.data == EVIDENCE["png"]
    assert reply.mimetype == "image/png"
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('营业执照（副本）.png')}" in disposition
    assert renamed.content_type == "image/png"              # typed by content, not by its .pdf name
    other = client.get(f"/track/{sub.receipt_no}/files/{renamed.id}")
    assert quote("照片.pdf.png") in other.headers["Content-Disposition"]
    assert reply.headers["Cache-Control"] == "private, no-store"


@BOTH
def test_material_request_reply_with_files_resumes_the_clock(app, session, client, time_machine):
    _case, sub, query = _objection(app, session, client, time_machine, on=D(2026, 6, 1))
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    clerk = make_staff(session, Role.CLERK)
    submissions.accept_for_review(session, clerk, sub, profile, calendar, D(2026, 6, 2))
    submissions.request_material(session, clerk, sub, "请提交2025年度缴费明细。", D(2026, 6, 3), profile, calendar)
    session.commit()
    set_today(time_machine, D(2026, 6, 5))      # days later the filer signs in to /track again
    client.post("/track", data={"receipt_no": sub.receipt_no, "query_code": query})
    english(client)
    page = client.get(f"/track/{sub.receipt_no}").get_data(as_text=True)
    assert "请提交2025年度缴费明细。" in page and "Please reply by Jun 17, 2026." in page
    assert "The clock is paused since Jun 3, 2026" in page
    empty = post(client, f"/track/{sub.receipt_no}/reply", {"body": ""})
    assert empty.status_code == 422 and "Write a reply or attach at least one file." in empty.get_data(as_text=True)
    bad = post(client, f"/track/{sub.receipt_no}/reply", {"body": "见附件"}, [("明细.pdf", EVIDENCE["exe"])])
    assert bad.status_code == 422 and "明细.pdf" in bad.get_data(as_text=True)
    assert '見附件' not in bad.get_data(as_text=True) and "见附件" in bad.get_data(as_text=True)
    done = post(client, f"/track/{sub.receipt_no}/reply", {"body": "见附件"}, [("缴费明细.pdf", EVIDENCE["pdf"])])
    assert done.status_code == 302
    session.expire_all()
    sub = session.get(Submission, sub.id)
    assert sub.state is SubmissionState.UNDER_REVIEW and sub.due_on == D(2026, 6, 10)
    assert [a.original_name for a in sub.attachments] == ["营业执照（副本）.png", "缴费明细.pdf"]
    page = client.get(f"/track/{sub.receipt_no}").get_data(as_text=True)
    assert "Your reply was received" in page and "additional material was received" in page
    again = post(client, f"/track/{sub.receipt_no}/reply", {"body": "再次"}, [("x.pdf", EVIDENCE["pdf"])])
    assert again.status_code == 302
    session.expire_all()
    rows = session.get(Submission, sub.id).attachments
    assert len(rows) == 2 and stored_names(app) == sorted(a.stored_name for a in rows)


def test_decision_and_reasons_are_shown(app, session, client, time_machine):
    _case, sub, _code = _objection(app, session, client, time_machine)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    clerk = make_staff(session, Role.CLERK)
    submissions.accept_for_review(session, clerk, sub, profile, calendar, D(2026, 6, 2))
    submissions.decide(session, clerk, sub, False, "经核查，列入信息准确，异议不成立。", profile, calendar,
                       app.config["PORTAL_LOOKUP_KEY"], D(2026, 6, 4))
    session.commit()
    english(client)
    page = client.get(f"/track/{sub.receipt_no}").get_data(as_text=True)
    assert "Not granted." in page and "经核查，列入信息准确，异议不成立。" in page
    assert "administrative reconsideration within 60 days" in page
    assert "Working days left" not in page


def test_a_2027_due_date_is_flagged_provisional(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 10, 9), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 12, 1))
    login(client, case, code)
    english(client)
    reply = post(client, "/submit/rectification", {"token": token(client, "/submit/rectification"),
                                                   "rectified_on": "2026-11-30", "body": "已缴清。", **FILER},
                 [("a.pdf", EVIDENCE["pdf"])])
    html = reply.get_data(as_text=True)
    assert "Jan 13, 2027" in html and "provisional" in html
    assert "2027 provisional: weekends and statutory holidays only" in html
    sub = only_submission(session)
    page = client.get(f"/track/{sub.receipt_no}").get_data(as_text=True)
    assert "badge provisional" in page and "Jan 13, 2027" in page


def test_receipt_mail_through_the_web_flow(app, session, client, time_machine, smtp_server):  # noqa: F811
    _case, sub, code = _objection(app, session, client, time_machine, email="hr@example.cn")
    assert smtp_server.messages == []                 # the request only wrote the row
    [row] = rows(session)
    assert (row.status.value, row.recipient) == ("pending", "hr@example.cn")
    assert deliver(app, session).sent == 1            # the worker's round
    [(to, receipt_mail)] = smtp_server.messages
    assert to == ["hr@example.cn"] and sub.receipt_no in receipt_mail["Subject"]
    text = receipt_mail.get_body(preferencelist=("plain",)).get_content()
    assert code not in text and "2026年6月8日" in text
    assert sub.details["locale"] == "zh_CN"
