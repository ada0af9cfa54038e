"""The five filings end to end through the test client, on both databases."""
import datetime as dt
import hashlib
import io
import re

import pytest
import sqlalchemy as sa

from portal.models import PublishedEntry, RemovalNotice, Role, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, SubmissionKind
from portal.services import submissions
from portal.services.calendar import load_calendar
from tests.factories import (
    EVIDENCE,
    bureau_day,
    listed_case,
    make_staff,
    ofd_bytes,
    pre_noticed_case,
)
from tests.storage_support import BOTH, stored_bytes, stored_names

D = dt.date
FILER = {"filer_name": "王建国", "filer_contact": "0454-8888888", "filer_email": ""}


# ------------------------------------------------------------------ helpers (used by the other submit tests)

def set_today(time_machine, day: dt.date) -> None:
    bureau_day(time_machine, day)


def login(client, case, code, identifier=None):
    identifier = identifier or case.subject.uscc or case.subject.id_number
    return client.post("/submit/party", data={"case_no": case.case_no, "access_code": code,
                                              "identifier": identifier})


def token(client, url) -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)


def post(client, url, data, files=(), field="files"):
    data = dict(data)
    if files:
        data[field] = [(io.BytesIO(content), name) for name, content in files]
    return client.post(url, data=data, content_type="multipart/form-data")


def query_code(html: str) -> str:
    codes = re.findall(r'<dd class="big code">([^<]+)</dd>', html)
    assert len(codes) == 2, "receipt page shows the receipt number and the query code"
    return codes[1]


def english(client):
    client.get("/lang/en")


def only_submission(session) -> Submission:
    session.expire_all()
    return session.execute(sa.select(Submission)).scalar_one()


# ------------------------------------------------------------------ defence

def test_defence_end_to_end_on_the_last_day(app, session, client, time_machine):
    case, code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    session.commit()
    set_today(time_machine, D(2026, 10, 10))
    assert login(client, case, code).headers["Location"] == "/submit/case"
    page = client.get("/submit/defence").get_data(as_text=True)
    assert "2026年10月10日" in page                          # the last day, from the profile's window
    form_token = token(client, "/submit/defence")
    reply = post(client, "/submit/defence", {"token": form_token, "body": "我单位已于9月补办登记。", **FILER},
                 [("补办登记回执.pdf", EVIDENCE["pdf"])])
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    sub = only_submission(session)
    assert sub.kind is SubmissionKind.DEFENCE and sub.receipt_no in html
    assert sub.received_on == D(2026, 10, 10) and sub.body == "我单位已于9月补办登记。"
    assert session.get(type(case), case.id).state is CaseState.DEFENCE_FILED
    code_shown = query_code(html)
    from portal.security import verify_code
    assert verify_code(sub.query_code_hash, code_shown)
    assert [a.original_name for a in sub.attachments] == ["补办登记回执.pdf"]


def test_defence_first_day_out_is_explained_and_refused(app, session, client, time_machine):
    case, code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    session.commit()
    set_today(time_machine, D(2026, 10, 11))
    login(client, case, code)
    english(client)
    page = client.get("/submit/defence")
    assert "The defence period ended on Oct 10, 2026" in page.get_data(as_text=True)
    refused = post(client, "/submit/defence", {"token": "x" * 32, "body": "迟到的申辩", **FILER},
                   [("a.pdf", EVIDENCE["pdf"])])
    assert refused.status_code == 409
    assert "Nothing was filed" in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    assert stored_names(app) == []


@BOTH
def test_double_submission_files_once_and_hides_the_code(app, session, client, time_machine):
    case, code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    session.commit()
    set_today(time_machine, D(2026, 9, 30))
    login(client, case, code)
    english(client)
    data = {"token": token(client, "/submit/defence"), "body": "申辩理由", **FILER}
    first = post(client, "/submit/defence", data, [("a.pdf", EVIDENCE["pdf"])])
    second = post(client, "/submit/defence", data, [("a.pdf", EVIDENCE["pdf"])])
    assert first.status_code == second.status_code == 200
    sub = only_submission(session)
    assert len(sub.attachments) == 1
    assert sub.receipt_no in second.get_data(as_text=True)
    assert "This form was already sent" in second.get_data(as_text=True)
    assert query_code(first.get_data(as_text=True)) not in second.get_data(as_text=True)
    assert stored_names(app) == [sub.attachments[0].stored_name]   # the retry's file was discarded


# ------------------------------------------------------------------ objection

def test_objection_end_to_end_and_its_public_marker(app, session, client, time_machine):
    case, code = listed_case(session, app)
    session.commit()
    set_today(time_machine, D(2026, 6, 1))
    login(client, case, code)
    reply = post(client, "/submit/objection", {"token": token(client, "/submit/objection"), "category": "identity",
                                               "body": "被列入单位与本单位同名，统一社会信用代码不同。", **FILER},
                 [("营业执照.png", EVIDENCE["png"])])
    assert reply.status_code == 200
    sub = only_submission(session)
    assert (sub.kind, sub.category, sub.due_on) == (SubmissionKind.OBJECTION, "identity", D(2026, 6, 8))
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    assert "badge objection" not in client.get(f"/entries/{entry.public_id}").get_data(as_text=True)
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    submissions.accept_for_review(session, make_staff(session, Role.CLERK), sub, profile, calendar, D(2026, 6, 2))
    session.commit()
    assert "badge objection" in client.get(f"/entries/{entry.public_id}").get_data(as_text=True)
    submissions.decide(session, make_staff(session, Role.APPROVER), sub, True, "经核查，主体信息有误，异议成立。",
                       profile, calendar, app.config["PORTAL_LOOKUP_KEY"], D(2026, 6, 4),
                       outcome=submissions.ObjectionOutcome(listing_fell=True))
    session.commit()
    response = client.get(f"/entries/{entry.public_id}")      # the listing fell: withdrawn
    page = response.get_data(as_text=True)
    assert response.status_code == 410 and "badge objection" not in page and "异议成立" in page
    assert session.execute(sa.select(RemovalNotice.reason)).scalar_one() == "objection_upheld"


@BOTH
def test_bad_input_keeps_what_was_typed_and_saves_nothing(app, session, client, time_machine):
    case, code = listed_case(session, app)
    session.commit()
    set_today(time_machine, D(2026, 6, 1))
    login(client, case, code)
    english(client)
    reply = post(client, "/submit/objection", {"token": token(client, "/submit/objection"), "body": "",
                                               "filer_name": "李会计", "filer_contact": "abc", "filer_email": "no"},
                 [("a.pdf", EVIDENCE["pdf"])])
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert 'value="李会计"' in html
    assert "Choose what is wrong with the entry." in html
    assert "Describe what is wrong and what the correct facts are." in html
    assert "Enter a telephone number using digits only." in html
    assert "Enter a valid e-mail address" in html
    assert "please select your files again" not in html       # the file is kept for the next round
    assert re.search(r'name="keep" value="[0-9a-f]{32}" checked> <span>a.pdf</span>', html)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    assert len(stored_names(app)) == 1


# ------------------------------------------------------------------ rectification

def test_rectification_last_day_in_and_first_day_out(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 6, 15))
    login(client, case, code)
    assert "2026年6月15日" in client.get("/submit/rectification").get_data(as_text=True)
    data = {"token": token(client, "/submit/rectification"), "rectified_on": "2026-06-10",
            "body": "已补办社会保险登记并缴清欠费。", **FILER}
    missing = post(client, "/submit/rectification", data)
    assert missing.status_code == 422 and session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    done = post(client, "/submit/rectification", data, [("缴费凭证.jpg", EVIDENCE["jpeg"])])
    assert done.status_code == 200
    sub = only_submission(session)
    assert sub.details["rectified_on"] == "2026-06-10" and sub.due_on == D(2026, 7, 28)
    other, other_code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 6, 16))
    login(client, other, other_code)
    english(client)
    page = client.get("/submit/rectification").get_data(as_text=True)
    assert "The rectification period ended on Jun 15, 2026." in page
    assert "credit repair" in page


def test_rectification_not_offered_for_a_non_rectifiable_ground(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J2")
    session.commit()
    set_today(time_machine, D(2026, 4, 1))
    login(client, case, code)
    english(client)
    page = client.get("/submit/rectification").get_data(as_text=True)
    assert "does not allow early removal by rectification" in page and 'name="body"' not in page
    home = client.get("/submit/case").get_data(as_text=True)
    assert home.count('href="/submit/rectification"') == 0 and 'href="/submit/objection"' in home


# ------------------------------------------------------------------ credit repair

def test_repair_with_online_commitment(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 6, 15))
    login(client, case, code)
    english(client)
    assert "Credit repair can be applied for from Jun 16, 2026." in client.get("/submit/repair").get_data(as_text=True)
    set_today(time_machine, D(2026, 6, 16))      # the next day: the party signs in again
    login(client, case, code)
    english(client)
    page = client.get("/submit/repair").get_data(as_text=True)
    assert case.case_no in page and "Credit commitment" in page and case.subject.uscc in page
    data = {"token": token(client, "/submit/repair"), "body": "已缴清全部欠费。", "commitment_mode": "online", **FILER}
    unconfirmed = post(client, "/submit/repair", data, [("回单.pdf", EVIDENCE["pdf"])])
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.get_data(as_text=True)
    done = post(client, "/submit/repair", {**data, "commitment_confirm": "y"}, [("回单.pdf", EVIDENCE["pdf"])])
    assert done.status_code == 200
    sub = only_submission(session)
    commitment = sub.details["commitment"]
    assert commitment["mode"] == "online" and commitment["confirmed_at"].startswith("20")
    assert case.case_no in commitment["text"] and sub.details["commitment_signed"] is True
    printable = client.get("/submit/repair/commitment").get_data(as_text=True)
    assert case.case_no in printable and "data-print" in printable


def test_repair_with_a_signed_paper_commitment(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J2")   # open at once
    session.commit()
    set_today(time_machine, D(2026, 4, 1))
    login(client, case, code)
    data = {"token": token(client, "/submit/repair"), "body": "已退回全部违规所得。", "commitment_mode": "paper", **FILER}
    without = post(client, "/submit/repair", data, [("退款凭证.pdf", EVIDENCE["pdf"])])
    assert without.status_code == 422
    reply = client.post("/submit/repair", data={**data, "files": [(io.BytesIO(EVIDENCE["pdf"]), "退款凭证.pdf")],
                                                "commitment_file": [(io.BytesIO(EVIDENCE["jpeg"]), "承诺书.jpg")]},
                        content_type="multipart/form-data")
    assert reply.status_code == 200
    sub = only_submission(session)
    names = {a.stored_name: a.original_name for a in sub.attachments}
    assert names[sub.details["commitment"]["attachment"]] == "承诺书.jpg"
    assert sorted(names.values()) == ["承诺书.jpg", "退款凭证.pdf"]


# ------------------------------------------------------------------ complaint

def test_anonymous_complaint_keeps_no_identity(app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    reply = post(client, "/submit/complaint", {
        "token": token(client, "/submit/complaint"), "anonymous": "y", "reported_name": "某某劳务派遣公司",
        "category": "fraud", "body": "该公司虚构劳动关系为他人补缴社保。", "filer_name": "举报人甲",
        "filer_contact": "13800000000", "filer_email": "a@example.cn"})
    assert reply.status_code == 200
    sub = only_submission(session)
    assert sub.anonymous and (sub.filer_name, sub.filer_contact, sub.filer_email) == (None, None, None)
    assert sub.case_id is None and sub.due_on == D(2026, 5, 26)


def test_named_complaint_needs_name_and_phone_and_is_never_shown_to_the_reported_party(app, session, client, time_machine):
    case, code = listed_case(session, app)
    session.commit()
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    data = {"token": token(client, "/submit/complaint"), "reported_name": case.subject.name,
            "category": "unregistered", "body": "该单位未给职工参保。"}
    missing = post(client, "/submit/complaint", data)
    assert missing.status_code == 422 and "or tick 'Report anonymously'" in missing.get_data(as_text=True)
    assert post(client, "/submit/complaint", {**data, "filer_name": "举报人乙", "filer_contact": "13900000000"}
                ).status_code == 200
    assert only_submission(session).filer_name == "举报人乙"
    party = app.test_client()
    login(party, case, code)
    entry = session.execute(sa.select(PublishedEntry)).scalar_one()
    for url in ("/submit/case", f"/entries/{entry.public_id}", "/"):
        html = party.get(url).get_data(as_text=True)
        assert "举报人乙" not in html and "13900000000" not in html


def test_landing_page_explains_the_five_kinds_with_profile_periods(client):
    english(client)
    html = client.get("/submit").get_data(as_text=True)
    for url in ("/submit/defence", "/submit/objection", "/submit/rectification", "/submit/repair",
                "/submit/complaint", "/track"):
        assert f'href="{url}"' in html
    assert "within 5 working days of the day the pre-notice was served" in html
    assert "within 3 months of the listing decision" in html and "within 60 working days" in html


@pytest.mark.parametrize("url", ["/submit/defence", "/submit/objection", "/submit/rectification",
                                 "/submit/repair", "/submit/repair/commitment", "/submit/case"])
def test_party_pages_need_the_letter(client, url):
    reply = client.get(url)
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/submit/party")


# ------------------------------------------------------------------ uploads through the forms

COMPLAINT = {"reported_name": "某医药连锁药店", "category": "service_institution",
             "body": "该药店为参保人套取医保基金。", "anonymous": "y"}


@pytest.mark.parametrize("files, message", [
    ([("发票.pdf", EVIDENCE["exe"])], "The file 发票.pdf is not a PDF, JPEG, PNG or OFD document."),
    ([("empty.pdf", b"")], "The file empty.pdf is empty."),
    ([("big.pdf", EVIDENCE["pdf"] + b"0" * (2 * 1024 * 1024))], "The file big.pdf is larger than 2 MB."),
    ([(f"{i}.pdf", EVIDENCE["pdf"]) for i in range(6)], "You can attach at most 5 files to one form."),
])
@BOTH
def test_refused_uploads_keep_the_form_and_save_nothing(app, session, client, time_machine, files, message):
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    reply = post(client, "/submit/complaint", {"token": token(client, "/submit/complaint"), **COMPLAINT}, files)
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert message in html and 'value="某医药连锁药店"' in html and "该药店为参保人套取医保基金。" in html
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    assert stored_names(app) == []


@BOTH
def test_accepted_uploads_are_typed_by_content(app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    files = [("现场照片.pdf", EVIDENCE["png"]), ("电子发票.ofd", ofd_bytes()), ("收据.jpg", EVIDENCE["jpeg"])]
    assert post(client, "/submit/complaint", {"token": token(client, "/submit/complaint"), **COMPLAINT},
                files).status_code == 200
    rows = {a.original_name: a for a in only_submission(session).attachments}
    assert {n: a.content_type for n, a in rows.items()} == {
        "现场照片.pdf": "image/png", "电子发票.ofd": "application/ofd", "收据.jpg": "image/jpeg"}
    assert rows["现场照片.pdf"].sha256 == hashlib.sha256(EVIDENCE["png"]).hexdigest()
    assert stored_names(app) == sorted(a.stored_name for a in rows.values())
    assert stored_bytes(app, rows["电子发票.ofd"].stored_name) == ofd_bytes()


def test_a_body_larger_than_all_files_together_is_refused_before_parsing(app, session, client, time_machine):
    app.config.update(PORTAL_MAX_UPLOAD_MB=1, PORTAL_MAX_FILES=1)     # request limit: (1 + 1) × 1 MB + 1 MB
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    reply = post(client, "/submit/complaint", {"token": "t" * 32, **COMPLAINT},
                 [("huge.pdf", EVIDENCE["pdf"] + b"0" * (3 * 1024 * 1024 + 10))])
    assert reply.status_code == 413 and "The files are too large" in reply.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0


def test_a_retry_lets_only_the_browser_that_got_the_form_follow_the_filing(app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    form_token = token(client, "/submit/complaint")
    post(client, "/submit/complaint", {"token": form_token, **COMPLAINT})
    receipt_no = only_submission(session).receipt_no
    client.post("/track/logout")                                   # as if the first response was lost
    again = post(client, "/submit/complaint", {"token": form_token, **COMPLAINT})
    assert again.status_code == 200 and receipt_no in again.get_data(as_text=True)
    assert client.get(f"/track/{receipt_no}").status_code == 200
    stranger = app.test_client()
    replay = post(stranger, "/submit/complaint", {"token": form_token, **COMPLAINT})
    assert replay.status_code == 200
    assert stranger.get(f"/track/{receipt_no}").status_code == 302
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 1


@pytest.mark.parametrize("typed, message", [
    ("2026-13-40", "Enter the date in the form YYYY-MM-DD."),
    ("", "Enter the date the problem was put right."),
    ("2026-06-02", "The date the problem was put right cannot be in the future."),
])
def test_rectification_date_is_checked(app, session, client, time_machine, typed, message):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 6, 1))
    login(client, case, code)
    english(client)
    reply = post(client, "/submit/rectification", {"token": token(client, "/submit/rectification"),
                                                   "rectified_on": typed, "body": "已整改。", **FILER},
                 [("a.pdf", EVIDENCE["pdf"])])
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert html.count(message) == 2 and "Not a valid date" not in html    # at the field and in the summary
    assert re.search(r'<p class="error" id="rectified_on-error">.*?' + re.escape(message), html)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0


def test_a_token_of_another_form_never_shows_that_filing(app, session, client, time_machine):
    set_today(time_machine, D(2026, 6, 1))
    form_token = token(client, "/submit/complaint")
    post(client, "/submit/complaint", {"token": form_token, **COMPLAINT})
    complaint_no = only_submission(session).receipt_no
    case, code = listed_case(session, app)
    session.commit()
    party = app.test_client()
    login(party, case, code)
    reply = post(party, "/submit/objection", {"token": form_token, "category": "facts", "body": "有误", **FILER})
    assert reply.status_code == 200 and complaint_no not in reply.get_data(as_text=True)
    session.expire_all()
    kinds = sorted(s.kind.value for s in session.execute(sa.select(Submission)).scalars())
    assert kinds == ["complaint", "objection"]
