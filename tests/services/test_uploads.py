"""Evidence uploads: typed by content, limits, names, hashes, and files committed with their rows,
in either storage (a directory, the database)."""
import datetime as dt
import hashlib
import io
import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import Attachment, StoredFile
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import submissions, uploads
from portal.services.calendar import load_calendar
from tests.factories import EVIDENCE, ofd_bytes
from tests.storage_support import STORAGES, stored_bytes, stored_names

MB = 1024 * 1024


@pytest.fixture(params=STORAGES)
def upload_storage(request) -> str:
    return request.param


@pytest.fixture
def store(app):
    from tests.storage_support import store

    return store(app)


def _stage(store, data: bytes, name: str = "证明.pdf", max_bytes: int = MB):
    return uploads.stage(store, io.BytesIO(data), name, max_bytes)


@pytest.mark.parametrize("kind, name, expected", [
    ("pdf", "缴费凭证.pdf", "application/pdf"),
    ("jpeg", "IMG_0001.JPG", "image/jpeg"),
    ("png", "截图.png", "image/png"),
    ("png", "scan.pdf", "image/png"),           # a PNG named .pdf: accepted, recorded as PNG
])
def test_types_are_recognised_by_content(app, store, kind, name, expected):
    staged = _stage(store, EVIDENCE[kind], name)
    assert staged.content_type == expected
    assert staged.original_name == name
    assert stored_bytes(app, staged.stored_name) == EVIDENCE[kind]
    assert staged.sha256 == hashlib.sha256(EVIDENCE[kind]).hexdigest()
    assert staged.size == len(EVIDENCE[kind])
    assert staged.stored_name != name and len(staged.stored_name) == 32
    if staged.path is not None:
        assert oct(staged.path.stat().st_mode & 0o777) == "0o600"


def test_ofd_is_a_zip_with_ofd_xml_at_its_root(app, store):
    assert _stage(store, ofd_bytes(), "电子发票.ofd").content_type == "application/ofd"
    with pytest.raises(uploads.UploadError) as refused:
        _stage(store, ofd_bytes(with_root=False), "假的.ofd")
    assert refused.value.code == "bad_type"
    with pytest.raises(uploads.UploadError):
        _stage(store, b"PK\x03\x04 not really a zip", "broken.ofd")


@pytest.mark.parametrize("data, name, code", [
    (EVIDENCE["exe"], "发票.pdf", "bad_type"),
    (b"plain text pretending", "note.pdf", "bad_type"),
    (b"", "empty.pdf", "empty"),
    (EVIDENCE["pdf"] + b"0" * MB, "big.pdf", "too_large"),
])
def test_refused_files_leave_nothing_behind(app, store, data, name, code):
    with pytest.raises(uploads.UploadError) as refused:
        _stage(store, data, name)
    assert refused.value.code == code and refused.value.name == name
    assert stored_names(app) == []


def test_a_file_of_exactly_the_limit_is_accepted(app, store):
    data = EVIDENCE["pdf"] + b"0" * (MB - len(EVIDENCE["pdf"]))
    assert _stage(store, data).size == MB


def test_batches_are_all_or_nothing(app, store):
    good = [("a.pdf", io.BytesIO(EVIDENCE["pdf"])), ("b.png", io.BytesIO(EVIDENCE["png"]))]
    with pytest.raises(uploads.UploadError) as refused:
        uploads.stage_all(store, good + [("c.exe.pdf", io.BytesIO(EVIDENCE["exe"]))], MB, 5)
    assert refused.value.name == "c.exe.pdf"
    assert stored_names(app) == []
    many = [(f"{i}.pdf", io.BytesIO(EVIDENCE["pdf"])) for i in range(4)]
    with pytest.raises(uploads.UploadError) as too_many:
        uploads.stage_all(store, many, MB, 3)
    assert too_many.value.code == "too_many" and too_many.value.limit == 3
    assert stored_names(app) == []


@pytest.mark.parametrize("given, kept", [
    ("整改报告（盖章）.pdf", "整改报告（盖章）.pdf"),
    ("C:\\Users\\张三\\Desktop\\回单.pdf", "回单.pdf"),
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("bad\x00name\n.pdf", "badname.pdf"),
    ("", "file"),
])
def test_original_names_are_kept_without_paths(given, kept):
    assert uploads.clean_name(given) == kept


def test_download_name_gets_the_real_extension_when_the_name_lies():
    assert uploads.download_name(Attachment(original_name="照片.pdf", content_type="image/png")) == "照片.pdf.png"
    assert uploads.download_name(Attachment(original_name="照片.JPEG", content_type="image/jpeg")) == "照片.JPEG"
    assert uploads.download_name(Attachment(original_name="回单.pdf", content_type="application/pdf")) == "回单.pdf"


def _complaint(session, key="k" * 32):
    profile = load_profile("jiamusi")
    filing = submissions.Filing(kind=SubmissionKind.COMPLAINT, body="某单位未给职工参保", reported_name="某公司",
                                idempotency_key=key, anonymous=True)
    return profile, filing


def test_files_and_rows_are_committed_together(app, session, store):
    profile, filing = _complaint(session)
    staged = uploads.stage_all(store, [("收据.png", io.BytesIO(EVIDENCE["png"]))], MB, 5)
    receipt = submissions.file(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6), staged)
    session.commit()
    row = session.execute(sa.select(Attachment)).scalar_one()
    assert row.submission_id == receipt.submission.id
    assert (row.original_name, row.content_type, row.size) == ("收据.png", "image/png", len(EVIDENCE["png"]))
    assert row.sha256 == hashlib.sha256(EVIDENCE["png"]).hexdigest()
    assert stored_bytes(app, row.stored_name) == EVIDENCE["png"]
    if store.kind == "directory":           # the names and places files always had
        assert uploads.path_of(app.config["PORTAL_UPLOAD_DIR"], row).read_bytes() == EVIDENCE["png"]


def test_a_failed_commit_leaves_no_orphan_file(app, session, store):
    profile, filing = _complaint(session, key="dup" * 10)
    submissions.receive(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6))
    session.commit()
    staged = uploads.stage_all(store, [("a.pdf", io.BytesIO(EVIDENCE["pdf"]))], MB, 5)
    assert store.exists(staged[0].stored_name)
    # A second filing that collides on the unique form token: the commit fails.
    clash = submissions.receive(session, profile, load_calendar(session),
                                submissions.Filing(kind=SubmissionKind.COMPLAINT, body="x",
                                                   reported_name="y", anonymous=True),
                                dt.date(2026, 5, 6)).submission
    clash.idempotency_key = "dup" * 10
    with pytest.raises(sa.exc.IntegrityError):
        try:
            uploads.attach(session, clash, staged)
            session.commit()
        except Exception:
            session.rollback()
            uploads.discard(staged)
            raise
    session.rollback()
    assert stored_names(app) == []
    assert session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def _age(app, session, name: str, seconds: int) -> None:
    """Make ``name`` look stored ``seconds`` ago, in either storage."""
    old = clock.timestamp() - seconds
    if app.config["PORTAL_UPLOAD_STORAGE"] == "directory":
        os.utime(Path(app.config["PORTAL_UPLOAD_DIR"]) / name, (old, old))
    else:
        session.execute(sa.update(StoredFile).where(StoredFile.name == name)
                        .values(created_at=dt.datetime.fromtimestamp(old, dt.UTC)))
        session.commit()


def test_sweep_removes_only_old_files_without_rows(app, session, store):
    profile, filing = _complaint(session)
    kept = uploads.stage_all(store, [("a.pdf", io.BytesIO(EVIDENCE["pdf"]))], MB, 5)
    submissions.file(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6), kept)
    session.commit()
    orphan = uploads.stage(store, io.BytesIO(EVIDENCE["png"]), "crash.png", MB)   # a round nobody took
    session.commit()
    old = [kept[0].stored_name, orphan.stored_name]
    if store.kind == "directory":            # a crash mid-upload
        partial = Path(app.config["PORTAL_UPLOAD_DIR"]) / ("0" * 32 + ".part")
        partial.write_bytes(b"%PDF half")
        old.append(partial.name)
    for name in old:
        _age(app, session, name, 7200)
    fresh = uploads.stage(store, io.BytesIO(EVIDENCE["jpeg"]), "now.jpg", MB)   # maybe mid-request
    session.commit()
    removed = uploads.sweep_orphans(session, app.config["PORTAL_UPLOAD_DIR"])
    session.rollback()                       # as the worker does: the sweep stands
    assert sorted(removed) == sorted(old[1:])
    assert stored_names(app) == sorted([kept[0].stored_name, fresh.stored_name])
    assert uploads.sweep_orphans(session, app.config["PORTAL_UPLOAD_DIR"]) == []


def test_a_kept_file_is_taken_once_under_a_new_name_and_read_again(app, session, store):
    first = _stage(store, EVIDENCE["pdf"], "回单.pdf")
    taken = uploads.take_held(store, first.stored_name, "回单.pdf")
    assert taken is not None and taken.stored_name != first.stored_name
    assert not store.exists(first.stored_name) and stored_bytes(app, taken.stored_name) == EVIDENCE["pdf"]
    assert (taken.original_name, taken.content_type, taken.size, taken.sha256) == (
        "回单.pdf", "application/pdf", len(EVIDENCE["pdf"]), first.sha256)
    assert uploads.take_held(store, first.stored_name, "回单.pdf") is None      # a racing second round
    assert uploads.take_held(store, "../" + taken.stored_name[3:], "x") is None   # not a stored name
    writing = store.begin("ab" * 16)
    writing.file.write(b"MZ not a document")
    writing.publish(17, hashlib.sha256(b"MZ not a document").hexdigest())
    assert uploads.take_held(store, "ab" * 16, "x.pdf") is None
    assert stored_names(app) == [taken.stored_name]
    uploads.drop_held(store, [taken.stored_name, "../etc/passwd"])
    assert stored_names(app) == []
