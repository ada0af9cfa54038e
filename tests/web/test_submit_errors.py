"""Forms that help: every error of a round at once, each at its field and in a summary that
links to the fields; files received are kept across a round; an anonymous report keeps no
identity and its receipt says honestly what a lost query code means."""
import datetime as dt
import html as htmllib
import re

import sqlalchemy as sa

from portal.models import Submission
from tests.factories import EVIDENCE, listed_case
from tests.storage_support import BOTH, stored_bytes, stored_names
from tests.web.test_submit_filings import (
    COMPLAINT,
    FILER,
    english,
    login,
    only_submission,
    post,
    set_today,
    token,
)

D = dt.date
FUTURE = "The date the problem was put right cannot be in the future."
BODY = "Describe what you did, for example registration done or arrears paid, and when."
FILES = "Attach at least one document that proves it"
NAME = "Enter your name."


def _signed_in(app, session, client, time_machine, *, ground="J1", today=D(2026, 6, 1)):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground=ground)
    session.commit()
    set_today(time_machine, today)
    login(client, case, code)
    english(client)
    return case


def _tag(page: str, element_id: str) -> str:
    """The opening tag of the element with ``element_id``."""
    return re.search(rf'<(?:input|textarea|select|fieldset)\b[^>]*\bid="{element_id}"[^>]*>', page).group(0)


def _at_field(page: str, field_id: str, message: str) -> None:
    """``message`` is shown at the field, which points to it (aria-describedby) and is marked invalid."""
    error = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', page, re.DOTALL)
    assert error is not None, f"no error at {field_id}"
    assert message in htmllib.unescape(error.group(1)), (field_id, error.group(1))
    tag = _tag(page, field_id)
    described = re.search(r'aria-describedby="([^"]+)"', tag).group(1).split()
    assert f"{field_id}-error" in described and 'aria-invalid="true"' in tag, tag


def _summary(page: str) -> list[tuple[str, str]]:
    box = re.search(r'<div class="error-summary"[^>]*>(.*?)</div>', page, re.DOTALL)
    assert box is not None, "no error summary"
    opening = re.search(r'<div class="error-summary"[^>]*>', page).group(0)
    assert 'tabindex="-1"' in opening and "data-error-summary" in opening
    return [(href, htmllib.unescape(text).strip())
            for href, text in re.findall(r'<a href="#([^"]+)">(.*?)</a>', box.group(1), re.DOTALL)]


def test_an_empty_rectification_shows_every_error_at_once_each_at_its_field(app, session, client,
                                                                           time_machine):
    _signed_in(app, session, client, time_machine)
    reply = post(client, "/submit/rectification", {"token": token(client, "/submit/rectification"),
                                                   "rectified_on": "2026-06-02", "body": "",
                                                   "filer_name": "", "filer_contact": "",
                                                   "filer_email": ""})
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    _at_field(page, "rectified_on", FUTURE)       # the date, checked in the same round
    _at_field(page, "body", BODY)                 # a form field
    _at_field(page, "files", FILES)               # the files
    _at_field(page, "filer_name", NAME)
    summary = _summary(page)
    assert [href for href, _ in summary] == ["rectified_on", "body", "files", "filer_name", "filer_contact"]
    assert FUTURE in summary[0][1] and BODY in summary[1][1] and FILES in summary[2][1]
    assert re.search(r'<script src="/static/js/forms(\.[0-9a-f]+)?\.js"', page)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0


def test_a_missing_date_and_missing_files_are_shown_with_the_other_errors(app, session, client,
                                                                         time_machine):
    _signed_in(app, session, client, time_machine)
    reply = post(client, "/submit/rectification", {"token": token(client, "/submit/rectification"),
                                                   "rectified_on": "", "body": "已整改。", **FILER})
    page = reply.get_data(as_text=True)
    _at_field(page, "rectified_on", "Enter the date the problem was put right.")
    _at_field(page, "files", FILES)
    assert [href for href, _ in _summary(page)] == ["rectified_on", "files"]


def test_a_repair_application_shows_its_commitment_and_file_errors_together(app, session, client,
                                                                           time_machine):
    _signed_in(app, session, client, time_machine, ground="J2", today=D(2026, 4, 1))
    reply = post(client, "/submit/repair", {"token": token(client, "/submit/repair"), "body": "",
                                            "commitment_mode": "online", **FILER})
    page = reply.get_data(as_text=True)
    assert reply.status_code == 422
    _at_field(page, "body", "Describe how you corrected the conduct")
    _at_field(page, "files", "Attach at least one document that proves your obligations are fulfilled.")
    _at_field(page, "commitment_confirm", "Tick the box to make the credit commitment")
    assert [href for href, _ in _summary(page)] == ["body", "files", "commitment_confirm"]


@BOTH
def test_files_received_in_a_round_with_errors_are_kept_and_filed_with_the_form(app, session, client,
                                                                               time_machine):
    _signed_in(app, session, client, time_machine)
    form_token = token(client, "/submit/rectification")
    data = {"token": form_token, "rectified_on": "2026-05-20", "body": "", **FILER}
    first = post(client, "/submit/rectification", data,
                 [("缴费回单.pdf", EVIDENCE["pdf"]), ("照片.png", EVIDENCE["png"])])
    assert first.status_code == 422
    page = first.get_data(as_text=True)
    kept = dict(re.findall(r'<input[^>]*name="keep"[^>]*value="([0-9a-f]{32})"[^>]*>\s*<span>([^<]+)</span>', page))
    assert sorted(kept.values()) == ["照片.png", "缴费回单.pdf"]
    assert "select your files again" not in page and FILES not in page
    assert f"{len(EVIDENCE['pdf'])} bytes" in page or "1 KB" in page
    assert stored_names(app) == sorted(kept)

    # the filer unticks the photo and corrects the text: the receipt lists the kept file only
    pdf = next(name for name, label in kept.items() if label == "缴费回单.pdf")
    done = post(client, "/submit/rectification", {**data, "body": "已补缴全部欠费。", "keep": [pdf],
                                                  **_hidden_names(page)})
    assert done.status_code == 200, done.get_data(as_text=True)[:2000]
    sub = only_submission(session)
    assert [a.original_name for a in sub.attachments] == ["缴费回单.pdf"]
    assert stored_names(app) == [sub.attachments[0].stored_name]
    assert stored_bytes(app, sub.attachments[0].stored_name) == EVIDENCE["pdf"]


def _hidden_names(page: str) -> dict:
    """The names of kept files, sent back by the browser with the form."""
    return dict(re.findall(r'<input type="hidden" name="(held_name_[0-9a-f]{32})" value="([^"]*)">', page))


@BOTH
def test_kept_files_belong_to_their_browser_and_form(app, session, client, time_machine):
    _signed_in(app, session, client, time_machine)
    data = {"token": token(client, "/submit/rectification"), "rectified_on": "2026-05-20", "body": "", **FILER}
    page = post(client, "/submit/rectification", data, [("a.pdf", EVIDENCE["pdf"])]).get_data(as_text=True)
    held = re.search(r'name="keep"[^>]*value="([0-9a-f]{32})"', page).group(1)
    other = app.test_client()                            # another browser cannot take the file
    set_today(time_machine, D(2026, 6, 1))
    case2, code2 = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    login(other, case2, code2)
    english(other)
    reply = post(other, "/submit/rectification", {**data, "token": token(other, "/submit/rectification"),
                                                   "body": "已整改。", "keep": [held]})
    assert reply.status_code == 422        # the ticked file is not kept for it: it must choose one
    assert "was no longer kept: please choose it again." in reply.get_data(as_text=True)
    assert stored_names(app) == [held]


def test_an_anonymous_report_discards_identity_and_says_a_lost_code_cannot_be_reissued(
        app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    page = client.get("/submit/complaint").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/forms(\.[0-9a-f]+)?\.js"', page)
    assert "<script>" not in page
    assert re.search(r'<div[^>]*data-identity', page)           # hidden by forms.js when ticked
    form_token = token(client, "/submit/complaint")
    data = {"token": form_token, **COMPLAINT, "filer_name": "举报人甲", "filer_contact": "13800000000",
            "filer_email": "a@example.cn"}
    reply = post(client, "/submit/complaint", data)
    assert reply.status_code == 200
    receipt = htmllib.unescape(reply.get_data(as_text=True))
    sub = only_submission(session)
    assert (sub.filer_name, sub.filer_contact, sub.filer_email) == (None, None, None)
    assert "举报人甲" not in receipt and "a@example.cn" not in receipt
    main = receipt.split("<main", 1)[1].split("</main>", 1)[0]     # not the site's footer links
    assert "checking who you are" not in main and "verify" not in main
    assert "cannot be issued again" in receipt
    again = htmllib.unescape(post(client, "/submit/complaint", data).get_data(as_text=True))
    assert "This form was already sent" in again and "cannot be issued again" in again
    assert "checking who you are" not in again


def test_a_named_filing_s_receipt_still_offers_a_new_code_after_an_identity_check(
        app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    form_token = token(client, "/submit/complaint")
    data = {**COMPLAINT, "token": form_token, "anonymous": "", **FILER}
    assert post(client, "/submit/complaint", data).status_code == 200
    again = post(client, "/submit/complaint", data).get_data(as_text=True)
    assert "the bureau can issue a new query code after checking who you are" in again


@BOTH
def test_a_refused_file_does_not_lose_the_accepted_ones(app, session, client, time_machine):
    _signed_in(app, session, client, time_machine)
    data = {"token": token(client, "/submit/rectification"), "rectified_on": "2026-05-20",
            "body": "已补缴。", **FILER}
    reply = post(client, "/submit/rectification", data,
                 [("回单.pdf", EVIDENCE["pdf"]), ("病毒.pdf", EVIDENCE["exe"])])
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    _at_field(page, "files", "The file 病毒.pdf is not a PDF, JPEG, PNG or OFD document.")
    kept = re.findall(r'name="keep" value="([0-9a-f]{32})" checked> <span>([^<]+)</span>', page)
    assert [name for _, name in kept] == ["回单.pdf"]
    assert [href for href, _ in _summary(page)] == ["files"]
    done = post(client, "/submit/rectification", {**data, "keep": [kept[0][0]], **_hidden_names(page)})
    assert done.status_code == 200
    filed = only_submission(session).attachments
    assert [a.original_name for a in filed] == ["回单.pdf"] and stored_names(app) == [filed[0].stored_name]
