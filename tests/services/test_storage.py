"""The two evidence storages behind one interface: large files streamed in and out, reads
that outlive the request, the setting that chooses them."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import threading
import tracemalloc
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock, create_app
from portal.config import testing as settings_for_tests
from portal.models import StoredFile
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.search import get_index
from portal.services import storage, submissions, uploads
from portal.services.calendar import load_calendar
from portal.worker import SWEEP_OLDER_THAN, Worker
from tests.factories import EVIDENCE
from tests.storage_support import STORAGES, store, stored_names

MB = 1024 * 1024


@pytest.fixture(params=STORAGES)
def upload_storage(request) -> str:
    return request.param


class _Scan(io.RawIOBase):
    """A large upload produced on the fly (a PDF header, then filler), never whole in memory."""

    def __init__(self, size: int):
        super().__init__()
        self.left, self.head = size, EVIDENCE["pdf"]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.left)
        chunk = (self.head + bytes(n))[:n]
        self.head = self.head[n:]
        buffer[:n] = chunk
        self.left -= n
        return n


def _expected_sha256(size: int) -> str:
    digest = hashlib.sha256(EVIDENCE["pdf"])
    digest.update(bytes(size - len(EVIDENCE["pdf"])))
    return digest.hexdigest()


def test_a_large_file_is_streamed_in_and_out_never_held_twice(app, session, upload_storage):
    size = 12 * MB
    where = store(app)
    tracemalloc.start()
    try:
        staged = uploads.stage(where, io.BufferedReader(_Scan(size), 64 * 1024), "扫描件.pdf", size)
        _, peak_in = tracemalloc.get_traced_memory()
        filing = submissions.Filing(kind=SubmissionKind.COMPLAINT, body="举报内容", reported_name="某公司",
                                    anonymous=True)
        submissions.file(session, load_profile("jiamusi"), load_calendar(session), filing,
                         dt.date(2026, 5, 6), [staged])
        session.commit()
        found = where.download(staged.stored_name)
        assert found is not None and found.size == size
        tracemalloc.reset_peak()
        digest, problems = hashlib.sha256(), []

        def send() -> None:                 # as the server does, after the request has ended
            try:
                with open(found.file, "rb") if isinstance(found.file, Path) else found.file as fh:
                    while chunk := fh.read(8192):
                        digest.update(chunk)
            except Exception as error:      # noqa: BLE001 - reported below
                problems.append(error)

        sender = threading.Thread(target=send)     # no app context, no session in this thread
        sender.start()
        sender.join(timeout=120)
        _, peak_out = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not problems and digest.hexdigest() == staged.sha256 == _expected_sha256(size)
    if upload_storage == "directory":
        assert peak_in < MB and peak_out < MB
    else:
        # in: one copy of the bytes for the INSERT (a bytea value is sent whole), no second;
        # out: a slice at a time
        assert peak_in < 1.5 * size, peak_in
        assert peak_out < 3 * storage.SLICE, peak_out


def test_a_stored_file_reads_back_from_any_position(app, session, upload_storage):
    data = EVIDENCE["pdf"] + bytes(range(256)) * (2 * storage.SLICE // 256 + 3)
    staged = uploads.stage(store(app), io.BytesIO(data), "a.pdf", len(data))
    with store(app).open(staged.stored_name) as fh:
        assert fh.read() == data
        fh.seek(storage.SLICE - 5)
        assert fh.read(10) == data[storage.SLICE - 5:storage.SLICE + 5]
        fh.seek(-7, io.SEEK_END)
        assert fh.read() == data[-7:] and fh.read() == b""
    assert store(app).open("0" * 32) is None and store(app).download("0" * 32) is None


def test_nothing_is_left_of_a_batch_whose_transaction_rolls_back(app, session, upload_storage):
    staged = uploads.stage_all(store(app), [("a.pdf", io.BytesIO(EVIDENCE["pdf"])),
                                            ("b.png", io.BytesIO(EVIDENCE["png"]))], MB, 5)
    assert stored_names(app) == sorted(s.stored_name for s in staged)
    session.rollback()
    uploads.discard(staged)
    assert stored_names(app) == []


def test_the_database_storage_works_without_a_directory(app, session, upload_storage, tmp_path):
    if upload_storage != "database":
        pytest.skip("the directory storage is a directory")
    app.config["PORTAL_UPLOAD_DIR"] = str(tmp_path / "never-made")
    staged = uploads.stage(store(app), io.BytesIO(EVIDENCE["png"]), "a.png", MB)
    session.commit()
    assert stored_names(app) == [staged.stored_name]
    assert uploads.sweep_orphans(session, app.config["PORTAL_UPLOAD_DIR"],
                                 older_than=dt.timedelta(0), now=9e9) == [staged.stored_name]
    assert not (tmp_path / "never-made").exists()


@pytest.mark.parametrize("value, kind", [(None, "directory"), ("", "directory"), ("directory", "directory"),
                                         (" Database ", "database")])
def test_the_setting_chooses_the_storage(tmp_path, value, kind):
    app = create_app({**settings_for_tests(f"sqlite:///{tmp_path / 'p.db'}", tmp_path), "PORTAL_UPLOAD_STORAGE": value})
    assert app.config["PORTAL_UPLOAD_STORAGE"] == kind
    assert storage.from_setting(kind, tmp_path, session=None).kind == kind


def test_an_unknown_storage_stops_the_start(tmp_path):
    with pytest.raises(ValueError, match="PORTAL_UPLOAD_STORAGE must be one of directory, database"):
        create_app({**settings_for_tests(f"sqlite:///{tmp_path / 'p.db'}", tmp_path), "PORTAL_UPLOAD_STORAGE": "s3"})


def test_the_worker_sweeps_either_storage_and_its_rollback_undoes_nothing(app, session, upload_storage):
    """The worker sweeps every few minutes, then rolls its session back: files of a form round
    nobody came back to go, in the directory as in the database; filed ones stay."""
    where = store(app)
    filed = uploads.stage(where, io.BytesIO(EVIDENCE["pdf"]), "a.pdf", MB)
    filing = submissions.Filing(kind=SubmissionKind.COMPLAINT, body="举报内容", reported_name="某公司",
                                anonymous=True)
    submissions.file(session, load_profile("jiamusi"), load_calendar(session), filing, dt.date(2026, 5, 6),
                     [filed])
    left = uploads.stage(where, io.BytesIO(EVIDENCE["png"]), "b.png", MB)
    fresh = uploads.stage(where, io.BytesIO(EVIDENCE["jpeg"]), "c.jpg", MB)
    session.commit()
    old = clock.now() - SWEEP_OLDER_THAN - dt.timedelta(minutes=1)
    for name in (filed.stored_name, left.stored_name):
        if upload_storage == "directory":
            stamp = old.timestamp()
            os.utime(where.path(name), (stamp, stamp))
        else:
            session.execute(sa.update(StoredFile).where(StoredFile.name == name).values(created_at=old))
    session.commit()
    Worker(get_index(app), interval=0).sweep()
    assert stored_names(app) == sorted([filed.stored_name, fresh.stored_name])
