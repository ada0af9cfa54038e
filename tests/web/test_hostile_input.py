"""No 500 on any input: NUL bytes, out-of-range ids and numbers, whitespace-only fields,
impossible dates — on both databases; and database errors never log their parameters."""
from __future__ import annotations

import datetime as dt
import logging
import secrets

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditHead, Role, Submission
from tests.factories import EVIDENCE, listed_case
from tests.storage_support import BOTH, stored_names
from tests.web.admin_support import fast_passwords, staff  # noqa: F401
from tests.web.admin_support import login as staff_login
from tests.web.integration_support import BASE, auth, new_client, org_body
from tests.web.test_submit_filings import FILER, post, set_today, token
from tests.web.test_submit_filings import login as party_login

D = dt.date
BEYOND = str(2 ** 31)                  # one past PostgreSQL's integer
HUGE = "9" * 30


# ------------------------------------------------------------------ NUL bytes

@pytest.mark.parametrize("url", ["/entries/%00", "/track/%00", "/track/%00/files/1", "/search?q=%00",
                                 "/entries?ground=%00", "/removals?page=%00", "/api/v1/entries?ground=%00"])
def test_nul_bytes_in_the_address_are_refused(client, url):
    assert client.get(url).status_code == 400


@pytest.mark.parametrize("url", ["/api/v1/nowhere?x=%00", "/api/v1/integration/nowhere?x=%00",
                                 "/api/v1/integration/webhooks/0/deliveries?cursor=%00",
                                 "/api/v1/entries/%00?lang=en"])
def test_nul_bytes_at_an_api_address_no_route_answers_are_refused_in_json(client, url):
    """The guard runs before routing: an address that matches no route has no blueprint to
    turn the refusal into JSON (it was an unhandled error, a 500)."""
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_character"


@pytest.mark.parametrize("url, data", [
    ("/check", {"code": "91230800\x00MA1X"}),
    ("/letters/verify", {"number": "JIA-LR\x00", "code": "2345-6789-ABCD"}),
    ("/track", {"receipt_no": "JIA\x00", "query_code": "x"}),
    ("/submit/party", {"case_no": "\x00", "access_code": "a", "identifier": "b"}),
    ("/submit/complaint", {"token": "t" * 30, "reported_name": "某公司", "body": "有人\x00未参保",
                           "category": "fraud", "anonymous": "y"}),
])
def test_nul_bytes_in_form_fields_are_refused(client, session, url, data):
    refused = client.post(url, data=data)
    assert refused.status_code == 400
    assert "控制字符" in refused.get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0


def test_nul_bytes_in_an_integration_body_are_refused(client, session):
    _, secret = new_client(session)
    body = org_body(facts="经稽核\u0000少报")
    response = client.post(f"{BASE}/cases", json=body, headers=auth(secret))
    assert response.status_code == 422
    assert {e["code"] for e in response.get_json()["error"]["errors"]} == {"invalid_character"}


# ------------------------------------------------------------------ ids beyond the integer range

@pytest.mark.usefixtures("fast_passwords")
@pytest.mark.parametrize("url", [f"/admin/cases/{BEYOND}", f"/admin/submissions/{BEYOND}",
                                 f"/admin/submissions/{HUGE}", f"/admin/submissions/1/files/{BEYOND}",
                                 f"/admin/imports/{BEYOND}", f"/admin/grades/subjects/{BEYOND}"])
def test_ids_beyond_the_integer_range_are_not_found(client, session, url):
    staff_login(client, staff(session, Role.CLERK))
    assert client.get(url).status_code == 404


def test_a_file_id_beyond_the_integer_range_is_not_found(client):
    assert client.get(f"/track/JIA-2026-X/files/{BEYOND}").status_code == 404


@pytest.mark.usefixtures("fast_passwords")
@pytest.mark.parametrize("assignee", ["１２", "²", BEYOND, HUGE, "-1", " 1"])
def test_queue_filters_take_any_assignee(client, session, assignee):
    staff_login(client, staff(session, Role.CLERK))
    for queue in ("/admin/queue/cases", "/admin/queue/submissions"):
        assert client.get(queue, query_string={"assignee": assignee}).status_code == 200


@pytest.mark.usefixtures("fast_passwords")
@pytest.mark.parametrize("args", [{"date_from": "0001-01-01"}, {"date_to": "9999-12-31"},
                                  {"date_from": "0001-01-01", "date_to": "9999-12-31"},
                                  {"date_from": "2026-02-30"}, {"page": HUGE}])
def test_the_audit_filter_takes_any_date(client, session, args):
    staff_login(client, staff(session, Role.ADMIN))
    response = client.get("/admin/audit/", query_string=args)
    assert response.status_code == 200


@pytest.mark.parametrize("url", [f"/entries?page={HUGE}", f"/removals?page={HUGE}", f"/search?q=建筑&page={HUGE}",
                                 f"/redlist?page={HUGE}", f"/entries?year={HUGE}", f"/api/v1/entries?page={HUGE}"])
def test_public_pages_take_any_number(client, url):
    assert client.get(url).status_code < 500


# ------------------------------------------------------------------ whitespace-only fields

@BOTH
def test_a_whitespace_rectification_date_is_refused_and_leaves_no_file(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 4, 15))
    party_login(client, case, code)
    data = {"token": token(client, "/submit/rectification"), "rectified_on": "   ",
            "body": "已补办社会保险登记并缴清欠费。", **FILER}
    response = post(client, "/submit/rectification", data, [("缴费凭证.jpg", EVIDENCE["jpeg"])])
    assert response.status_code == 422
    assert session.scalar(sa.select(sa.func.count(Submission.id))) == 0
    # the evidence is kept for the next round of the form (listed there with a box to untick) …
    assert len(stored_names(app)) == 1 and "缴费凭证.jpg" in response.get_data(as_text=True)
    # … and a round that leaves it out (the box unticked) leaves no file behind
    assert post(client, "/submit/rectification", data).status_code == 422
    assert stored_names(app) == []


@pytest.mark.parametrize("field, value", [("uscc", "  "), ("uscc", "\t"), ("name", "   ")])
def test_a_whitespace_subject_code_is_refused_by_the_integration_api(client, session, field, value):
    _, secret = new_client(session)
    body = org_body()
    body["subject"][field] = value
    response = client.post(f"{BASE}/cases", json=body, headers=auth(secret))
    assert response.status_code == 422, response.get_data(as_text=True)


# ------------------------------------------------------------------ error logs

def test_database_errors_do_not_carry_their_parameters(app, session, caplog):
    session.add(AuditHead(id=1, seq=0, hash="0" * 64))
    session.commit()
    session.add(AuditHead(id=1, seq=7, hash="110105198503071230-secret-value"))
    with pytest.raises(sa.exc.IntegrityError) as failed:
        session.commit()
    session.rollback()
    assert "110105198503071230" not in str(failed.value)


def test_a_500_logs_no_sql_parameters(app, client, caplog):
    def broken():
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE x = :x"),
                           {"x": "110105198503071230 张三 13900001111"})

    app.add_url_rule("/broken-for-test", "broken_for_test", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/broken-for-test")
    assert response.status_code == 500
    assert "no_such_table" in caplog.text
    assert "110105198503071230" not in caplog.text and "13900001111" not in caplog.text


def test_log_lines_never_show_an_id_number(app, client, caplog):
    number = "110105198503071230"

    def broken():
        raise RuntimeError(f"unexpected value {number} for 张三")

    app.add_url_rule("/broken-for-test", "broken_for_test", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.INFO):
        logging.getLogger("portal.test").warning("filer %s wrote %s", "张三", "１１０１０５１９８５０３０７１２３０")
        assert client.get("/broken-for-test").status_code == 500
    assert "张三 wrote" in caplog.text and "unexpected value" in caplog.text
    assert number not in caplog.text and "１１０１０５１９８５０３０７１２３０" not in caplog.text
    assert "RuntimeError" in caplog.text


# ------------------------------------------------------------------ a small sweep of hostile values

HOSTILE = ["a\x00b", "x" * 10_000, "   ", "\t\n", HUGE, "-" + HUGE, "2026-02-30", "0000-00-00",
           "9999-12-31", "１２３", "'; DROP TABLE cases; --", "<script>alert(1)</script>"]
PUBLIC_FORMS = {
    "/check": {"code": "91230800MA1XXXXX0X"},
    "/track": {"receipt_no": "JIA-2026-X", "query_code": "abcd"},
    "/submit/party": {"case_no": "JIA-2026-000001", "access_code": "abcd", "identifier": "x"},
    "/submit/complaint": {"reported_name": "某公司", "reported_code": "", "reported_address": "",
                          "category": "fraud", "body": "未参保", "anonymous": "y", **FILER},
}


@pytest.mark.parametrize("url", sorted(PUBLIC_FORMS))
def test_public_forms_never_answer_5xx(client, session, url):
    base = PUBLIC_FORMS[url]
    for field in [*base, "token"]:
        for value in HOSTILE:
            data = {**base, field: value}
            if url == "/submit/complaint" and field != "token":
                data["token"] = token(client, url)
            status = client.post(url, data=data).status_code
            assert status < 500, (url, field, value[:20], status)


PARTY_FORMS = {
    "/submit/defence": {"body": "陈述"},
    "/submit/objection": {"category": "facts", "body": "事实有误"},
    "/submit/rectification": {"rectified_on": "2026-04-01", "body": "已改正"},
    "/submit/repair": {"body": "已履行", "commitment_mode": "online", "commitment_confirm": "y"},
}


def test_party_forms_never_answer_5xx(app, session, client, time_machine):
    case, code = listed_case(session, app, decided_on=D(2026, 3, 15), ground="J1")
    session.commit()
    set_today(time_machine, D(2026, 4, 15))
    party_login(client, case, code)
    for url, base in PARTY_FORMS.items():
        base = {**base, **FILER}
        for field in base:
            for value in HOSTILE:
                data = {**base, field: value, "token": secrets.token_urlsafe(24)}
                response = post(client, url, data, [("a.pdf", EVIDENCE["pdf"])])
                assert response.status_code < 500, (url, field, value[:20], response.status_code)


INTEGRATION_HOSTILE = ["   ", "x" * 10_000, HUGE, 2 ** 63, 1e308, [], {}, True, "2026-02-30",
                       "１２３４５６７８９０１２３４５６７８"]


def test_integration_bodies_never_answer_5xx(client, session):
    _, secret = new_client(session)
    n = 0
    for path in ("external_ref", "external_ref.system", "external_ref.record_id", "subject",
                 "subject.kind", "subject.name", "subject.uscc", "subject.org_code", "subject.reg_no",
                 "subject.address", "subject.legal_representative", "subject.legal_representative.name",
                 "subject.legal_representative.id_number", "subject.responsible_persons", "ground",
                 "facts", "reasons", "amount", "document_no", "department", "department_contact"):
        for value in INTEGRATION_HOSTILE:
            n += 1
            body = org_body(ref=f"H-{n}")
            *parents, leaf = path.split(".")
            target = body
            for key in parents:
                target = target[key]
            target[leaf] = value
            response = client.post(f"{BASE}/cases", json=body, headers=auth(secret))
            assert response.status_code < 500, (path, repr(value)[:30], response.status_code)


QUERY_HOSTILE = ["x" * 10_000, "   ", HUGE, "-" + HUGE, "2026-02-30", "0001-01-01", "9999-12-31", "１２",
                 "²", "1e309", "NaN", "'", "%", "_", "\\", "[]"]
PUBLIC_QUERIES = {
    "/entries": ("ground", "kind", "severity", "department", "year", "page", "sort"),
    "/removals": ("reason", "page"),
    "/redlist": ("page",),
    "/search": ("q", "ground", "subject_kind", "year", "page"),
    "/api/v1/entries": ("page", "per_page", "ground", "subject_kind", "year", "q", "lang"),
    "/api/v1/removals": ("page", "per_page", "reason", "lang"),
    "/api/v1/check": ("code",),
    "/api/v1/changes": ("cursor", "limit", "since"),
    "/feeds/changes.atom": ("lang",),
}


def test_public_queries_never_answer_5xx(app, session, client):
    from portal.search import get_index
    from portal.services import indexer
    from tests.factories import published_case

    published_case(session, app)
    session.commit()
    indexer.rebuild(session, get_index(app))          # the worker's index: search answers
    session.commit()
    for url, names in PUBLIC_QUERIES.items():
        for name in names:
            for value in QUERY_HOSTILE:
                status = client.get(url, query_string={name: value}).status_code
                assert status < 500, (url, name, value[:20], status)


@pytest.mark.usefixtures("fast_passwords")
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_back_office_dates_far_out_of_range_are_refused(app, session, client, time_machine, day):
    from portal.models import Case
    from portal.rules.workflow import CaseState
    from tests.web.test_admin_cases import _open, _step

    set_today(time_machine, D(2026, 9, 25))
    staff_login(client, staff(session, Role.CLERK))
    assert _open(client).status_code == 302
    case = session.execute(sa.select(Case)).scalar_one()
    assert _step(client, case, "pre_notice", served_on=day).status_code < 500
    session.expire_all()
    assert session.get(Case, case.id).state is CaseState.OPENED
    admin = app.test_client()
    staff_login(admin, staff(session, Role.ADMIN))
    added = admin.post("/admin/calendar/day?year=2027", data={"day": day, "is_workday": "0", "note": "x"})
    assert added.status_code < 500


@pytest.mark.usefixtures("fast_passwords")
def test_the_case_form_takes_any_amount(app, session, client, time_machine):
    from portal.models import Case
    from tests.web.test_admin_cases import _open

    set_today(time_machine, D(2026, 9, 25))
    staff_login(client, staff(session, Role.CLERK))
    for amount in ("NaN", "sNaN", "Infinity", "-Infinity", "1e400", HUGE, "-1", "１２", "   "):
        response = _open(client, amount=amount)
        assert response.status_code < 500, (amount, response.status_code)
    stored = session.execute(sa.select(Case.amount)).scalars().all()
    assert sorted(stored, key=str) == sorted([None, 12], key=str)    # blank, and １２ read as 12


@pytest.mark.usefixtures("fast_passwords")
def test_the_case_form_never_answers_5xx(app, session, client, time_machine):
    from tests.web.test_admin_cases import _open

    set_today(time_machine, D(2026, 9, 25))
    staff_login(client, staff(session, Role.CLERK))
    fields = ("kind", "name", "uscc", "legal_rep_name", "legal_rep_id", "ground", "origin", "facts",
              "document_no", "department", "department_contact")
    for field in fields:
        for value in ("x" * 10_000, "   ", HUGE, "１２３", "2026-02-30"):
            response = _open(client, **{field: value})
            assert response.status_code < 500, (field, value[:20], response.status_code)
