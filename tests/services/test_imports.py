"""Report import (stage → commit, all or nothing) and the period export, through the services."""
import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal.models import (
    AuditEvent,
    Case,
    CaseOrigin,
    CaseReportData,
    ImportBatch,
    ImportStatus,
    Role,
    Subject,
    SubjectKind,
)
from portal.rules.profiles import load_profile
from portal.rules.workflow import CaseState, RemovalReason
from portal.services import cases, imports, report_export
from portal.services.calendar import load_calendar
from portal.services.permissions import PermissionDenied
from portal.services.report_files import HEADER_SEARCH_ROWS, FileProblem, to_csv, to_xlsx
from portal.services.report_format import parse_amount, parse_arrears, parse_date, report_format
from tests.factories import listed_case, make_staff, make_subject
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

KEY = "test-lookup-key"
TODAY = dt.date(2026, 4, 2)


def _stage(session, user, profile_code, raw, filename="report.csv", ground=None):
    return imports.stage(session, user, load_profile(profile_code), filename=filename, raw=raw,
                         default_ground=ground, key=KEY, today=TODAY)


def _commit(session, user, batch, profile_code):
    return imports.commit(session, user, batch.id, load_profile(profile_code), key=KEY, today=TODAY)


def _count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _actions(session):
    return [a for (a,) in session.execute(sa.select(AuditEvent.action).order_by(AuditEvent.id))]


def test_values_in_common_formats():
    assert parse_date("2026-03-05") == parse_date("2026/3/5") == parse_date("2026年3月5日") \
        == parse_date(dt.datetime(2026, 3, 5, 0, 0)) == parse_date("20260305") == dt.date(2026, 3, 5)
    assert parse_date(46086) == dt.date(2026, 3, 5)           # an Excel serial day
    with pytest.raises(ValueError):
        parse_date("2026-02-30")
    assert parse_amount("¥35,000.00") == parse_amount("35000元") == parse_amount("3.5万元") \
        == parse_amount("￥３５，０００") == parse_amount(35000) == Decimal("35000.00")
    for bad in ("三万", "-5", "12.5.3", "abc"):
        with pytest.raises(ValueError):
            parse_amount(bad)
    assert parse_arrears("12个月，¥35,000.00") == (12, Decimal("35000.00"))
    assert parse_arrears("24个月 52.5万元") == (24, Decimal("525000.00"))
    assert parse_arrears("12/35000") == (12, Decimal("35000.00"))


def test_column_format_follows_the_profile():
    shanghai = report_format(load_profile("shanghai"))
    assert [c.label.zh for c in shanghai.report_columns] == [f.zh for f in load_profile("shanghai").report.fields]
    assert [c.key for c in shanghai.columns if not c.in_report] == ["ground", "amount"]
    zhengzhou = report_format(load_profile("zhengzhou"))
    assert zhengzhou.frequency == "quarterly" and zhengzhou.organisations_only
    assert [c.key for c in zhengzhou.report_columns] == [
        "seq", "name", "org_code", "reg_no", "rep_name", "rep_id", "insured", "arrears",
        "violations", "collection", "remarks"]
    jiamusi = report_format(load_profile("jiamusi"))     # no report rule: Shanghai art. 7 fields
    assert not jiamusi.prescribed and jiamusi.has("code") and jiamusi.has("date")
    for code in ("jiamusi", "chizhou", "fuzhou", "national"):    # none prescribes fields
        fmt = report_format(load_profile(code))
        assert fmt.report_columns == shanghai.report_columns and not fmt.prescribed
        assert fmt.source == "002 art. 7 (SPEC §4 step 8): fields of the monthly report"
    assert report_format(load_profile("chizhou")).frequency == "monthly"


@pytest.mark.parametrize("as_xlsx", [False, True])
def test_a_good_monthly_report_opens_one_case_per_row(session, as_xlsx):
    clerk = make_staff(session, Role.CLERK)
    n = ids()
    rows = shanghai_rows(n)
    if as_xlsx:
        rows[0][1] = dt.datetime(2026, 3, 5)     # an Excel date cell
        raw, name = xlsx_bytes(SHANGHAI_HEADER, rows, title="2026年3月失信信息报送表"), "r.xlsx"
    else:
        raw, name = csv_bytes(SHANGHAI_HEADER, rows), "r.csv"
    batch = _stage(session, clerk, "shanghai", raw, name)
    assert (batch.status, batch.row_count, batch.error_count) == (ImportStatus.STAGED, 2, 0), batch.rows
    assert _count(session, Case) == 0                       # staging writes no case
    result = _commit(session, clerk, batch, "shanghai")
    assert len(result.cases) == 2 and batch.status is ImportStatus.COMMITTED and batch.case_count == 2
    org, person = result.cases
    assert all(c.state is CaseState.OPENED and c.origin is CaseOrigin.IMPORT for c in result.cases)
    assert (org.ground, org.document_no, org.amount) == ("S8", "沪人社监罚〔2026〕12号", Decimal("35000.00"))
    assert org.subject.uscc == n["uscc"][0] and org.subject.people[0].id_number == n["ric"][0]
    assert person.subject.kind is SubjectKind.PERSON and person.subject.id_number == n["ric"][1]
    assert person.amount == Decimal("35000.00") and "失信信息产生的日期：2026-03-06" in person.facts
    assert session.get(CaseReportData, org.id).values["date"] == "2026-03-05"
    actions = _actions(session)
    assert actions.count("case.open") == 2 and actions.count("import.commit") == 1
    event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "import.commit")).scalar_one()
    assert event.data["cases"] == 2 and n["ric"][1] not in str(event.data)


def test_a_good_zhengzhou_template_with_a_ground_for_the_file(session):
    clerk = make_staff(session, Role.CLERK)
    n = ids(11)
    raw = xlsx_bytes(ZHENGZHOU_HEADER, zhengzhou_rows(n), title="社会保险严重失信人名单报送表")
    batch = _stage(session, clerk, "zhengzhou", raw, "q1.xlsx", ground="ZS2")
    assert batch.error_count == 0, batch.rows
    result = _commit(session, clerk, batch, "zhengzhou")
    first, second = result.cases
    assert first.subject.org_code == n["org"][0] and first.subject.reg_no == n["reg"][0]
    assert second.subject.uscc == n["uscc"][1]              # a USCC in the 组织机构代码 column
    assert (first.amount, second.amount) == (Decimal("535000.00"), Decimal("525000.00"))
    assert (first.months, second.months) == (40, 38)
    assert first.facts.startswith("欠缴社会保险费") and "催缴情况：已两次书面催缴" in first.facts
    assert session.get(CaseReportData, second.id).values == {
        "insured": 120, "months": 38, "violations": "长期欠缴", "collection": "已催缴", "remarks": "恶意欠费"}


def test_gb18030_csv_is_read(session):
    clerk = make_staff(session, Role.CLERK)
    raw = csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids(3)), encoding="gb18030")
    batch = _stage(session, clerk, "shanghai", raw)
    assert batch.error_count == 0 and batch.rows[0]["values"]["name"] == "上海测试机械有限公司"


def test_bad_rows_reject_the_whole_file(session):
    clerk = make_staff(session, Role.CLERK)
    n = ids(5)
    good = shanghai_rows(n)[0]
    rows = [
        good,
        [*good[:4], bad_check(n["uscc"][1]), *good[5:]],            # 3: USCC check character
        [*good[:4], n["uscc"][2], "张伟", bad_check(n["ric"][2]), *good[7:]],   # 4: legal rep's ID
        [good[0], "2026-13-01", *good[2:4], n["uscc"][3], *good[5:]],          # 5: date
        [*good[:4], n["org"][1], *good[5:9], "三万元"],                     # 6: amount
        [*good[:4], n["org"][2], *good[5:8], "S99", ""],                   # 7: unknown ground
        good,                                                              # 8: duplicate of 2
        ["冒领", "2026-03-01", "号", "王某", n["ric"][3], "", "", "", "S1", ""],   # 9: ground kind
    ]
    batch = _stage(session, clerk, "shanghai", csv_bytes(SHANGHAI_HEADER, rows))
    errors = {r["line"]: [e[0] for e in r["errors"]] for r in batch.rows}
    assert errors == {2: [], 3: ["identifier"], 4: ["identifier"], 5: ["date"], 6: ["amount"],
                      7: ["unknown_ground"], 8: ["duplicate"], 9: ["ground_kind"]}
    assert batch.rows[1]["errors"][0][1] == {"column": "code", "kind": "uscc", "reason": "checksum"}
    assert batch.rows[6]["errors"][0][1] == {"line": 2}
    assert batch.error_count == 7
    with pytest.raises(imports.ImportProblem) as refused:
        _commit(session, clerk, batch, "shanghai")
    assert refused.value.code == "has_errors"
    assert (_count(session, Case), _count(session, Subject)) == (0, 0)   # nothing written
    assert n["ric"][2][:10] not in str([e for e in session.execute(sa.select(AuditEvent.data)).scalars()])


def test_file_problems(session):
    clerk = make_staff(session, Role.CLERK)
    with pytest.raises(FileProblem) as missing:
        _stage(session, clerk, "shanghai", csv_bytes(SHANGHAI_HEADER[:5], [["a", "b", "c", "d", "e"]]))
    assert missing.value.code == "missing_columns"
    assert missing.value.params["columns"] == ["rep_name", "rep_id", "ground"]
    with pytest.raises(FileProblem) as too_many:
        imports.stage(session, clerk, load_profile("shanghai"), filename="r.csv",
                      raw=csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids()) * 2), default_ground=None,
                      key=KEY, today=TODAY, max_rows=3)
    assert too_many.value.params == {"max": 3}
    with pytest.raises(FileProblem) as large:
        imports.stage(session, clerk, load_profile("shanghai"), filename="r.csv", raw=b"x" * 2000,
                      default_ground=None, key=KEY, today=TODAY, max_bytes=1000)
    assert large.value.code == "too_large"
    for raw, code in ((b"", "empty"), (b"PK\x03\x04broken", "not_a_table"), (b"a,b\n1,2\n", "no_header")):
        with pytest.raises(FileProblem) as problem:
            _stage(session, clerk, "shanghai", raw)
        assert problem.value.code == code
    assert _count(session, ImportBatch) == 0


def test_the_same_file_opens_cases_once(session):
    clerk, reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
    raw = csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids(9)))
    first, second = _stage(session, clerk, "shanghai", raw), _stage(session, reviewer, "shanghai", raw)
    assert len(_commit(session, clerk, first, "shanghai").cases) == 2
    again = _commit(session, clerk, first, "shanghai")              # idempotent
    assert again.already and again.cases == ()
    with pytest.raises(imports.ImportProblem) as refused:
        _commit(session, reviewer, second, "shanghai")
    assert refused.value.code == "already_imported"
    with pytest.raises(imports.ImportProblem):
        _stage(session, clerk, "shanghai", raw)
    assert _count(session, Case) == 2 and second.status is ImportStatus.STAGED


def test_a_subject_with_an_open_case_on_the_ground_is_refused(session):
    clerk = make_staff(session, Role.CLERK)
    n = ids(13)
    profile = load_profile("shanghai")
    subject = make_subject(session)
    subject.uscc, subject.org_code = n["uscc"][0], n["uscc"][0][8:17]
    existing = cases.open_case(session, clerk, profile, subject, cases.CaseInput("S8", "经查"), TODAY)
    batch = _stage(session, clerk, "shanghai", csv_bytes(SHANGHAI_HEADER, shanghai_rows(n)))
    assert batch.rows[0]["errors"] == [["open_case", {"case_no": existing.case_no}]]
    assert batch.rows[1]["errors"] == []


def test_only_clerks_and_reviewers_import(session):
    raw = csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids()))
    for role in (Role.APPROVER, Role.ADMIN):
        with pytest.raises(PermissionDenied):
            _stage(session, make_staff(session, role), "shanghai", raw)
    batch = _stage(session, make_staff(session, Role.CLERK), "shanghai", raw)
    with pytest.raises(PermissionDenied):
        _commit(session, make_staff(session, Role.APPROVER), batch, "shanghai")
    imports.discard(session, make_staff(session, Role.REVIEWER), batch.id)
    assert batch.status is ImportStatus.DISCARDED and batch.rows == []


def test_export_has_exactly_the_cases_decided_in_the_period(app, session):
    in_march, _ = listed_case(session, app, profile_code="zhengzhou", ground="ZS2",
                              decided_on=dt.date(2026, 3, 10))
    removed, _ = listed_case(session, app, profile_code="zhengzhou", ground="ZS4",
                             decided_on=dt.date(2026, 1, 20), publish=False)
    listed_case(session, app, profile_code="zhengzhou", ground="ZS2", decided_on=dt.date(2026, 4, 2))
    listed_case(session, app, profile_code="zhengzhou", ground="ZS2", decided_on=dt.date(2025, 12, 31))
    removed.state, removed.removal_reason = CaseState.REMOVED, RemovalReason.TERM_EXPIRED
    removed.removed_on = dt.date(2026, 2, 1)
    make_subject(session)
    profile = load_profile("zhengzhou")
    period = report_export.parse_period("2026-Q1", profile)
    approver = make_staff(session, Role.APPROVER)
    data, count = report_export.export(session, approver, profile, period, "csv")
    assert count == 2 and data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == [f.zh for f in profile.report.fields]
    assert [row[1] for row in table[1:]] == [removed.subject.name, in_march.subject.name]
    assert table[2][5] == in_march.subject.people[0].id_number         # staff-only: full ID
    book = load_workbook(io.BytesIO(report_export.export(session, approver, profile, period, "xlsx")[0]))
    assert book.active.max_row == 3
    events = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "report.export")).scalars().all()
    assert [(e.data["period"], e.data["count"]) for e in events] == [("2026-Q1", 2), ("2026-Q1", 2)]
    with pytest.raises(PermissionDenied):
        report_export.export(session, make_staff(session, Role.ADMIN), profile, period, "csv")


def test_report_due_dates_from_the_profile(session):
    calendar = load_calendar(session)
    chizhou = load_profile("chizhou")
    due = report_export.due_dates(chizhou, report_export.parse_period("2026-09", chizhou), calendar)
    assert due.due.due == dt.date(2026, 10, 15) and not due.due.provisional   # 7 wd over National Day (Oct 10 worked)
    zhengzhou = load_profile("zhengzhou")
    due = report_export.due_dates(zhengzhou, report_export.parse_period("2026-Q1", zhengzhou), calendar)
    assert (due.due.due, due.forward_due.due) == (dt.date(2026, 3, 20), dt.date(2026, 3, 30))
    assert report_export.last_period(zhengzhou, dt.date(2026, 5, 3)).code == "2026-Q2"
    assert report_export.last_period(chizhou, dt.date(2026, 1, 3)).code == "2025-12"
    assert report_export.parse_period("2026-Q1", chizhou) is None
    assert report_export.due_dates(load_profile("jiamusi"), report_export.ReportPeriod(2026, 3, "monthly"),
                                   calendar) is None


def test_command_line_import_with_dry_run(app, session, tmp_path):
    app.config["PORTAL_PROFILE"] = "shanghai"
    clerk = make_staff(session, Role.CLERK)
    session.commit()
    n = ids(17)
    path = tmp_path / "2026-03.csv"
    path.write_bytes(csv_bytes(SHANGHAI_HEADER, shanghai_rows(n)))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["import-report", str(path), "--user", clerk.username, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "2 rows, 0 with problems" in dry.output and "dry run" in dry.output
    session.expire_all()
    assert (_count(session, Case), _count(session, ImportBatch)) == (0, 0)
    bad = tmp_path / "bad.csv"
    rows = shanghai_rows(n)
    rows[1][4] = bad_check(n["ric"][1])
    bad.write_bytes(csv_bytes(SHANGHAI_HEADER, rows))
    refused = runner.invoke(args=["import-report", str(bad), "--profile", "shanghai", "--user", clerk.username])
    assert refused.exit_code == 1 and "line 3:" in refused.output and n["ric"][1][:14] not in refused.output
    done = runner.invoke(args=["import-report", str(path), "--profile", "shanghai", "--user", clerk.username])
    assert done.exit_code == 0 and "2 cases opened" in done.output, done.output
    session.expire_all()
    assert _count(session, Case) == 2


def test_command_line_import_for_one_bureau_of_several(app, session, tmp_path):
    """``--jurisdiction``: the cases are that bureau's, under its profile, and only its own
    staff may import them."""
    from portal.services import jurisdictions

    shanghai = load_profile("shanghai")
    jurisdictions.save(session, make_staff(session, Role.ADMIN), "pudong", {
        **jurisdictions.values_from_profile(shanghai, "021-12333", "pudong"),
        "name_zh": "浦东新区", "position": 3, "active": True})
    clerk = make_staff(session, Role.CLERK, jurisdictions=("pudong",))
    outsider = make_staff(session, Role.CLERK, jurisdictions=("jiamusi",))
    session.commit()
    path = tmp_path / "2026-03.csv"
    path.write_bytes(csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids(23))))
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["import-report", str(path), "--jurisdiction", "atlantis",
                                  "--user", clerk.username])
    assert unknown.exit_code == 1 and "no active jurisdiction" in unknown.output
    refused = runner.invoke(args=["import-report", str(path), "--jurisdiction", "pudong",
                                  "--user", outsider.username])
    assert refused.exit_code == 1 and "may not open these cases" in refused.output
    done = runner.invoke(args=["import-report", str(path), "--jurisdiction", "pudong",
                               "--user", clerk.username])
    assert done.exit_code == 0 and "2 cases opened" in done.output, done.output
    session.expire_all()
    assert set(session.execute(sa.select(Case.jurisdiction, Case.profile))) == {("pudong", "shanghai")}


def test_an_existing_subject_is_reused_and_a_dropped_case_does_not_block(session):
    clerk, reviewer = make_staff(session, Role.CLERK), make_staff(session, Role.REVIEWER)
    n = ids(19)
    profile = load_profile("shanghai")
    subject = make_subject(session, name="上海测试机械有限公司（旧名）")
    subject.uscc, subject.org_code = n["uscc"][0], n["uscc"][0][8:17]
    old = cases.open_case(session, clerk, profile, subject, cases.CaseInput("S8", "经查"), TODAY)
    cases.drop_case(session, reviewer, old, "证据不足")
    batch = _stage(session, clerk, "shanghai", csv_bytes(SHANGHAI_HEADER, shanghai_rows(n)))
    assert batch.error_count == 0
    assert batch.rows[0]["warnings"] == [["existing_subject", {"name": "上海测试机械有限公司（旧名）"}]]
    before = _count(session, Subject)
    result = _commit(session, clerk, batch, "shanghai")
    assert result.cases[0].subject_id == subject.id and _count(session, Subject) == before + 1


def test_english_headers_utf16_text_and_number_cells(session):
    clerk = make_staff(session, Role.CLERK)
    fmt = report_format(load_profile("shanghai"))
    english = [c.label.en.upper() for c in fmt.columns]           # case and order do not matter
    n = ids(23)
    rows = shanghai_rows(n)
    raw = csv_bytes(english[::-1], [r[::-1] for r in rows])
    text = raw.decode("utf-8-sig").replace(",", "\t")
    batch = _stage(session, clerk, "shanghai", b"\xff\xfe" + text.encode("utf-16-le"), "r.txt")
    assert batch.error_count == 0, batch.rows
    rows[1][4] = int(n["ric"][1][:15] + "000")                   # Excel turned the ID into a number
    xlsx_batch = _stage(session, clerk, "shanghai", xlsx_bytes(SHANGHAI_HEADER, rows), "r.xlsx")
    assert xlsx_batch.rows[1]["errors"] == [["number_cell", {"column": "code"}]]


def test_zhengzhou_codes_must_agree_and_units_need_their_representative(session):
    clerk = make_staff(session, Role.CLERK)
    n = ids(29)
    rows = zhengzhou_rows(n)
    rows[0][2] = n["uscc"][2]                       # USCC in 组织机构代码 …
    header = [*ZHENGZHOU_HEADER, "统一社会信用代码"]
    rows = [[*rows[0], n["uscc"][3]], [*rows[1][:4], "", "", *rows[1][6:], ""]]   # … and another USCC
    batch = _stage(session, clerk, "zhengzhou", csv_bytes(header, rows), ground="ZS2")
    assert [[e[0] for e in r["errors"]] for r in batch.rows] == [
        ["code_mismatch"], ["required_unit", "required_unit"]]


def test_a_committed_batch_keeps_no_id_numbers(session):
    clerk = make_staff(session, Role.CLERK)
    n = ids(37)
    batch = _stage(session, clerk, "shanghai", csv_bytes(SHANGHAI_HEADER, shanghai_rows(n)))
    assert n["ric"][0] in json.dumps(batch.rows, ensure_ascii=False)     # staged: the full values
    result = _commit(session, clerk, batch, "shanghai")
    session.commit()
    session.expire_all()
    stored = session.get(ImportBatch, batch.id).rows
    dumped = json.dumps(stored, ensure_ascii=False)
    for number in (n["ric"][0], n["ric"][1]):
        assert number not in dumped and number[:14] not in dumped
    assert "张伟" not in dumped                                          # nor the representative
    assert [(r["line"], r["values"]["name"], r["case_no"]) for r in stored] == [
        (2, "上海测试机械有限公司", result.cases[0].case_no), (3, "李秀英", result.cases[1].case_no)]
    assert all("id_number" not in r["values"] and "rep_id" not in r["values"] for r in stored)


def test_free_text_with_a_resident_id_number_is_refused(session):
    clerk = make_staff(session, Role.CLERK)
    n = ids(41)
    rows = shanghai_rows(n)
    rows[0][7] = f"联系人张伟，身份证号{n['ric'][2]}"                        # 其他需要报送的信息内容
    batch = _stage(session, clerk, "shanghai", csv_bytes(SHANGHAI_HEADER, rows))
    assert batch.rows[0]["errors"] == [["ric_in_text", {"column": "other"}]]
    assert batch.rows[1]["errors"] == [] and batch.error_count == 1
    rows = shanghai_rows(n)
    rows[0][7] = f"联系人张伟，身份证号 {n['ric'][2][:6]} {n['ric'][2][6:14]} {n['ric'][2][14:]}"
    rows[1][7] = f"编号P{n['ric'][3]}"                                    # separated, glued
    batch = _stage(session, clerk, "shanghai", csv_bytes(SHANGHAI_HEADER, rows))
    assert [r["errors"] for r in batch.rows] == [[["ric_in_text", {"column": "other"}]]] * 2
    zz = zhengzhou_rows(ids(43))
    zz[0][10] = "法定代表人" + ids(43)["ric"][0].replace("1", "１")        # full-width digits, 备注
    zz[1][8] = "违法人员" + ids(43)["ric"][1]                               # 违法情况
    batch = _stage(session, clerk, "zhengzhou", csv_bytes(ZHENGZHOU_HEADER, zz), ground="ZS2")
    assert [r["errors"] for r in batch.rows] == [[["ric_in_text", {"column": "remarks"}]],
                                                 [["ric_in_text", {"column": "violations"}]]]
    with pytest.raises(imports.ImportProblem):
        _commit(session, clerk, batch, "zhengzhou")
    assert _count(session, Case) == 0


def test_export_leaves_out_annulled_listings(app, session):
    profile = load_profile("zhengzhou")
    approver = make_staff(session, Role.APPROVER)
    kept, _ = listed_case(session, app, profile_code="zhengzhou", ground="ZS2", decided_on=dt.date(2026, 2, 3))
    expired, _ = listed_case(session, app, profile_code="zhengzhou", ground="ZS2",
                             decided_on=dt.date(2026, 1, 12), publish=False)
    expired.state, expired.removal_reason = CaseState.REMOVED, RemovalReason.TERM_EXPIRED
    expired.removed_on = dt.date(2026, 3, 1)                 # a listing that was right: reported
    for reason in cases.ANNULLING_REASONS:
        annulled, _ = listed_case(session, app, profile_code="zhengzhou", ground="ZS3",
                                  decided_on=dt.date(2026, 2, 10))
        cases.remove_case(session, approver, annulled, profile, KEY, reason, dt.date(2026, 3, 2))
    session.flush()
    period = report_export.parse_period("2026-Q1", profile)
    assert report_export.decided_cases(session, profile, period) == [expired, kept]
    data, count = report_export.export(session, approver, profile, period, "csv")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert count == 2 and [row[1] for row in table[1:]] == [expired.subject.name, kept.subject.name]


def test_csv_and_xlsx_cells_cannot_start_a_formula():
    cells = ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1+1", "\r=1+1", "ok"]
    table = list(csv.reader(io.StringIO(to_csv(["a"] * len(cells), [cells]).decode("utf-8-sig"))))
    assert table[1] == ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\t=1+1", "'\r=1+1", "ok"]
    book = load_workbook(io.BytesIO(to_xlsx(["a"] * len(cells), [cells], title="t")))
    assert all(c.value.startswith("'") for c in list(book.active.rows)[1][:6])


def test_the_header_search_depth_is_reported(session):
    clerk = make_staff(session, Role.CLERK)
    with pytest.raises(FileProblem) as problem:
        _stage(session, clerk, "shanghai", b"a,b\n1,2\n")
    assert problem.value.params == {"rows": HEADER_SEARCH_ROWS}


def test_rows_below_the_grounds_threshold_are_refused(session):
    """004 §四(三)2: serious arrears are 3 years or more and ¥500,000 or more."""
    clerk = make_staff(session, Role.CLERK)
    n = ids(11)
    rows = zhengzhou_rows(n)
    rows[0][7] = "12个月，¥35,000.00"          # neither figure reached
    rows[1][7] = "38个月 ¥499,999.99"          # 38 months but short of ¥500,000
    batch = _stage(session, clerk, "zhengzhou", csv_bytes(ZHENGZHOU_HEADER, rows), ground="ZS2")
    assert batch.error_count == 2
    assert [[e[0] for e in r["errors"]] for r in batch.rows] == [["threshold"], ["threshold"]]
    with pytest.raises(imports.ImportProblem):
        _commit(session, clerk, batch, "zhengzhou")
    assert _count(session, Case) == 0
