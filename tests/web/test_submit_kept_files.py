"""Files kept across a round of a form belong to that form: each open form (its token, its
kind, its case) keeps its own, a ticked file that is no longer kept is never silently left
out, and signing out lets go of them all."""
import datetime as dt
import html as htmllib
import re
from pathlib import Path

import sqlalchemy as sa

from portal.models import Submission
from portal.services import submissions
from portal.submit import files as submit_files
from tests.factories import EVIDENCE, listed_case
from tests.web.test_submit_filings import COMPLAINT, FILER, english, login, post, set_today, token

D = dt.date
LOST = "was no longer kept: please choose it again."


def _kept(page: str) -> dict[str, str]:
    """stored name -> original name of the files the page lists as kept."""
    return dict(re.findall(r'name="keep" value="([0-9a-f]{32})" checked> <span>([^<]+)</span>', page))


def _hidden_names(page: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="(held_name_[0-9a-f]{32})" value="([^"]*)">', page))


def _files_error(page: str) -> str:
    found = re.search(r'<p class="error" id="files-error">(.*?)</p>', page, re.DOTALL)
    return htmllib.unescape(found.group(1)) if found else ""


def _round_with_error(client, name: str, content: bytes) -> tuple[dict, str]:
    """A complaint sent without its text: the form comes back keeping ``name``."""
    data = {"token": token(client, "/submit/complaint"), **COMPLAINT, "body": ""}
    reply = post(client, "/submit/complaint", data, [(name, content)])
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert list(_kept(page).values()) == [name]
    return data, page


def _resend(client, data: dict, page: str):
    """The same form sent again, corrected, with its kept files ticked."""
    return post(client, "/submit/complaint", {**data, "body": COMPLAINT["body"], "keep": list(_kept(page)),
                                              **_hidden_names(page)})


def _filings(session) -> list[Submission]:
    session.expire_all()
    return list(session.execute(sa.select(Submission).order_by(Submission.id)).scalars())


def test_two_tabs_each_file_with_their_own_kept_files(app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    first, first_page = _round_with_error(client, "合同.pdf", EVIDENCE["pdf"])     # tab 1
    second, second_page = _round_with_error(client, "照片.png", EVIDENCE["png"])   # tab 2, same browser
    assert post_ok(_resend(client, first, first_page))
    assert post_ok(_resend(client, second, second_page))
    rows = _filings(session)
    assert [[a.original_name for a in s.attachments] for s in rows] == [["合同.pdf"], ["照片.png"]]
    assert [s.idempotency_key for s in rows] == [first["token"], second["token"]]
    stored = sorted(p.name for p in Path(app.config["PORTAL_UPLOAD_DIR"]).iterdir())
    assert stored == sorted(a.stored_name for s in rows for a in s.attachments)


def post_ok(reply) -> bool:
    assert reply.status_code == 200, _files_error(reply.get_data(as_text=True)) or reply.status_code
    return True


def test_a_ticked_file_that_is_no_longer_kept_is_named_and_nothing_is_filed(app, session, client,
                                                                            time_machine):
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    data = {"token": token(client, "/submit/complaint"), **COMPLAINT}
    gone = "0123456789abcdef" * 2
    reply = post(client, "/submit/complaint", {**data, "keep": [gone], f"held_name_{gone}": "合同.pdf"})
    assert reply.status_code == 422
    page = reply.get_data(as_text=True)
    assert f"The file 合同.pdf {LOST}" in _files_error(page)
    assert 'aria-invalid="true"' in re.search(r'<input type="file" id="files"[^>]*>', page).group(0)
    assert _filings(session) == []
    # a tick without the name the page gave it still says a file must be chosen again
    nameless = post(client, "/submit/complaint", {**data, "keep": [gone]})
    assert nameless.status_code == 422 and LOST in _files_error(nameless.get_data(as_text=True))
    assert _filings(session) == []


def test_a_file_kept_for_one_form_is_not_taken_by_another_form_of_the_same_browser(
        app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    data, page = _round_with_error(client, "合同.pdf", EVIDENCE["pdf"])
    other = {**data, "token": token(client, "/submit/complaint")}               # another tab's token
    reply = _resend(client, other, page)
    assert reply.status_code == 422 and f"The file 合同.pdf {LOST}" in _files_error(reply.get_data(as_text=True))
    assert _filings(session) == []
    assert post_ok(_resend(client, data, page))                                  # its own form still has it
    assert [a.original_name for a in _filings(session)[0].attachments] == ["合同.pdf"]


def test_signing_out_lets_go_of_every_kept_file(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 6, 1))
    login(client, case, code)
    english(client)
    data = {"token": token(client, "/submit/rectification"), "rectified_on": "2026-05-20", "body": "", **FILER}
    page = post(client, "/submit/rectification", data, [("回单.pdf", EVIDENCE["pdf"])]).get_data(as_text=True)
    upload_dir = Path(app.config["PORTAL_UPLOAD_DIR"])
    assert sorted(p.name for p in upload_dir.iterdir()) == sorted(_kept(page))
    client.post("/submit/party/logout")
    assert list(upload_dir.iterdir()) == []
    with client.session_transaction() as cookie:
        assert not any(key.startswith("submit_hold") for key in cookie)
    login(client, case, code)
    reply = post(client, "/submit/rectification", {**data, "body": "已补缴。", "keep": list(_kept(page)),
                                                   **_hidden_names(page)})
    assert reply.status_code == 422 and f"The file 回单.pdf {LOST}" in _files_error(reply.get_data(as_text=True))
    assert _filings(session) == []


def test_a_browser_keeps_files_for_a_few_forms_and_lets_go_of_the_oldest(app, session, client, time_machine):
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    rounds = [_round_with_error(client, f"{i}.pdf", EVIDENCE["pdf"]) for i in range(submit_files.MAX_HOLDS + 1)]
    oldest = list(_kept(rounds[0][1]))
    upload_dir = Path(app.config["PORTAL_UPLOAD_DIR"])
    assert not (upload_dir / oldest[0]).exists()
    assert len(list(upload_dir.iterdir())) == submit_files.MAX_HOLDS
    reply = _resend(client, *rounds[0])
    assert reply.status_code == 422 and f"The file 0.pdf {LOST}" in _files_error(reply.get_data(as_text=True))
    assert post_ok(_resend(client, *rounds[-1]))
    assert [a.original_name for a in _filings(session)[0].attachments] == [f"{submit_files.MAX_HOLDS}.pdf"]


def test_a_double_submit_whose_kept_file_the_first_took_gets_the_receipt(app, session, client, time_machine,
                                                                         monkeypatch):
    """Two posts of the same corrected form: the first takes the kept file and files it; the
    second finds the file taken.  It is the same filing, so it gets the receipt, not "choose
    the file again"."""
    set_today(time_machine, D(2026, 5, 6))
    english(client)
    data, page = _round_with_error(client, "合同.pdf", EVIDENCE["pdf"])
    assert post_ok(_resend(client, data, page))
    real, misses = submissions.by_idempotency_key, []

    def missed_once(session_, key):          # the second looked before the first was committed
        if not misses:
            misses.append(key)
            return None
        return real(session_, key)

    monkeypatch.setattr(submissions, "by_idempotency_key", missed_once)
    again = _resend(client, data, page)
    assert misses == [data["token"]]
    assert again.status_code == 200, _files_error(again.get_data(as_text=True))
    assert "This form was already sent" in again.get_data(as_text=True)
    rows = _filings(session)
    assert len(rows) == 1 and [a.original_name for a in rows[0].attachments] == ["合同.pdf"]
