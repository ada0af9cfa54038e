"""Hostile input into every kind of form, and into the report import parsers: never a 5xx.

Generated values (hypothesis, bounded and reproducible) mix NUL bytes and other control
characters, any non-surrogate Unicode, whitespace only, full-width digits, very long
strings, huge and negative numbers and impossible dates, into:

- the public forms: /check, /letters/verify, the party sign-in, /track sign-in, the
  complaint form, and addresses carrying such values (/entries/…, /track/…, /search?q=…);
- the party's filing forms (defence, objection, rectification, repair) after a sign-in,
  and the /track reply;
- the back office: the case form, the audit filter, the queue filters and ids beyond 2^31;
- the report import: the upload page with generated CSV rows and bytes, and
  ``report_files.read_rows`` directly.

An answer of 500 or more, or an exception out of a view, fails the test; each test prints
what it tried (``pytest -s``): requests per surface and how many were 5xx.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.extensions import db
from portal.models import Role
from portal.rules.profiles import load_profile
from portal.search import get_index
from portal.services import indexer, report_files
from portal.services.report_format import report_format
from tests.factories import EVIDENCE, bureau_day, listed_case, pre_noticed_case, published_case
from tests.report_support import SHANGHAI_HEADER, csv_bytes, ids, shanghai_rows
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401
from tests.web.test_submit_filings import login as party_login
from tests.web.test_submit_filings import only_submission, post


def token(client, url) -> str:
    """The filing token of the form at ``url`` ("" when the page shows no form)."""
    found = re.search(r'name="token" type="hidden" value="([^"]+)"',
                      client.get(url).get_data(as_text=True))
    return found.group(1) if found else ""

pytestmark = pytest.mark.usefixtures("fast_passwords")
D = dt.date
#: Examples per operation/surface; PORTAL_FUZZ_EXAMPLES=500 for a longer campaign.
EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "30"))

NASTY = [
    "", " ", "   ", "\t\r\n", "\u3000", "\x00", "a\x00b", "\x00" * 40, "\x1b[31m", "\x7f\x08",
    "１２３４５６", "０", "－１", "２０２６－０３－０５", "2026-02-30", "2026-13-01", "0000-00-00",
    "0001-01-01", "9999-12-31", "10000-01-01", "-1", "0", "2147483648", "9223372036854775808",
    "99999999999999999999999999", "1e999", "-1e-999", "NaN", "inf", "1,000.005", "¥35,000.00",
    "' OR '1'='1", "<script>alert(1)</script>", "%00", "../../../etc/passwd", "\ufeff", "\u202e",
    "𠀀" * 20, "110105 19850307 1230", "110105198503071230X",
]
ANY_TEXT = st.characters(codec="utf-8")          # every code point except the surrogates


def hostile(max_size: int = 80):
    return st.one_of(
        st.sampled_from(NASTY),
        st.text(ANY_TEXT, max_size=max_size),
        st.integers(min_value=-2**80, max_value=2**80).map(str),
        st.text(ANY_TEXT, min_size=1, max_size=3).map(lambda s: s * 4000),   # very long
    )


def field(*valid):
    """A value that is sometimes well-formed, mostly hostile."""
    return st.one_of(st.sampled_from(valid), hostile()) if valid else hostile()


def drive(surface: str, strategy, send, report: Counter, failures: list,
          examples: int = EXAMPLES) -> None:
    """Send ``examples`` generated values through ``send``; count answers, collect 5xx."""
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(value=strategy)
    def run(value):
        report[surface, "tried"] += 1
        try:
            response = send(value)
            status = response.status_code
        except Exception as problem:  # noqa: BLE001 - an exception out of a view is a 500
            db.session.rollback()
            status, detail = 500, f"{type(problem).__name__}: {str(problem)[:300]}"
        else:
            detail = response.get_data()[:200].decode("utf-8", "replace")
        if status >= 500:
            report[surface, "5xx"] += 1
            failures.append(f"{surface}: {ascii(value)[:300]} -> {status} {detail}")

    run()


def summary(title: str, report: Counter, failures: list, app) -> None:
    backend = app.config["SQLALCHEMY_DATABASE_URI"].split(":")[0]
    surfaces = sorted({s for s, _ in report})
    print(f"\n[{title} on {backend}]\n" + "\n".join(
        f"{s}: {report[s, 'tried']} tried, 5xx={report[s, '5xx']}" for s in surfaces))
    distinct = {}
    for failure in failures:
        surface, _, rest = failure.partition(": ")
        distinct.setdefault((surface, rest.split(" -> ", 1)[-1][:120]), failure)
    assert not failures, "\n".join(list(distinct.values())[:20])


# ------------------------------------------------------------------ public forms and addresses

def test_public_forms_and_addresses_never_answer_5xx(app, session, client):
    report, failures = Counter(), []
    case = published_case(session, app)
    session.commit()
    indexer.sync(session, get_index(app))           # a missing index is a deliberate 503
    drive("POST /check", st.fixed_dictionaries({"code": field()}),
          lambda v: client.post("/check", data=v), report, failures)
    drive("POST /letters/verify", st.fixed_dictionaries(
        {"number": field("JIA-LR-2026-00001"), "code": field("2345-6789-ABCD")}),
          lambda v: client.post("/letters/verify", data=v), report, failures)
    drive("POST /check on a day", st.fixed_dictionaries(
        {"code": field(case.subject.uscc),
         "day": field("2026-04-01", "2026年4月1日", "0001-01-01", "9999-12-31", "20260230")}),
          lambda v: client.post("/check", data=v), report, failures)
    drive("POST /submit/party", st.fixed_dictionaries(
        {"case_no": field("JMS-2026-0001"), "access_code": field("2345-6789-AB"),
         "identifier": field("91230800MA1AB2CD3E")}),
          lambda v: client.post("/submit/party", data=v), report, failures)
    drive("POST /track", st.fixed_dictionaries(
        {"receipt_no": field("O20260601-000001"), "query_code": field("2345-6789-AB")}),
          lambda v: client.post("/track", data=v), report, failures)

    def complaint(values):
        form = {**values, "token": token(client, "/submit/complaint")}
        return client.post("/submit/complaint", data=form, content_type="multipart/form-data")

    drive("POST /submit/complaint", st.fixed_dictionaries({
        "filer_name": field("王建国"), "filer_contact": field("0454-8888888"),
        "filer_email": field("", "a@example.org"), "anonymous": field("", "y"),
        "reported_name": field("某公司"), "reported_code": field(""),
        "reported_address": field(""), "category": field("arrears", "fraud"),
        "body": field("该单位未为职工缴纳社会保险。")}), complaint, report, failures)
    path_text = hostile(40).map(lambda s: re.sub(r"[/?#%]", "", s).replace("\x00", "%00"))
    drive("GET /entries/<value>", path_text, lambda v: client.get(f"/entries/{v}"),
          report, failures)
    drive("GET /track/<value>", path_text, lambda v: client.get(f"/track/{v}"), report, failures)
    drive("GET /search?q=", hostile(), lambda v: client.get("/search", query_string={"q": v}),
          report, failures)
    summary("public forms", report, failures, app)


# ------------------------------------------------------------------ the party's filings

FILER = {"filer_name": field("王建国"), "filer_contact": field("0454-8888888"),
         "filer_email": field("", "a@example.org")}


def _filing(client, url):
    def send(values):
        form = {**values, "token": token(client, url)}
        return client.post(url, data=form, content_type="multipart/form-data")
    return send


def test_party_filing_forms_never_answer_5xx(app, session, client, time_machine):
    report, failures = Counter(), []
    noticed, code = pre_noticed_case(session, served_on=D(2026, 9, 28))
    session.commit()
    bureau_day(time_machine, D(2026, 10, 8))
    party_login(client, noticed, code)
    drive("POST /submit/defence", st.fixed_dictionaries(
        {**FILER, "body": field("我单位已于9月补办登记。")}),
          _filing(client, "/submit/defence"), report, failures)

    listed, code = listed_case(session, app)
    session.commit()
    bureau_day(time_machine, D(2026, 6, 1))
    other = app.test_client()
    party_login(other, listed, code)
    drive("POST /submit/objection", st.fixed_dictionaries(
        {**FILER, "category": field("facts", "identity"), "body": field("金额有误。")}),
          _filing(other, "/submit/objection"), report, failures)
    drive("POST /submit/rectification", st.fixed_dictionaries(
        {**FILER, "rectified_on": field("2026-05-20", ""), "body": field("已补缴。")}),
          _filing(other, "/submit/rectification"), report, failures)
    drive("POST /submit/repair", st.fixed_dictionaries(
        {**FILER, "body": field("已履行。"), "commitment_mode": field("online", "signed"),
         "commitment_confirm": field("y", "")}),
          _filing(other, "/submit/repair"), report, failures)
    summary("party filings", report, failures, app)


def test_track_reply_and_files_never_answer_5xx(app, session, client, time_machine):
    report, failures = Counter(), []
    listed, code = listed_case(session, app)
    session.commit()
    bureau_day(time_machine, D(2026, 6, 1))
    party_login(client, listed, code)
    filed = post(client, "/submit/objection", {
        "token": token(client, "/submit/objection"), "category": "facts", "body": "金额有误。",
        "filer_name": "王建国", "filer_contact": "0454-8888888", "filer_email": ""},
        [("营业执照.png", EVIDENCE["png"])])
    assert filed.status_code == 200
    receipt = only_submission(session).receipt_no
    drive("POST /track/<receipt>/reply", st.fixed_dictionaries({"body": field("补充说明。")}),
          lambda v: client.post(f"/track/{receipt}/reply", data=v,
                                content_type="multipart/form-data"), report, failures)
    drive("GET /track/<receipt>/files/<id>", st.integers(min_value=0, max_value=2**80),
          lambda v: client.get(f"/track/{receipt}/files/{v}"), report, failures)
    summary("track", report, failures, app)


# ------------------------------------------------------------------ the back office

def test_back_office_forms_never_answer_5xx(app, session, client):
    report, failures = Counter(), []
    login(client, staff(session, Role.CLERK))
    case_form = st.fixed_dictionaries({
        "kind": field("organisation", "person"), "name": field("佳木斯市松江建材有限公司"),
        "uscc": field("91230800MA1AB2CD3E", ""), "org_code": field(""), "reg_no": field(""),
        "legal_rep_name": field("赵志刚"), "legal_rep_id": field(""), "resp1_name": field(""),
        "resp1_id": field(""), "id_number": field(""), "address": field(""),
        "unit_kind": field("", "employer"), "ground": field("J1", "J2"),
        "origin": field("inspection"), "facts": field("经稽核，该单位少报缴费基数。"),
        "reasons": field(""), "document_no": field(""), "amount": field("23500.50", ""),
        "months": field("3", ""), "person_times": field("", "5"),
        "alternative_met": field("", "y"), "department": field(""),
        "department_contact": field(""), "decided_on": field("2026-03-05"),
        "opened_on": field("2026-03-05")})
    drive("POST /admin/cases/new", case_form, lambda v: client.post("/admin/cases/new", data=v),
          report, failures)
    queue = st.fixed_dictionaries({"kind": field("organisation"), "state": field("opened"),
                                   "assignee": field("1", "１２"), "page": field("1")})
    drive("GET /admin/queue/cases", queue,
          lambda v: client.get("/admin/queue/cases", query_string=v), report, failures)
    drive("GET /admin/queue/submissions", queue,
          lambda v: client.get("/admin/queue/submissions", query_string=v), report, failures)
    big = st.integers(min_value=0, max_value=2**80)
    drive("GET /admin/cases/<id>", big, lambda v: client.get(f"/admin/cases/{v}"),
          report, failures)
    drive("GET /admin/submissions/<id>", big, lambda v: client.get(f"/admin/submissions/{v}"),
          report, failures)

    admin = app.test_client()
    login(admin, staff(session, Role.ADMIN))
    drive("GET /admin/audit/", st.fixed_dictionaries({
        "actor": field(), "action": field("case.opened"), "entity_type": field("case"),
        "entity_id": field("1"), "date_from": field("2026-01-01", "0001-01-01"),
        "date_to": field("2026-12-31", "9999-12-31"), "page": field("1")}),
          lambda v: admin.get("/admin/audit/", query_string=v), report, failures)
    summary("back office", report, failures, app)


# ------------------------------------------------------------------ report imports

ROW = st.lists(field(), min_size=0, max_size=len(SHANGHAI_HEADER) + 2)


def test_report_import_never_answers_5xx(app, session, client, time_machine):
    report, failures = Counter(), []
    app.config["PORTAL_PROFILE"] = "shanghai"
    bureau_day(time_machine, D(2026, 4, 2))
    login(client, staff(session, Role.CLERK))

    def upload(raw_and_name):
        raw, name = raw_and_name
        return client.post("/admin/imports/", content_type="multipart/form-data",
                           data={"file": (io.BytesIO(raw), name), "ground": ""})

    table = st.lists(ROW, min_size=0, max_size=4).map(
        lambda rows: csv_bytes(SHANGHAI_HEADER, [[c for c in r] for r in rows]))
    encoded = st.one_of(
        table, table.map(lambda b: b.decode("utf-8-sig").encode("gb18030", "replace")),
        st.binary(max_size=2000), st.just(b"PK\x03\x04" + b"\x00" * 100))
    drive("POST /admin/imports/", st.tuples(encoded, st.sampled_from(
        ["2026-03.csv", "2026-03.xlsx", "report.xls", "", "\x00.csv"])), upload, report, failures)

    def parse(raw):
        class Done:
            status_code = 200

            @staticmethod
            def get_data():
                return b""
        try:
            report_files.read_rows(report_format(load_profile("shanghai")), raw, "upload.csv", 200)
        except report_files.FileProblem:
            pass
        return Done
    drive("report_files.read_rows", st.one_of(encoded, st.binary(max_size=4000)), parse,
          report, failures, examples=EXAMPLES * 2)
    summary("report import", report, failures, app)


# ------------------------------------------------------------------ what the fuzzing found, pinned

@pytest.mark.parametrize("address", ["/entries/a%00b", "/track/O2026%00", "/search?q=%00",
                                     "/api/v1/entries/E%00", "/api/v1/entries?department=%00"])
def test_a_nul_character_in_an_address_is_refused_with_a_message(client, address):
    response = client.get(address)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


def test_a_nul_character_in_a_form_is_refused_with_a_message(client):
    response = client.post("/check", data={"code": "9123\x00"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)


@pytest.mark.parametrize("address", ["/admin/cases/2147483648", "/admin/submissions/18136954002980653471",
                                     "/track/O20260601-000001/files/9223372036854775808"])
def test_ids_beyond_the_column_range_are_not_found(app, session, client, address):
    login(client, staff(session, Role.CLERK))
    assert client.get(address).status_code == 404


@pytest.mark.parametrize("assignee", ["99999999999999999999999999", "2147483648", "²", "１２"])
@pytest.mark.parametrize("queue", ["cases", "submissions"])
def test_queue_filter_by_an_impossible_assignee_finds_nobody(app, session, client, queue,
                                                            assignee):
    login(client, staff(session, Role.CLERK))
    assert client.get(f"/admin/queue/{queue}", query_string={"assignee": assignee}
                      ).status_code == 200


@pytest.mark.parametrize("field", ["date_from", "date_to"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_audit_filter_refuses_days_out_of_range_with_a_message(app, session, client, field, day):
    client.get("/lang/en")
    login(client, staff(session, Role.ADMIN))
    response = client.get("/admin/audit/", query_string={field: day})
    assert response.status_code == 200
    from portal.admin.forms import FIRST_DAY, LAST_DAY

    assert f"Enter a date between {FIRST_DAY} and {LAST_DAY}." in response.get_data(as_text=True)


@pytest.mark.parametrize("day", [" ", "\u3000", "\t"])
def test_a_rectification_date_of_spaces_is_asked_for_again(app, session, client, time_machine,
                                                          day):
    listed, code = listed_case(session, app)
    session.commit()
    bureau_day(time_machine, D(2026, 6, 1))
    party_login(client, listed, code)
    client.get("/lang/en")
    response = post(client, "/submit/rectification", {
        "token": token(client, "/submit/rectification"), "rectified_on": day, "body": "已补缴。",
        "filer_name": "王建国", "filer_contact": "0454-8888888", "filer_email": ""},
        [("回执.png", EVIDENCE["png"])])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter the date the problem was put right." in page
    kept = [p.name for p in Path(app.config["PORTAL_UPLOAD_DIR"]).rglob("*") if p.is_file()]
    # the evidence is kept for the next round of this form, listed with a box to leave it out
    assert kept == re.findall(r'name="keep" value="([0-9a-f]{32})" checked> <span>回执.png</span>', page)


def test_a_nul_character_in_an_integration_body_is_refused_per_field(app, session, client):
    from tests.web.integration_support import BASE, auth, new_client, org_body
    _client, token_ = new_client(session)
    response = client.post(f"{BASE}/cases", json=org_body(reasons="a\x00b"), headers=auth(token_))
    assert response.status_code == 422
    assert {"field": "reasons", "code": "invalid_character"}.items() <= \
        response.get_json()["error"]["errors"][0].items()


def test_an_import_file_name_with_control_characters_is_stored_cleaned(app, session, client,
                                                                     time_machine):
    from portal.models import ImportBatch
    app.config["PORTAL_PROFILE"] = "shanghai"
    bureau_day(time_machine, D(2026, 4, 2))
    login(client, staff(session, Role.CLERK))
    response = client.post("/admin/imports/", content_type="multipart/form-data", data={
        "file": (io.BytesIO(csv_bytes(SHANGHAI_HEADER, shanghai_rows(ids()))), "re\x00port\x07.csv"),
        "ground": ""})
    assert response.status_code == 302
    assert [b.filename for b in session.query(ImportBatch).all()] == ["report.csv"]
