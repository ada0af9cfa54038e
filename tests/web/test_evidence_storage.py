"""Evidence through the forms in either storage: a download is the same from a directory or
from the database, and a filing whose commit fails leaves no file in either."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.models import Submission
from portal.services import storage, submissions
from portal.services.upload_check import copy_files
from tests.factories import EVIDENCE, listed_case
from tests.storage_support import BOTH, STORAGES, stored_names
from tests.web.test_submit_filings import FILER, login, post, set_today, token
from tests.web.test_submit_track import JUNE_1, _objection

#: more than one slice read from the database, not a whole number of them
SCAN = EVIDENCE["pdf"] + bytes(range(256)) * (storage.SLICE // 256 + 1000)


def test_a_download_is_the_same_from_either_storage(app, session, client, time_machine):
    _case, sub, _code = _objection(app, session, client, time_machine, files=(("整改报告（盖章）.pdf", SCAN),))
    row = sub.attachments[0]
    url = f"/track/{sub.receipt_no}/files/{row.id}"
    answers = {}
    for kind in STORAGES:
        if kind == "database":              # the same file moved into the database, gone from disk
            directory = storage.DirectoryStorage(app.config["PORTAL_UPLOAD_DIR"])
            assert [o for o, *_ in copy_files(session, directory, storage.DatabaseStorage(session))] == ["copied"]
            session.commit()
            directory.delete(row.stored_name)
        app.config["PORTAL_UPLOAD_STORAGE"] = kind
        answers[kind] = (client.get(url), client.get(url, headers={"Range": "bytes=1048570-1048589"}),
                         client.head(url))
    for whole, part, head in answers.values():
        assert whole.status_code == 200 and whole.data == SCAN
        assert part.status_code == 206 and part.data == SCAN[1048570:1048590]
        assert part.headers["Content-Range"] == f"bytes 1048570-1048589/{len(SCAN)}"
        assert head.status_code == 200 and head.data == b""
        assert whole.headers["Last-Modified"]
    # the moment of each answer (its dates, the session cookie's signed time) may tick between them
    moment = ("Date", "Last-Modified", "Expires", "Set-Cookie")
    headers = {kind: [sorted((k, v) for k, v in r.headers.items() if k not in moment)
                      for r in responses] for kind, responses in answers.items()}
    assert {kind: [sorted(k for k in r.headers.keys() if k in moment) for r in responses]
            for kind, responses in answers.items()} == {
        kind: [["Date", "Expires", "Last-Modified", "Set-Cookie"]] * 2 + [[
            "Date", "Expires", "Last-Modified", "Set-Cookie"]] for kind in answers}
    assert headers["directory"] == headers["database"]
    whole = dict(headers["database"][0])
    assert (whole["Content-Type"], whole["Content-Length"], whole["Cache-Control"], whole["Accept-Ranges"]) == (
        "application/pdf", str(len(SCAN)), "private, no-store", "bytes")
    assert whole["Content-Disposition"].startswith("attachment;")
    app.config["PORTAL_UPLOAD_STORAGE"] = "directory"          # gone from disk: not found, no error
    assert client.get(url).status_code == 404


@BOTH
def test_a_filing_whose_commit_fails_leaves_no_file(app, session, client, time_machine, monkeypatch):
    case, code = listed_case(session, app)
    session.commit()
    set_today(time_machine, JUNE_1)
    login(client, case, code)
    real = submissions.file

    def fails_before_the_commit(*args, **kwargs):
        real(*args, **kwargs)               # rows and files written (flushed) ...
        raise RuntimeError("the database went away")       # ... and the commit never comes

    monkeypatch.setattr(submissions, "file", fails_before_the_commit)
    data = {"token": token(client, "/submit/objection"), "category": "facts", "body": "金额有误。", **FILER}
    with pytest.raises(RuntimeError):
        post(client, "/submit/objection", data, [("a.pdf", EVIDENCE["pdf"]), ("b.png", EVIDENCE["png"])])
    assert stored_names(app) == []
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
