"""Nothing lost under a double-submit: the retry of a filing never attaches its files to the
first filing (the view deletes a retry's staged files), so no attachment row lacks its file."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import threading

import pytest
import sqlalchemy as sa

from portal.models import Attachment, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import submissions, uploads
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing
from tests.factories import EVIDENCE, listed_case, pre_noticed_case
from tests.storage_support import BOTH, store, stored_bytes, stored_names

TOKEN = "r" * 32
ON = dt.date(2026, 9, 30)


def _filing(case, kind=SubmissionKind.DEFENCE) -> Filing:
    return Filing(kind=kind, body="陈述申辩。", case=case, filer_name="王建国",
                  filer_contact="0454-8888888", idempotency_key=TOKEN)


def _stage(store, data: bytes, name: str):
    return uploads.stage(store, io.BytesIO(data), name, 1024 * 1024)


@BOTH
def test_a_retry_that_loses_the_race_attaches_nothing_to_the_first_filing(app, session, monkeypatch):
    upload_dir = store(app)
    case, _ = pre_noticed_case(session, served_on=dt.date(2026, 9, 28))
    profile, calendar = load_profile("jiamusi"), load_calendar(session)
    first_files = [_stage(upload_dir, EVIDENCE["pdf"], "回单.pdf")]
    first = submissions.file(session, profile, calendar, _filing(case), ON, first_files)
    session.commit()
    # the retry looked for its token before the first filing was committed ...
    monkeypatch.setattr(submissions, "by_idempotency_key", lambda _session, _key: None)
    retry_files = [_stage(upload_dir, EVIDENCE["png"], "截图.png")]
    again = submissions.file(session, profile, calendar, _filing(case), ON, retry_files)
    session.commit()
    assert not again.created and again.submission.id == first.submission.id
    # ... and the view then deletes the retry's staged files: they must not be attached
    uploads.discard(retry_files)
    session.commit()
    rows = session.execute(sa.select(Attachment)).scalars().all()
    assert [r.original_name for r in rows] == ["回单.pdf"]
    assert stored_names(app) == [rows[0].stored_name]


def test_a_duplicate_post_that_missed_the_first_filing_gets_its_receipt_not_a_refusal(
        app, session, client, monkeypatch):
    """The second of two simultaneous posts looked for its form token before the first was
    committed; by its window check the first filing is pending.  It is the same filing sent
    twice, so the browser gets the receipt, not "an objection is already pending" (409)."""
    from tests.web.test_submit_filings import FILER, login, token

    case, code = listed_case(session, app, decided_on=dt.date(2026, 3, 15))
    session.commit()
    login(client, case, code)
    form_token = token(client, "/submit/objection")
    data = {"token": form_token, "category": "facts", "body": "金额有误。", **FILER}
    assert client.post("/submit/objection", data=data).status_code == 200
    real, misses = submissions.by_idempotency_key, []

    def missed_once(session_, key):
        if not misses:
            misses.append(key)
            return None
        return real(session_, key)

    monkeypatch.setattr(submissions, "by_idempotency_key", missed_once)
    again = client.post("/submit/objection", data=data)
    assert misses == [form_token]
    assert again.status_code == 200, again.status_code
    session.expire_all()
    first = session.execute(sa.select(Submission)).scalar_one()
    assert first.receipt_no in again.get_data(as_text=True)


@pytest.mark.postgres
@BOTH
def test_concurrent_duplicate_posts_keep_one_filing_whose_rows_match_its_files(
        app, session, client, backend):
    """Eight browsers send the same filing (one form token) at once, each with its own files."""
    if backend != "postgresql":
        pytest.skip("needs concurrent writers (SQLite serialises the whole database)")
    from tests.web.test_submit_filings import FILER, login, token

    case, code = listed_case(session, app, decided_on=dt.date(2026, 3, 15))
    session.commit()
    login(client, case, code)
    form_token = token(client, "/submit/objection")
    cookie = client.get_cookie("session")
    barrier, results = threading.Barrier(8), []

    def post(i: int) -> None:
        browser = app.test_client()
        browser.set_cookie("session", cookie.value)
        data = {"token": form_token, "category": "facts", "body": "金额有误。", **FILER,
                "files": (io.BytesIO(EVIDENCE["pdf"] + str(i).encode()), f"回单{i}.pdf")}
        barrier.wait()
        results.append(browser.post("/submit/objection", data=data,
                                    content_type="multipart/form-data").status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert len(results) == 8 and set(results) == {200}, results
    session.expire_all()
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 1
    rows = session.execute(sa.select(Attachment)).scalars().all()
    assert rows, "the filing keeps the files of the browser that filed it"
    for row in rows:
        assert hashlib.sha256(stored_bytes(app, row.stored_name)).hexdigest() == row.sha256
    assert stored_names(app) == sorted(r.stored_name for r in rows), \
        "no file without its row, no row without its file"

