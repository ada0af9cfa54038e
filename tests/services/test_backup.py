"""Backups restore: same counts, same audit head, identical evidence; a rewound or cut chain is caught."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine

from portal import config as settings
from portal import create_app
from portal.extensions import db
from portal.models import AuditEvent, AuditHead, Role
from portal.rules.profiles import load_profile
from portal.rules.workflow import SubmissionKind
from portal.services import anchors, audit, submissions, uploads
from portal.services.backup import snapshot_facts
from portal.services.calendar import load_calendar
from tests.conftest import PG_ADMIN_URL
from tests.factories import EVIDENCE, published_case
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

MB = 1024 * 1024


def _data(session, app) -> None:
    """Two published cases and a complaint with two evidence files (Chinese names)."""
    published_case(session, app)
    published_case(session, app, decided_on=dt.date(2026, 4, 1))
    upload_dir = Path(app.config["PORTAL_UPLOAD_DIR"])
    staged = uploads.stage_all(upload_dir, [("收据.png", io.BytesIO(EVIDENCE["png"])),
                                            ("证明.pdf", io.BytesIO(EVIDENCE["pdf"]))], MB, 5)
    filing = submissions.Filing(kind=SubmissionKind.COMPLAINT, body="某单位未给职工参保",
                                reported_name="某公司", idempotency_key="b" * 32, anonymous=True)
    submissions.file(session, load_profile("jiamusi"), load_calendar(session), filing,
                     dt.date(2026, 5, 6), staged)
    session.commit()


def _more_events(session, n: int) -> None:
    for i in range(n):
        audit.record(session, audit.SYSTEM, "test.later", "case", f"L{i}", {"i": i})
    session.commit()


def _facts(app) -> dict:
    with app.app_context(), db.engine.connect() as conn:
        return snapshot_facts(conn)


def _checksums(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in Path(directory).iterdir() if p.is_file()}


@pytest.fixture
def restore_target(backend, tmp_path, app):
    """A second, empty database with its own upload and index directories (same anchor file)."""
    home = tmp_path / "restored"
    home.mkdir()
    admin = name = None
    if backend == "sqlite":
        url = f"sqlite:///{home / 'portal.db'}"
    else:
        name = f"portal_restore_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    target = create_app({**settings.testing(url, home),
                         "PORTAL_AUDIT_ANCHORS": app.config["PORTAL_AUDIT_ANCHORS"]})
    yield target
    with target.app_context():
        db.session.remove()
        index = target.extensions.pop("portal_search", None)
        if index is not None:
            index.close()
        db.engine.dispose()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _invoke(app, *args):
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args))


def test_backup_restores_into_an_empty_database(app, session, restore_target, tmp_path, backend):
    _data(session, app)
    assert _invoke(app, "audit", "anchor").exit_code == 0
    before = _facts(app)
    assert before["counts"]["attachments"] == 2 and before["audit_head"]["seq"] > 10
    made = _invoke(app, "backup", str(tmp_path / "bk"))
    assert made.exit_code == 0, made.output
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["backend"] == backend
    assert manifest["counts"] == before["counts"] and manifest["audit_head"] == before["audit_head"]
    assert len([f for f in manifest["files"] if f.startswith("uploads/")]) == 2

    restored = _invoke(restore_target, "restore", str(tmp_path / "bk"))
    assert restored.exit_code == 0, restored.output
    assert "audit chain intact" in restored.output and "search index rebuilt: 2 documents" in restored.output
    after = _facts(restore_target)
    assert after["counts"] == before["counts"]
    assert after["audit_head"] == before["audit_head"]
    assert _checksums(restore_target.config["PORTAL_UPLOAD_DIR"]) == _checksums(app.config["PORTAL_UPLOAD_DIR"])
    assert _invoke(restore_target, "audit", "verify").exit_code == 0
    assert _invoke(restore_target, "index", "check").exit_code == 0

    again = _invoke(restore_target, "restore", str(tmp_path / "bk"))
    assert again.exit_code == 1 and "empty" in again.output
    forced = _invoke(restore_target, "restore", "--force", str(tmp_path / "bk"))
    assert forced.exit_code == 0, forced.output
    assert _facts(restore_target)["counts"] == before["counts"]


def test_restoring_an_older_copy_is_detected(app, session, restore_target, tmp_path):
    _data(session, app)
    assert _invoke(app, "backup", str(tmp_path / "old")).exit_code == 0
    _more_events(session, 3)
    assert _invoke(app, "audit", "anchor").exit_code == 0          # the head moved on and was anchored

    restored = _invoke(restore_target, "restore", str(tmp_path / "old"))
    assert restored.exit_code == 1
    assert "older copy" in restored.output
    verified = _invoke(restore_target, "audit", "verify")
    assert verified.exit_code == 1 and "BROKEN" in verified.output


def test_a_cut_tail_is_detected_by_the_anchor(app, session):
    _more_events(session, 6)
    assert _invoke(app, "audit", "anchor").exit_code == 0
    # Remove the last two events and set the head back: the shorter chain is internally valid.
    session.execute(sa.delete(AuditEvent).where(AuditEvent.seq > 4))
    fourth = session.execute(sa.select(AuditEvent).where(AuditEvent.seq == 4)).scalar_one()
    session.execute(sa.update(AuditHead).where(AuditHead.id == 1).values(seq=4, hash=fourth.hash))
    session.commit()
    assert audit.verify(session) == []
    verified = _invoke(app, "audit", "verify")
    assert verified.exit_code == 1
    assert "chain ends at position 4 but position 6 was anchored" in verified.output


@pytest.mark.usefixtures("fast_passwords")
def test_the_audit_viewer_reports_a_cut_tail(app, session, client):
    admin = staff(session, Role.ADMIN)
    english(client)
    login(client, admin)
    _more_events(session, 4)
    assert _invoke(app, "audit", "anchor").exit_code == 0
    top = session.get(AuditHead, 1).seq
    session.execute(sa.delete(AuditEvent).where(AuditEvent.seq > top - 2))
    kept = session.execute(sa.select(AuditEvent).where(AuditEvent.seq == top - 2)).scalar_one()
    session.execute(sa.update(AuditHead).where(AuditHead.id == 1).values(seq=top - 2, hash=kept.hash))
    session.commit()
    page = text(client.post("/admin/audit/verify"))
    assert "The chain is broken: 1 problem found." in page
    assert f"chain ends at position {top - 2} but position {top} was anchored" in page


def test_a_rewritten_history_differs_from_its_anchor(app, session):
    _more_events(session, 3)
    path, key = anchors.anchor_settings(app.config)
    anchors.anchor(session, path, key)
    # Rebuild the whole chain with other content: valid in itself, but not the anchored one.
    session.execute(sa.delete(AuditEvent))
    session.execute(sa.delete(AuditHead))
    session.commit()
    for i in range(3):
        audit.record(session, audit.SYSTEM, "test.forged", "case", f"F{i}", {})
    session.commit()
    assert audit.verify(session) == []
    problems = anchors.check(session, path, key)
    assert [p.seq for p in problems] == [3] and "rewritten" in problems[0].message


def test_an_edited_anchor_file_is_reported(app, session):
    _more_events(session, 2)
    path, key = anchors.anchor_settings(app.config)
    anchors.anchor(session, path, key)
    record = json.loads(path.read_text())
    record["seq"] = 1                          # someone moves the anchor back to match a cut chain
    path.write_text(json.dumps(record) + "\n")
    problems = anchors.check(session, path, key)
    assert len(problems) == 1 and "signature" in problems[0].message


def test_the_daily_anchor_is_written_once_per_bureau_day(app, session):
    path, key = anchors.anchor_settings(app.config)
    with time_machine.travel(dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.timezone.utc), tick=False):
        _more_events(session, 1)
        assert anchors.anchor_daily(session, path, key) is not None
        _more_events(session, 1)
        assert anchors.anchor_daily(session, path, key) is None
    with time_machine.travel(dt.datetime(2026, 6, 1, 16, 30, tzinfo=dt.timezone.utc), tick=False):
        assert anchors.anchor_daily(session, path, key)["seq"] == 2      # 00:30 next day in Shanghai
        assert _invoke(app, "audit", "anchor", "--daily").output.startswith("anchor already up to date")
    assert [r["seq"] for r in anchors.read(path)] == [1, 2]
    assert anchors.check(session, path, key) == []


def test_a_damaged_backup_is_refused_before_anything_is_touched(app, session, restore_target, tmp_path):
    _data(session, app)
    assert _invoke(app, "backup", str(tmp_path / "bk")).exit_code == 0
    victim = next((tmp_path / "bk" / "uploads").iterdir())
    victim.write_bytes(victim.read_bytes()[:-1] + b"\0")
    refused = _invoke(restore_target, "restore", str(tmp_path / "bk"))
    assert refused.exit_code == 1 and "checksum" in refused.output
    with restore_target.app_context():
        assert sa.inspect(db.engine).get_table_names() == []
    assert not Path(restore_target.config["PORTAL_UPLOAD_DIR"]).exists()


def test_backup_refuses_a_directory_that_holds_files(app, session, tmp_path):
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "other").write_text("x")
    made = _invoke(app, "backup", str(tmp_path / "bk"))
    assert made.exit_code == 1 and "not empty" in made.output


@pytest.mark.parametrize("rel", ["../outside", "/etc/hostname", "uploads/../../x", "other/dir/file"])
def test_a_manifest_that_points_outside_the_backup_is_refused(app, session, restore_target, tmp_path, rel):
    assert _invoke(app, "backup", str(tmp_path / "bk")).exit_code == 0
    manifest_path = tmp_path / "bk" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][rel] = {"sha256": "0" * 64, "size": 1}
    manifest_path.write_text(json.dumps(manifest))
    refused = _invoke(restore_target, "restore", str(tmp_path / "bk"))
    assert refused.exit_code == 1 and "unexpected path" in refused.output
