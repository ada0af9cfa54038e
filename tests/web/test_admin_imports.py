"""The report import and export pages of the back office: upload, preview, commit, roles, export."""
import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal import config, create_app
from portal.extensions import db
from portal.models import AuditEvent, Case, CaseOrigin, ImportBatch, ImportStatus, Role, Subject
from portal.services import report_files
from tests.factories import bureau_day, listed_case
from tests.report_support import (
    SHANGHAI_HEADER,
    ZHENGZHOU_HEADER,
    bad_check,
    csv_bytes,
    ids,
    shanghai_rows,
    xlsx_bytes,
    zhengzhou_rows,
)
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


@pytest.fixture
def shanghai(app, time_machine):
    app.config["PORTAL_PROFILE"] = "shanghai"
    bureau_day(time_machine, dt.date(2026, 4, 2))
    return app


@pytest.fixture
def zhengzhou(app, time_machine):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    bureau_day(time_machine, dt.date(2026, 4, 2))
    return app


def _upload(client, raw, name, ground=""):
    return client.post("/admin/imports/", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(raw), name), "ground": ground})


def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_clerk_uploads_previews_and_commits_a_monthly_csv(shanghai, session, client):
    english(client)
    login(client, staff(session, Role.CLERK))
    page = text(client.get("/admin/imports/"))
    assert "失信信息产生的事由" in page and "Blank template" in page
    n = ids()
    response = _upload(client, csv_bytes(SHANGHAI_HEADER, shanghai_rows(n)), "2026-03.csv")
    assert response.status_code == 302
    preview = text(client.get(response.headers["Location"]))
    assert "2 rows checked, no problems found" in preview
    assert n["ric"][1] not in preview and n["ric"][1][:4] + "**********" + n["ric"][1][-4:] in preview
    batch = session.execute(sa.select(ImportBatch)).scalar_one()
    assert _count(session, Case) == 0
    done = client.post(f"/admin/imports/{batch.id}/commit")
    assert done.status_code == 302
    after = text(client.get(done.headers["Location"]))
    assert "2 cases have been opened from the report" in after
    found = session.execute(sa.select(Case).order_by(Case.id)).scalars().all()
    assert [(c.origin, c.ground) for c in found] == [(CaseOrigin.IMPORT, "S8"), (CaseOrigin.IMPORT, "S9")]
    assert found[0].case_no in after
    again = client.post(f"/admin/imports/{batch.id}/commit")        # idempotent
    assert "already been imported" in text(client.get(again.headers["Location"]))
    assert _count(session, Case) == 2
    refused = _upload(client, csv_bytes(SHANGHAI_HEADER, shanghai_rows(n)), "copy.csv")
    assert refused.status_code == 400 and "already imported" in text(refused)
    actions = session.execute(sa.select(AuditEvent.action)).scalars().all()
    assert actions.count("case.open") == 2 and actions.count("import.commit") == 1


def test_a_zhengzhou_xlsx_template_with_one_ground_for_the_file(zhengzhou, session, client):
    english(client)
    login(client, staff(session, Role.REVIEWER))
    raw = xlsx_bytes(ZHENGZHOU_HEADER, zhengzhou_rows(ids(21)), title="社会保险严重失信人名单报送表")
    assert _upload(client, raw, "2026Q1.xlsx").status_code == 400           # no ground at all
    response = _upload(client, raw, "2026Q1.xlsx", ground="ZS2")
    batch = session.execute(sa.select(ImportBatch)).scalar_one()
    assert response.headers["Location"].endswith(f"/admin/imports/{batch.id}")
    assert client.post(f"/admin/imports/{batch.id}/commit").status_code == 302
    assert session.scalars(sa.select(Case.ground)).all() == ["ZS2", "ZS2"]


def test_bad_rows_are_listed_and_nothing_is_written(shanghai, session, client):
    english(client)
    login(client, staff(session, Role.CLERK))
    n = ids(4)
    good = shanghai_rows(n)[0]
    rows = [good, [*good[:4], bad_check(n["uscc"][1]), *good[5:]],
            [good[0], "5 March", *good[2:]], [*good[:9], "lots"], [*good[:8], "X1", ""]]
    response = _upload(client, csv_bytes(SHANGHAI_HEADER, rows), "bad.csv")
    page = text(client.get(response.headers["Location"]))
    assert "4 rows have problems: nothing can be imported" in page
    assert "The check character does not match" in page
    assert "not a date" in page and "not an amount" in page and "the profile has no ground X1" in page
    assert "Import and open" not in page
    batch = session.execute(sa.select(ImportBatch)).scalar_one()
    refused = client.post(f"/admin/imports/{batch.id}/commit")
    assert "Nothing was imported: 4 rows have problems" in text(client.get(refused.headers["Location"]))
    assert (_count(session, Case), _count(session, Subject)) == (0, 0)
    discarded = client.post(f"/admin/imports/{batch.id}/discard")
    assert discarded.status_code == 302
    session.expire_all()
    assert session.get(ImportBatch, batch.id).status is ImportStatus.DISCARDED


def test_file_problems_are_shown_on_the_upload_page(shanghai, session, client):
    english(client)
    login(client, staff(session, Role.CLERK))
    missing = _upload(client, csv_bytes(["失信主体名称或姓名", "文书编号"], [["a", "b"]]), "x.csv")
    assert missing.status_code == 400 and "These columns are missing" in text(missing)
    old = _upload(client, b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "old.xls")
    assert "Old Excel files (.xls) cannot be read" in text(old)
    assert _count(session, ImportBatch) == 0


def test_roles(shanghai, session, client):
    assert client.get("/admin/imports/").status_code == 302                  # anonymous: sign in
    assert client.post("/admin/imports/reports/export", data={"period": "2026-03"}).status_code == 302
    admin = app_client(client)
    login(admin, staff(session, Role.ADMIN))
    for url in ("/admin/imports/", "/admin/imports/reports", "/admin/imports/template.csv"):
        assert admin.get(url).status_code == 403
    assert admin.post("/admin/imports/reports/export",
                      data={"period": "2026-03", "file_format": "csv"}).status_code == 403
    approver = app_client(client)
    login(approver, staff(session, Role.APPROVER))
    assert approver.get("/admin/imports/").status_code == 200
    assert _upload(approver, csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids())), "r.csv").status_code == 403
    assert _count(session, ImportBatch) == 0
    assert not session.execute(sa.select(AuditEvent).where(AuditEvent.action == "report.export")).first()


def app_client(client):
    fresh = client.application.test_client()
    english(fresh)
    return fresh


def test_templates_download(shanghai, session, client):
    login(client, staff(session, Role.CLERK))
    blank = client.get("/admin/imports/template.csv")
    assert blank.data.startswith(b"\xef\xbb\xbf")
    assert next(csv.reader(io.StringIO(blank.data.decode("utf-8-sig"))))[:2] == SHANGHAI_HEADER[:2]
    book = load_workbook(io.BytesIO(client.get("/admin/imports/template.xlsx").data))
    assert book.worksheets[0]["A1"].value == "失信信息产生的事由" and "S8" in str(list(book.worksheets[1].values))


def test_quarterly_report_page_and_audited_export(zhengzhou, session, client):
    decided, _ = listed_case(session, zhengzhou, profile_code="zhengzhou", ground="ZS2",
                             decided_on=dt.date(2026, 2, 10))
    listed_case(session, zhengzhou, profile_code="zhengzhou", ground="ZS2", decided_on=dt.date(2026, 4, 1))
    session.commit()
    english(client)
    login(client, staff(session, Role.APPROVER))
    page = text(client.get("/admin/imports/reports?period=2026-Q1"))
    assert "Mar 20, 2026" in page and "Mar 30, 2026" in page
    assert "Legal Affairs Division of the Zhengzhou Social Insurance Bureau" in page
    assert "1 case decided in the period" in page and decided.case_no in page
    response = client.post("/admin/imports/reports/export", data={"period": "2026-Q1", "file_format": "xlsx"})
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.values)
    assert list(rows[0]) == [f.zh for f in zhengzhou_profile().report.fields]
    assert len(rows) == 2 and rows[1][1] == decided.subject.name
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "report.export")).scalar_one()
    assert (event.data["period"], event.data["count"]) == ("2026-Q1", 1)


def zhengzhou_profile():
    from portal.rules.profiles import load_profile

    return load_profile("zhengzhou")


def test_size_and_row_limits_come_from_the_config(shanghai, session, client):
    english(client)
    login(client, staff(session, Role.CLERK))
    shanghai.config.update(PORTAL_IMPORT_MAX_MB=0.01, PORTAL_IMPORT_MAX_ROWS=1)
    big = _upload(client, b"x" * 200_000, "big.csv")
    assert big.status_code == 413 and "The file is larger than 0.0 MB" not in text(big)
    assert "The file is larger than" in text(big)
    rows = _upload(client, csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids())), "two.csv")
    assert rows.status_code == 400 and "The file has more than 1 rows" in text(rows)
    assert "At most 0.01 MB and 1 rows" in text(client.get("/admin/imports/"))
    assert _count(session, ImportBatch) == 0


def test_commit_needs_the_csrf_token(shanghai, session, client):
    login(client, staff(session, Role.CLERK))
    assert _upload(client, csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids(31))), "r.csv").status_code == 302
    batch = session.execute(sa.select(ImportBatch)).scalar_one()
    shanghai.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/admin/imports/{batch.id}/commit").status_code == 400
    assert _count(session, Case) == 0


def _csrf(response) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                     response.get_data(as_text=True)).group(1)


@pytest.fixture
def csrf_app(app, database_url, tmp_path, time_machine):
    """Another app on the same database with CSRF protection on, as in production."""
    other = create_app(config.testing(database_url, tmp_path) | {"WTF_CSRF_ENABLED": True})
    other.config["PORTAL_PROFILE"] = "shanghai"
    bureau_day(time_machine, dt.date(2026, 4, 2))
    yield other
    with other.app_context():
        db.engine.dispose()


def test_the_size_limit_applies_before_the_csrf_check_reads_the_body(csrf_app, session):
    clerk = staff(session, Role.CLERK)
    client = csrf_app.test_client()
    english(client)
    signed_in = client.post("/admin/login", data={"username": clerk.username, "password": "x",
                                                  "csrf_token": _csrf(client.get("/admin/login"))})
    assert signed_in.status_code == 302
    csrf_app.config.update(PORTAL_IMPORT_MAX_MB=0.01)
    token = _csrf(client.get("/admin/imports/"))
    big = client.post("/admin/imports/", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"x" * 200_000), "big.csv"), "ground": "", "csrf_token": token})
    assert big.status_code == 413 and "The file is larger than 0.01 MB" in text(big)
    assert client.post("/admin/imports/", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"x" * 200_000), "big.csv")}).status_code == 413      # no token either
    small = client.post("/admin/imports/", content_type="multipart/form-data", data={
        "file": (io.BytesIO(csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids(47)))), "r.csv"),
        "ground": "", "csrf_token": token})
    assert small.status_code == 302                                            # within the limit
    anonymous = csrf_app.test_client()
    refused = anonymous.post("/admin/imports/", content_type="multipart/form-data", data={
        "file": (io.BytesIO(b"x" * 200_000), "big.csv")})
    assert refused.status_code == 413 and "The file is larger" not in text(refused)


def test_an_id_number_in_free_text_is_explained(shanghai, session, client):
    english(client)
    login(client, staff(session, Role.CLERK))
    n = ids(53)
    rows = shanghai_rows(n)
    rows[1][7] = "身份证号" + n["ric"][3]
    response = _upload(client, csv_bytes(SHANGHAI_HEADER, rows), "r.csv")
    page = text(client.get(response.headers["Location"]))
    assert ("Other information to be reported: a resident ID number must not appear in free text: "
            "it would be published.") in page
    assert "1 row has problems" in page and n["ric"][3] not in page


def test_the_missing_header_message_names_the_rows_searched(shanghai, session, client, monkeypatch):
    english(client)
    login(client, staff(session, Role.CLERK))
    monkeypatch.setattr(report_files, "HEADER_SEARCH_ROWS", 3)
    raw = csv_bytes(["报送表"], [["说明"], ["说明"], ["说明"]]) + csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids()),
                                                                           encoding="utf-8")
    response = _upload(client, raw, "r.csv")
    assert response.status_code == 400 and "was found in the first 3 rows" in text(response)


def test_a_row_below_the_threshold_cites_it(zhengzhou, session, client):
    login(client, staff(session, Role.REVIEWER))
    rows = zhengzhou_rows(ids(21))
    rows[0][7] = "12个月，¥35,000.00"
    response = _upload(client, csv_bytes(ZHENGZHOU_HEADER, rows), "q.csv", ground="ZS2")
    page = text(client.get(response.headers["Location"]))
    assert "第四部分第（三）项第2目要求金额50万元以上且36个月以上；本案金额为35,000元、时间为12个月。" in page
    english(client)
    page = text(client.get(response.headers["Location"]))
    assert ("Part 4 (3) item 2 requires an amount of ¥500,000 or more and 36 months or more; "
            "in this case the amount is ¥35,000, the period is 12 months.") in page
