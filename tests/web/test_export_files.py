"""Exports are files built once per publication version (by the worker, or once on demand under
a lock) and served with Range support; a new version replaces them only once complete."""
from __future__ import annotations

import codecs
import datetime as dt
from pathlib import Path

from filelock import FileLock

from portal.services import opendata_files
from portal.services.public_queries import publication_version
from portal.search import get_index
from portal.worker import Worker
from tests.factories import count_queries, make_subject, published_case


def _publish(session, app, name: str):
    case = published_case(session, app, subject=make_subject(session, name=name),
                          decided_on=dt.date(2026, 3, 16))
    session.commit()
    return case


def _folder(app) -> Path:
    return Path(app.config["PORTAL_EXPORT_DIR"])


def _names(app) -> set[str]:
    return {p.name for p in _folder(app).iterdir()} if _folder(app).exists() else set()


def _due(worker) -> None:
    """The export check runs every few seconds; make it due now."""
    for job in worker.jobs:
        if job.name == "exports":
            job.next_at = None


def test_a_range_request_gets_206_with_exactly_those_bytes(app, session, client):
    _publish(session, app, "佳木斯市区间下载有限公司")
    whole = client.get("/exports/entries.csv").get_data()
    assert whole.startswith(codecs.BOM_UTF8) and "佳木斯市区间下载有限公司".encode() in whole
    part = client.get("/exports/entries.csv", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.get_data() == whole[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    rest = client.get("/exports/entries.csv", headers={"Range": "bytes=100-"})
    assert rest.status_code == 206 and rest.get_data() == whole[100:]
    # a resumed download of a file that changed meanwhile gets the whole new file, not a splice
    etag = part.headers["ETag"]
    _publish(session, app, "佳木斯市区间变更有限公司")
    resumed = client.get("/exports/entries.csv", headers={"Range": "bytes=100-", "If-Range": etag})
    assert resumed.status_code == 200 and "佳木斯市区间变更有限公司".encode() in resumed.get_data()


def test_a_new_version_gets_a_new_file_and_the_old_one_goes(app, session, client):
    _publish(session, app, "佳木斯市第一版本有限公司")
    first = client.get("/exports/entries.csv")
    assert "佳木斯市第一版本有限公司".encode() in first.get_data()
    old = {n for n in _names(app) if n.endswith(".csv")}
    assert len(old) == 1
    _publish(session, app, "佳木斯市第二版本有限公司")
    second = client.get("/exports/entries.csv")
    assert second.headers["ETag"] != first.headers["ETag"]
    assert "佳木斯市第二版本有限公司".encode() in second.get_data()
    now = {n for n in _names(app) if n.endswith(".csv")}
    assert len(now) == 1 and now != old                                # the old version is gone
    assert not [n for n in _names(app) if n.startswith(".") and not n.endswith(".lock")]  # no temp


def test_a_built_file_is_served_without_reading_the_projection(app, session, client):
    _publish(session, app, "佳木斯市只读一次有限公司")
    client.get("/exports/entries.json")
    with count_queries() as statements:
        again = client.get("/exports/entries.json")
    assert again.status_code == 200 and "佳木斯市只读一次有限公司" in again.get_data(as_text=True)
    assert len(statements) == 1, statements                         # the publication version


def test_while_another_process_builds_the_previous_file_is_served(app, session, client):
    _publish(session, app, "佳木斯市旧版文件有限公司")
    first = client.get("/exports/entries.csv?lang=en")
    _publish(session, app, "佳木斯市新版文件有限公司")
    folder = _folder(app)
    with FileLock(folder / ".entries-en.csv.lock"):                # a build under way elsewhere
        meanwhile = client.get("/exports/entries.csv?lang=en")
    assert meanwhile.status_code == 200
    assert meanwhile.headers["ETag"] == first.headers["ETag"]        # the earlier version, whole
    assert meanwhile.headers["Last-Modified"] == first.headers["Last-Modified"]
    assert meanwhile.get_data() == first.get_data()
    after = client.get("/exports/entries.csv?lang=en")
    assert after.headers["ETag"] != first.headers["ETag"]
    assert "佳木斯市新版文件有限公司".encode() in after.get_data()


def test_the_previous_file_is_not_served_once_a_record_in_it_was_withdrawn(app, session, client,
                                                                          monkeypatch):
    import sqlalchemy as sa

    from portal.models import PublishedEntry
    from portal.services import publication

    _publish(session, app, "佳木斯市撤回之前有限公司")
    _publish(session, app, "佳木斯市仍在名单有限公司")
    first = client.get("/exports/entries.csv?lang=en")
    assert "佳木斯市撤回之前有限公司".encode() in first.get_data()
    entry = session.execute(sa.select(PublishedEntry)
                            .where(PublishedEntry.name == "佳木斯市撤回之前有限公司")).scalar_one()
    publication.withdraw_entry(session, entry, "credit_repaired", dt.date(2026, 4, 1))
    session.commit()
    monkeypatch.setattr(opendata_files, "WAIT_SECONDS", 0.2)
    with FileLock(_folder(app) / ".entries-en.csv.lock"):          # a build under way elsewhere
        meanwhile = client.get("/exports/entries.csv?lang=en")
    assert "佳木斯市撤回之前有限公司".encode() not in meanwhile.get_data()
    assert meanwhile.status_code == 503 and meanwhile.headers["Retry-After"]
    after = client.get("/exports/entries.csv?lang=en")
    assert after.status_code == 200 and "佳木斯市撤回之前有限公司".encode() not in after.get_data()


def test_the_worker_builds_every_export_of_a_new_version(app, session, client):
    _publish(session, app, "佳木斯市后台生成有限公司")
    worker = Worker(get_index(app), interval=0)
    worker.round()
    assert worker.exporting is not None
    worker.exporting.join(timeout=120)
    version = publication_version(session)[0]
    built = sorted(n for n in _names(app) if not n.startswith("."))
    assert built == sorted(f"{d}-{tail}" for d in ("entries", "removals", "withdrawals")
                           for tail in (f"zh_CN-v{version}.csv", f"en-v{version}.csv",
                                        f"zh_CN-v{version}.xlsx", f"en-v{version}.xlsx",
                                        f"all-v{version}.json"))
    with count_queries() as statements:
        response = client.get("/exports/removals.xlsx")
    assert response.status_code == 200 and len(statements) == 1, statements

    _publish(session, app, "佳木斯市后台更新有限公司")
    _due(worker)
    worker.round()
    worker.exporting.join(timeout=120)
    rebuilt = sorted(n for n in _names(app) if not n.startswith("."))
    assert len(rebuilt) == 15 and not set(rebuilt) & set(built)
    assert "佳木斯市后台更新有限公司" in client.get("/exports/entries.json").get_data(as_text=True)
    done = worker.exporting
    _due(worker)
    worker.round()                                        # nothing new: no build started
    assert worker.exporting is done and not done.is_alive()


def test_the_worker_survives_a_failing_export_build(app, session, monkeypatch):
    _publish(session, app, "佳木斯市生成失败有限公司")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(opendata_files, "_write", broken)
    worker = Worker(get_index(app), interval=0)
    assert worker.round() >= 0
    worker.exporting.join(timeout=60)
    assert not [n for n in _names(app) if not n.startswith(".")]
    monkeypatch.undo()
    failed = worker.exporting
    _due(worker)
    worker.round()
    assert worker.exporting is not failed
    worker.exporting.join(timeout=120)
    assert len([n for n in _names(app) if not n.startswith(".")]) == 15


def test_the_entries_csv_formatted_by_the_database_equals_the_cell_by_cell_one(app, session, client):
    """Same cells as the generic writer (labels, dates, URL, formula guard, quoting), both languages."""
    import csv
    import io

    from flask_babel import force_locale

    from portal.services import opendata_csv
    from portal.services import opendata_formats as formats

    for name in ('=HYPERLINK("x"),逗号公司', '佳木斯市"引号"有限公司', "@佳木斯市有限公司", "普通有限公司"):
        _publish(session, app, name)
    with app.test_request_context(base_url=app.config["PORTAL_BASE_URL"]):
        for language in ("zh_CN", "en"):
            fast, slow = io.BytesIO(), io.BytesIO()
            with force_locale(language):
                opendata_csv.write_entries(fast, session, language)
                formats.write_csv(slow, session, formats.DATASETS["entries"], language)
            parsed = [list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
                      for out in (fast, slow)]
            assert parsed[0] == parsed[1] and len(parsed[0]) == 5, language
            assert any(row[1] == "'=HYPERLINK(\"x\"),逗号公司" for row in parsed[0])


def test_a_build_cut_short_leaves_no_copy_of_the_data_behind(app, session, client):
    """A worker killed while writing leaves its temporary file (a full copy of the list,
    perhaps of people withdrawn since); the next build of that file deletes it."""
    _publish(session, app, "佳木斯市中断写入有限公司")
    first = client.get("/exports/entries.csv")
    built = next(n for n in _names(app) if n.endswith(".csv") and not n.startswith("."))
    stray = _folder(app) / f".{built}.k1ll3d"
    stray.write_bytes(first.get_data())
    other = _folder(app) / ".removals-zh.csv.lock.keep"         # not this file's: left alone
    other.write_bytes(b"")
    _publish(session, app, "佳木斯市再次发布有限公司")
    assert client.get("/exports/entries.csv").status_code == 200
    assert not stray.exists()
    assert other.exists()
