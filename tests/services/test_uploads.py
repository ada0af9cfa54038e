"""Evidence uploads: typed by content, limits, names, hashes, and files committed with their rows."""
import datetime as dt
import hashlib
import io
import os

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import Attachment
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import submissions, uploads
from portal.services.calendar import load_calendar
from tests.factories import EVIDENCE, ofd_bytes

MB = 1024 * 1024


def _stage(tmp_path, data: bytes, name: str = "证明.pdf", max_bytes: int = MB):
    return uploads.stage(tmp_path, io.BytesIO(data), name, max_bytes)


@pytest.mark.parametrize("kind, name, expected", [
    ("pdf", "缴费凭证.pdf", "application/pdf"),
    ("jpeg", "IMG_0001.JPG", "image/jpeg"),
    ("png", "截图.png", "image/png"),
    ("png", "scan.pdf", "image/png"),           # a PNG named .pdf: accepted, recorded as PNG
])
def test_types_are_recognised_by_content(tmp_path, kind, name, expected):
    staged = _stage(tmp_path, EVIDENCE[kind], name)
    assert staged.content_type == expected
    assert staged.original_name == name
    assert staged.path.read_bytes() == EVIDENCE[kind]
    assert staged.sha256 == hashlib.sha256(EVIDENCE[kind]).hexdigest()
    assert staged.size == len(EVIDENCE[kind])
    assert staged.stored_name != name and len(staged.stored_name) == 32
    assert oct(staged.path.stat().st_mode & 0o777) == "0o600"


def test_ofd_is_a_zip_with_ofd_xml_at_its_root(tmp_path):
    assert _stage(tmp_path, ofd_bytes(), "电子发票.ofd").content_type == "application/ofd"
    with pytest.raises(uploads.UploadError) as refused:
        _stage(tmp_path, ofd_bytes(with_root=False), "假的.ofd")
    assert refused.value.code == "bad_type"
    with pytest.raises(uploads.UploadError):
        _stage(tmp_path, b"PK\x03\x04 not really a zip", "broken.ofd")


@pytest.mark.parametrize("data, name, code", [
    (EVIDENCE["exe"], "发票.pdf", "bad_type"),
    (b"plain text pretending", "note.pdf", "bad_type"),
    (b"", "empty.pdf", "empty"),
    (EVIDENCE["pdf"] + b"0" * MB, "big.pdf", "too_large"),
])
def test_refused_files_leave_nothing_behind(tmp_path, data, name, code):
    with pytest.raises(uploads.UploadError) as refused:
        _stage(tmp_path, data, name)
    assert refused.value.code == code and refused.value.name == name
    assert list(tmp_path.iterdir()) == []


def test_a_file_of_exactly_the_limit_is_accepted(tmp_path):
    data = EVIDENCE["pdf"] + b"0" * (MB - len(EVIDENCE["pdf"]))
    assert _stage(tmp_path, data).size == MB


def test_batches_are_all_or_nothing(tmp_path):
    good = [("a.pdf", io.BytesIO(EVIDENCE["pdf"])), ("b.png", io.BytesIO(EVIDENCE["png"]))]
    with pytest.raises(uploads.UploadError) as refused:
        uploads.stage_all(tmp_path, good + [("c.exe.pdf", io.BytesIO(EVIDENCE["exe"]))], MB, 5)
    assert refused.value.name == "c.exe.pdf"
    assert list(tmp_path.iterdir()) == []
    many = [(f"{i}.pdf", io.BytesIO(EVIDENCE["pdf"])) for i in range(4)]
    with pytest.raises(uploads.UploadError) as too_many:
        uploads.stage_all(tmp_path, many, MB, 3)
    assert too_many.value.code == "too_many" and too_many.value.limit == 3
    assert list(tmp_path.iterdir()) == []


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


@pytest.fixture
def upload_dir(app):
    from pathlib import Path
    return Path(app.config["PORTAL_UPLOAD_DIR"])


def test_files_and_rows_are_committed_together(app, session, upload_dir):
    profile, filing = _complaint(session)
    staged = uploads.stage_all(upload_dir, [("收据.png", io.BytesIO(EVIDENCE["png"]))], MB, 5)
    receipt = submissions.file(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6), staged)
    session.commit()
    row = session.execute(sa.select(Attachment)).scalar_one()
    assert row.submission_id == receipt.submission.id
    assert (row.original_name, row.content_type, row.size) == ("收据.png", "image/png", len(EVIDENCE["png"]))
    assert row.sha256 == hashlib.sha256(EVIDENCE["png"]).hexdigest()
    assert uploads.path_of(upload_dir, row).read_bytes() == EVIDENCE["png"]


def test_a_failed_commit_leaves_no_orphan_file(app, session, upload_dir):
    profile, filing = _complaint(session, key="dup" * 10)
    submissions.receive(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6))
    session.commit()
    staged = uploads.stage_all(upload_dir, [("a.pdf", io.BytesIO(EVIDENCE["pdf"]))], MB, 5)
    assert staged[0].path.exists()
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
    assert list(upload_dir.iterdir()) == []
    assert session.scalar(sa.select(sa.func.count(Attachment.id))) == 0


def test_sweep_removes_only_old_files_without_rows(app, session, upload_dir):
    profile, filing = _complaint(session)
    kept = uploads.stage_all(upload_dir, [("a.pdf", io.BytesIO(EVIDENCE["pdf"]))], MB, 5)
    submissions.file(session, profile, load_calendar(session), filing, dt.date(2026, 5, 6), kept)
    session.commit()
    orphan = uploads.stage(upload_dir, io.BytesIO(EVIDENCE["png"]), "crash.png", MB)   # crash before commit
    partial = upload_dir / ("0" * 32 + ".part")
    partial.write_bytes(b"%PDF half")
    old = clock.timestamp() - 7200
    for path in (kept[0].path, orphan.path, partial):
        os.utime(path, (old, old))
    fresh = uploads.stage(upload_dir, io.BytesIO(EVIDENCE["jpeg"]), "now.jpg", MB)   # maybe mid-request
    removed = uploads.sweep_orphans(session, upload_dir)
    assert sorted(removed) == sorted([orphan.stored_name, partial.name])
    assert kept[0].path.exists() and fresh.path.exists()


def test_a_kept_file_is_taken_once_under_a_new_name_and_read_again(tmp_path):
    first = _stage(tmp_path, EVIDENCE["pdf"], "回单.pdf")
    taken = uploads.take_held(tmp_path, first.stored_name, "回单.pdf")
    assert taken is not None and taken.stored_name != first.stored_name
    assert not first.path.exists() and taken.path.read_bytes() == EVIDENCE["pdf"]
    assert (taken.original_name, taken.content_type, taken.size, taken.sha256) == (
        "回单.pdf", "application/pdf", len(EVIDENCE["pdf"]), first.sha256)
    assert uploads.take_held(tmp_path, first.stored_name, "回单.pdf") is None      # a racing second round
    assert uploads.take_held(tmp_path, "../" + taken.stored_name[3:], "x") is None   # not a stored name
    (tmp_path / ("ab" * 16)).write_bytes(b"MZ not a document")
    assert uploads.take_held(tmp_path, "ab" * 16, "x.pdf") is None
    assert not (tmp_path / ("ab" * 16)).exists()
    uploads.drop_held(tmp_path, [taken.stored_name, "../etc/passwd"])
    assert not taken.path.exists()
