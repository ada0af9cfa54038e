"""The integration API at /api/v1/integration: bearer tokens and scopes, cases, status, limits."""
import datetime as dt
import json
import random
import re

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from portal import clock, config, create_app
from portal.extensions import db
from portal.models import AuditEvent, Case, CaseOrigin, Role, SubjectKind
from portal.rules import identifiers
from portal.rules.workflow import CaseState, RemovalReason
from portal.services import integration
from tests.factories import (
    bureau_day,
    listed_case,
    make_staff,
    pre_noticed_case,
    published_case,
    red_list_entry,
    remove_published,
)
from tests.web.integration_support import (
    BASE,
    RNG,
    audit_text,
    auth,
    error_of,
    hashed,
    new_client,
    org_body,
    wrong_check,
)

# --------------------------------------------------------------------------
# Tokens and scopes
# --------------------------------------------------------------------------

def test_missing_wrong_and_revoked_tokens_are_401_and_a_missing_scope_is_403(app, session, client):
    reader, token = new_client(session, ["status:read"])
    code = {"code": identifiers.generate_uscc(RNG)}
    missing = client.post(f"{BASE}/status", json=code)
    assert error_of(missing, 401)["code"] == "missing_token"
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="integration"'
    for header in ({"Authorization": "Bearer isk_nottherealtoken"}, {"Authorization": token},
                   {"Authorization": "Basic " + token}):
        response = client.post(f"{BASE}/status", json=code, headers=header)
        assert error_of(response, 401)["code"] in ("invalid_token", "missing_token")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.post(f"{BASE}/status", json=code, headers=auth(token)).status_code == 200
    refused = client.get(f"{BASE}/changes", headers=auth(token))
    error = error_of(refused, 403)
    assert error["code"] == "insufficient_scope" and "changes:read" in error["message"]
    assert 'error="insufficient_scope", scope="changes:read"' in refused.headers["WWW-Authenticate"]
    assert error_of(client.post(f"{BASE}/cases", json=org_body(), headers=auth(token)),
                    403)["code"] == "insufficient_scope"

    integration.revoke_client(session, make_staff(session, Role.ADMIN), reader,
                              clock.now())
    session.commit()
    revoked = client.post(f"{BASE}/status", json=code, headers=auth(token))
    assert error_of(revoked, 401)["code"] == "invalid_token"
    assert 'error="invalid_token"' in revoked.headers["WWW-Authenticate"]

    rows = session.execute(sa.select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.data)
                           .where(AuditEvent.action.in_(["api.call", "api.auth_failed"]))
                           .order_by(AuditEvent.seq)).all()
    assert [(r.action, r.data.get("reason") or r.data.get("status")) for r in rows] == [
        ("api.auth_failed", "missing"), ("api.auth_failed", "invalid"),
        ("api.auth_failed", "missing"), ("api.auth_failed", "missing"),
        ("api.call", 200), ("api.call", 403), ("api.call", 403), ("api.auth_failed", "revoked")]
    assert rows[4].actor_label == f"api:{reader.name}"
    assert token not in audit_text(session)


# --------------------------------------------------------------------------
# POST /cases
# --------------------------------------------------------------------------

def test_create_a_case_then_the_same_reference_is_idempotent(app, session, client):
    writer, token = new_client(session, ["cases:write"], name="sbjf-audit")
    body = org_body("2026-000123")
    created = client.post(f"{BASE}/cases", json=body, headers=auth(token))
    assert created.status_code == 201, created.get_data(as_text=True)
    data = created.get_json()["data"]
    assert data["state"] == "opened" and data["origin"] == "integration" and data["created"] is True
    assert data["external_ref"] == {"system": "sbjf", "record_id": "2026-000123"}
    assert data["subject"] == {"kind": "organisation", "name": "佳木斯市松江建材有限公司",
                               "code": body["subject"]["uscc"]}
    case = session.execute(sa.select(Case)).scalar_one()
    assert case.case_no == data["case_no"] and case.state is CaseState.OPENED
    assert case.origin is CaseOrigin.INTEGRATION and case.assignee_id is None
    assert case.prepared_by_id is None and case.external_ref == f"{writer.id}:sbjf:2026-000123"
    assert str(case.amount) == "23500.50" and case.document_no == "佳社稽〔2026〕8号"
    assert case.department_contact == "0454-12333"
    assert case.subject.legal_representative.id_number == body["subject"]["legal_representative"][
        "id_number"]

    again = client.post(f"{BASE}/cases", json=body, headers=auth(token))
    assert again.status_code == 200 and again.get_json()["data"]["case_no"] == case.case_no
    assert again.get_json()["data"]["created"] is False
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 1

    other_ground = client.post(f"{BASE}/cases", json={**body, "ground": "J2"}, headers=auth(token))
    assert error_of(other_ground, 409)["code"] == "external_ref_conflict"
    second = client.post(f"{BASE}/cases", json=org_body("2026-000124",
                                                        uscc=body["subject"]["uscc"]),
                         headers=auth(token))
    assert second.status_code == 201            # same unit, new record: the subject is reused
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 2
    assert len({c.subject_id for c in session.execute(sa.select(Case)).scalars()}) == 1

    events = session.execute(sa.select(AuditEvent.action, AuditEvent.actor_label, AuditEvent.data)
                             .order_by(AuditEvent.seq)).all()
    mine = [(e.action, e.data.get("status")) for e in events if e.actor_label == "api:sbjf-audit"]
    assert mine == [("subject.create", None), ("case.open", None), ("api.call", 201),
                    ("api.call", 200), ("api.call", 409), ("case.open", None), ("api.call", 201)]
    assert body["subject"]["legal_representative"]["id_number"] not in audit_text(session)
    rep_id = body["subject"]["legal_representative"]["id_number"]
    assert rep_id not in created.get_data(as_text=True)


def test_references_belong_to_the_calling_client(app, session, client):
    """Another client's reference finds nothing of it: no case number, no 409, no squatting."""
    first, first_token = new_client(session, ["cases:write"], name="sbjf-a")
    second, second_token = new_client(session, ["cases:write"], name="sbjf-b")
    body = org_body("R-7")
    mine = client.post(f"{BASE}/cases", json=body, headers=auth(first_token))
    assert mine.status_code == 201, mine.get_data(as_text=True)
    mine = mine.get_json()["data"]

    # the very same body from another client: its own case, not the first client's
    other = client.post(f"{BASE}/cases", json=body, headers=auth(second_token))
    assert other.status_code == 201, other.get_data(as_text=True)
    other = other.get_json()["data"]
    assert other["case_no"] != mine["case_no"] and other["created"] is True
    assert other["external_ref"] == {"system": "sbjf", "record_id": "R-7"}
    # the reference with another unit conflicts with the client's own case only
    conflict = client.post(f"{BASE}/cases", json=org_body("R-7"), headers=auth(second_token))
    assert error_of(conflict, 409)["code"] == "external_ref_conflict"
    assert mine["case_no"] not in conflict.get_data(as_text=True)

    # a reference taken first by another client is still free for its owner
    squat = org_body("R-8")
    assert client.post(f"{BASE}/cases", json=squat, headers=auth(second_token)).status_code == 201
    own = client.post(f"{BASE}/cases", json=org_body("R-8"), headers=auth(first_token))
    assert own.status_code == 201, own.get_data(as_text=True)

    again = client.post(f"{BASE}/cases", json=body, headers=auth(first_token))
    assert again.status_code == 200 and again.get_json()["data"]["case_no"] == mine["case_no"]
    stored = dict(session.execute(sa.select(Case.case_no, Case.external_ref)).all())
    assert stored[mine["case_no"]] == f"{first.id}:sbjf:R-7"
    assert stored[other["case_no"]] == f"{second.id}:sbjf:R-7"
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 4


def test_the_longest_reference_fits_the_column(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    longest = {"system": "s" * 30, "record_id": "r" * 79}
    response = client.post(f"{BASE}/cases", json=org_body(external_ref=longest),
                           headers=auth(token))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["data"]["external_ref"] == longest
    too_long = client.post(f"{BASE}/cases", json=org_body(external_ref={
        "system": "s" * 31, "record_id": "1"}), headers=auth(token))
    assert [(e["field"], e["code"]) for e in error_of(too_long, 422)["errors"]] == [
        ("external_ref.system", "invalid_reference")]


def test_a_number_that_only_looks_like_an_id_is_a_valid_record_id(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    for record_id in ("000000000000000000", "2026-123456789012345678", "991399999999999999"):
        response = client.post(f"{BASE}/cases", json=org_body(record_id), headers=auth(token))
        assert response.status_code == 201, (record_id, response.get_data(as_text=True))


def test_a_person_case_answers_the_masked_number_only(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    number = identifiers.generate_ric(RNG, birth=dt.date(1961, 2, 3))
    response = client.post(f"{BASE}/cases", headers=auth(token), json={
        "external_ref": {"system": "ylbx", "record_id": "P-77"}, "ground": "J2",
        "subject": {"kind": "person", "name": "孙桂兰", "id_number": number},
        "facts": "违规办理参保，从中牟利。", "amount": 28000})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.get_json()["data"]["subject"]["code"] == identifiers.mask_ric(number)
    assert number not in response.get_data(as_text=True) and number not in audit_text(session)


PERSON_ID = identifiers.generate_ric(random.Random(9), birth=dt.date(1984, 7, 9))
FULL_WIDTH_ID = PERSON_ID.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


@pytest.mark.parametrize("change, field, code", [
    (lambda b: b["subject"].update(uscc=wrong_check(b["subject"]["uscc"])), "subject.uscc",
     "invalid_check_digit"),
    (lambda b: b.update(ground="J99"), "ground", "unknown_ground"),
    (lambda b: b.update(amount="-5"), "amount", "invalid_amount"),
    (lambda b: b.update(amount="1.005"), "amount", "invalid_amount"),
    (lambda b: b.update(amount=True), "amount", "invalid_amount"),
    (lambda b: b.update(facts=""), "facts", "required"),
    (lambda b: b.update(legal_rep="x"), "legal_rep", "unknown_field"),
    (lambda b: b["subject"].pop("uscc"), "subject.uscc", "required"),
    (lambda b: b["subject"]["legal_representative"].update(id_number=wrong_check(
        b["subject"]["legal_representative"]["id_number"])),
     "subject.legal_representative.id_number", "invalid_check_digit"),
    (lambda b: b["subject"].update(kind="company"), "subject.kind", "invalid_value"),
    (lambda b: b.update(external_ref={"system": "sb jf", "record_id": "1"}),
     "external_ref.system", "invalid_reference"),
    (lambda b: b.pop("external_ref"), "external_ref", "required"),
    (lambda b: b["subject"].update(org_code="12345678X"), "subject.org_code", None),
    (lambda b: b["external_ref"].update(record_id=PERSON_ID), "external_ref.record_id",
     "contains_id_number"),
    (lambda b: b["external_ref"].update(record_id=f"ZJ-{PERSON_ID}-01"),
     "external_ref.record_id", "contains_id_number"),
    (lambda b: b["external_ref"].update(record_id=f"P{PERSON_ID}"), "external_ref.record_id",
     "contains_id_number"),
    (lambda b: b["external_ref"].update(system=f"s{PERSON_ID}"), "external_ref.system",
     "contains_id_number"),
    (lambda b: b.update(facts=f"经查，参保人（身份证号{PERSON_ID}）冒领待遇。"), "facts",
     "contains_id_number"),
    (lambda b: b.update(reasons=f"身份证号 {FULL_WIDTH_ID} 的人员。"), "reasons",
     "contains_id_number"),
])
def test_invalid_fields_are_422_with_the_field_and_a_message(app, session, client, change, field,
                                                             code):
    _writer, token = new_client(session, ["cases:write"])
    body = org_body()
    change(body)
    error = error_of(client.post(f"{BASE}/cases?lang=en", json=body, headers=auth(token)), 422)
    assert error["code"] == "invalid_fields"
    found = {e["field"]: e for e in error["errors"]}
    assert field in found, error
    if code:
        assert found[field]["code"] == code
    assert found[field]["message"] and not re.search(r"\d{15}", json.dumps(error))
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0


def test_ground_not_for_the_kind_and_person_fields_are_refused_together(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    body = {"external_ref": {"system": "sbjf", "record_id": "9"}, "ground": "J1",   # J1: units only
            "subject": {"kind": "person", "name": "李四", "uscc": identifiers.generate_uscc(RNG),
                        "id_number": identifiers.generate_ric(RNG)},
            "facts": "x"}
    error = error_of(client.post(f"{BASE}/cases", json=body, headers=auth(token)), 422)
    codes = {(e["field"], e["code"]) for e in error["errors"]}
    assert codes == {("ground", "ground_not_for_kind"), ("subject.uscc", "not_for_kind")}
    assert all(e["message"] for e in error["errors"])
    assert error_of(client.post(f"{BASE}/cases", data="not json", headers={
        **auth(token), "Content-Type": "application/json"}), 400)["code"] == "invalid_json"
    audited = session.execute(sa.select(AuditEvent.data).where(AuditEvent.action == "api.call")
                              .order_by(AuditEvent.seq)).scalars().all()
    assert audited[0]["status"] == 422 and audited[0]["fields"] == ["subject.uscc", "ground"]


# --------------------------------------------------------------------------
# POST /status
# --------------------------------------------------------------------------

def status_of(client, token, code):
    response = client.post(f"{BASE}/status", json={"code": code}, headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    return response


def test_status_of_listed_pending_unknown_and_red_listed_units(app, session, client):
    _reader, token = new_client(session, ["status:read"])
    listed = published_case(session, app, decided_on=dt.date(2026, 3, 16))
    pending, _code = pre_noticed_case(session, served_on=dt.date(2026, 9, 28))
    red = red_list_entry(session, app)
    session.commit()

    body = status_of(client, token, listed.subject.uscc.lower()).get_json()
    assert body["warning"] == "block" and body["listed"] is True
    assert body["query"] == {"kind": "uscc", "code_masked": listed.subject.uscc}
    [item] = body["listings"]
    assert item["case_no"] == listed.case_no and item["state"] == "published"
    assert item["severity"] == "serious" and item["measures"] == ["JM1"]
    assert item["leaves_list_on"] == listed.leaves_list_on.isoformat() and item["ground_code"] == listed.ground
    assert item["term_last_day"] == listed.term_last_day.isoformat() and "term_end" not in item

    body = status_of(client, token, pending.subject.uscc).get_json()
    assert body["warning"] == "flag" and body["warning_reasons"] == ["pending_procedure"]
    assert body["pending"][0]["state"] == "pre_noticed" and body["listings"] == []
    assert body["pending"][0]["defence_due_on"] == pending.defence_due_on.isoformat()

    body = status_of(client, token, identifiers.generate_uscc(random.Random(99))).get_json()
    assert body["warning"] == "none" and body["known_subject"] is False
    assert body["listings"] == body["pending"] == body["red_list"] == []

    body = status_of(client, token, red.code_display).get_json()
    assert body["warning"] == "none"
    assert [r["public_id"] for r in body["red_list"]] == [red.public_id]
    # an old organisation code finds the same unit
    old = status_of(client, token, identifiers.org_code_from_uscc(listed.subject.uscc)).get_json()
    assert old["query"]["kind"] == "org_code" and old["warning"] == "block"


def test_status_of_persons_shows_masked_numbers_only(app, session, client):
    _reader, token = new_client(session, ["status:read"])
    person = published_case(session, app, profile_code="zhengzhou", ground="ZP1",
                            kind=SubjectKind.PERSON)                    # not published publicly
    org = published_case(session, app)
    hashed(person.subject), hashed(org.subject)
    session.commit()
    full = person.subject.id_number
    response = status_of(client, token, f"{full[:6]} {full[6:14]} {full[14:]}")
    body = response.get_json()
    assert body["warning"] == "block" and body["query"]["code_masked"] == identifiers.mask_ric(full)
    assert body["listings"][0]["subject"]["code"] == identifiers.mask_ric(full)
    assert full not in response.get_data(as_text=True) and full[6:14] not in response.get_data(
        as_text=True)
    rep = org.subject.legal_representative.id_number
    linked = status_of(client, token, rep).get_json()
    assert linked["warning"] == "flag" and linked["warning_reasons"] == [
        "related_person_of_listed_subject"]
    assert linked["related_listings"][0]["role"] == "legal_representative"
    assert linked["related_listings"][0]["subject"]["code"] == org.subject.uscc
    stored = audit_text(session)
    assert full not in stored and rep not in stored and identifiers.mask_ric(full) in stored
    calls = session.execute(sa.select(AuditEvent.data).where(AuditEvent.action == "api.call")
                            .order_by(AuditEvent.seq)).scalars().all()
    assert [c["warning"] for c in calls] == ["block", "flag"] and calls[0]["code_hash"]


def test_status_after_removal_and_for_bad_codes(app, session, client):
    _reader, token = new_client(session, ["status:read"])
    case = published_case(session, app)
    remove_published(session, case, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    annulled = published_case(session, app)
    remove_published(session, annulled, RemovalReason.REVOKED, dt.date(2026, 5, 21))
    decided, _code = listed_case(session, app, publish=False, decided_on=dt.date(2026, 9, 1))
    session.commit()
    body = status_of(client, token, case.subject.uscc).get_json()
    if clock.today() - dt.date(2026, 5, 20) < dt.timedelta(days=365):
        assert body["recently_removed"][0]["removal_reason"] == "rectified"
    assert body["warning"] == "none" and body["listed"] is False
    assert status_of(client, token, annulled.subject.uscc).get_json()["recently_removed"] == []
    decided_body = status_of(client, token, decided.subject.uscc).get_json()
    assert decided_body["warning"] == "block"
    assert decided_body["listings"][0]["state"] == "decided"
    assert decided_body["listings"][0]["published_on"] is None

    uscc = identifiers.generate_uscc(RNG)
    wrong = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    for payload, code in (({"code": wrong}, "invalid_identifier"), ({}, "invalid_fields"),
                          ({"code": 5}, "invalid_fields"), ({"number": uscc}, "invalid_fields")):
        response = client.post(f"{BASE}/status", json=payload, headers=auth(token))
        error = error_of(response, 422)
        assert error["code"] == code and wrong not in response.get_data(as_text=True)
    assert error_of(client.get(f"{BASE}/status?code={uscc}", headers=auth(token)),
                    405)["code"] == "method_not_allowed"


# --------------------------------------------------------------------------
# Rate limit, OpenAPI
# --------------------------------------------------------------------------

def test_calls_are_limited_per_client(app, database_url, tmp_path):
    limited = create_app({**config.testing(database_url, tmp_path), "RATELIMIT_ENABLED": True,
                          "RATELIMIT_STORAGE_URI": "memory://",
                          "PORTAL_INTEGRATION_RATE_LIMIT": "3/minute"})
    try:
        with limited.app_context():
            if database_url.startswith("sqlite"):
                db.create_all()
            first_client, first = new_client(db.session, ["status:read", "changes:read"])
            _other_client, second = new_client(db.session, ["status:read"])
        web = limited.test_client()
        code = {"code": identifiers.generate_uscc(RNG)}
        answers = [web.post(f"{BASE}/status", json=code, headers=auth(first)) for _ in range(2)]
        answers.append(web.get(f"{BASE}/changes", headers=auth(first)))     # one budget for all
        answers.append(web.post(f"{BASE}/status", json=code, headers=auth(first)))
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        error = error_of(answers[-1], 429)
        assert error["code"] == "rate_limited" and "Retry-After" in answers[-1].headers
        assert web.post(f"{BASE}/status", json=code, headers=auth(second)).status_code == 200
    finally:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def test_openapi_document_describes_the_integration_routes(app, client):
    spec = client.get(f"{BASE}/openapi.json").get_json()
    validate(spec)
    routes = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("integration."):
            methods = (rule.methods or set()) - {"HEAD", "OPTIONS"}
            path = re.sub(r"<(?:[^:<>]+:)?([a-z_]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes[path] = routes.get(path, set()) | methods
    assert "/integration/watchlists/{watchlist_id}/alerts" in routes
    for path, methods in routes.items():
        assert {m.lower() for m in methods} == set(spec["paths"][path]), path
    assert spec["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    for path, item in spec["paths"].items():
        if not path.startswith("/integration/") or path == "/integration/openapi.json":
            continue
        for operation in item.values():
            [requirement] = operation["security"]
            assert requirement["bearerToken"][0] in integration.SCOPES
            assert "401" in operation["responses"] and "403" in operation["responses"]
    assert "block" in json.dumps(spec["components"]["schemas"]["IntegrationStatus"])
    request = spec["components"]["schemas"]["IntegrationCaseRequest"]["properties"]
    assert request["external_ref"]["properties"]["system"]["pattern"].endswith("{0,29}$")
    assert "scoped to the calling API client" in request["external_ref"]["description"]
    assert "contains_id_number" in request["facts"]["description"]
    assert "belongs to the calling client" in spec["paths"]["/integration/cases"]["post"][
        "description"]
    public = client.get("/api/v1/openapi.json").get_json()
    assert set(public["paths"]) <= set(spec["paths"])


def test_how_far_back_a_removal_is_recent_is_the_bureaus_setting(app, session, client, time_machine):
    _reader, token = new_client(session, ["status:read"])
    case = published_case(session, app)
    remove_published(session, case, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    session.commit()
    bureau_day(time_machine, dt.date(2026, 6, 19))     # 30 days later
    assert app.config["PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS"] == 365     # the default
    assert len(status_of(client, token, case.subject.uscc).get_json()["recently_removed"]) == 1
    app.config["PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS"] = 30     # removed exactly 30 days ago: not within
    assert status_of(client, token, case.subject.uscc).get_json()["recently_removed"] == []
    app.config["PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS"] = 31
    assert len(status_of(client, token, case.subject.uscc).get_json()["recently_removed"]) == 1


def test_an_internal_error_is_a_json_500_and_still_audited(app, session, client, monkeypatch):
    _reader, token = new_client(session, ["status:read"])

    def broken(*args):
        raise RuntimeError("database went away")

    monkeypatch.setattr("portal.api.integration.reads.status", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = client.post(f"{BASE}/status", json={"code": identifiers.generate_uscc(RNG)},
                           headers=auth(token))
    error = error_of(response, 500)
    assert error["code"] == "internal_error" and "database" not in error["message"]
    call = session.execute(sa.select(AuditEvent.data).where(AuditEvent.action == "api.call")
                           ).scalar_one()
    assert call == {"endpoint": "status", "status": 500, "error": "internal_error"}


def test_a_body_larger_than_64_kib_is_refused(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    big = org_body(facts="事" * 30000)                  # 90 000 bytes of UTF-8
    response = client.post(f"{BASE}/cases", json=big, headers=auth(token))
    assert error_of(response, 413)["code"] == "body_too_large"
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0


def test_status_carries_the_credit_grade_of_a_finding_that_counts(app, session, client):
    from portal.rules.profiles import load_profile
    from portal.services import grades
    from tests.factories import make_staff, make_subject

    _reader, token = new_client(session, ["status:read"])
    unit = make_subject(session, name="郑州市某某建筑有限公司")
    found_on = clock.today() - dt.timedelta(days=30)   # a general finding counts 1 year
    grades.record_finding(session, make_staff(session, Role.CLERK), load_profile("zhengzhou"),
                          unit, grades.FindingInput(code="ZG2", found_on=found_on,
                                                    facts="拖欠社会保险费8个月。", months=8),
                          found_on)
    session.commit()
    body = status_of(client, token, unit.uscc).get_json()
    assert body["warning"] == "flag" and body["warning_reasons"] == ["credit_grade"]
    assert body["credit_grade"]["grade"] == "general"
    assert body["credit_grade"]["behaviours"] == ["ZG2"] and body["credit_grade"]["profile"] == "zhengzhou"
    assert body["listed"] is False
    other = status_of(client, token, identifiers.generate_uscc(random.Random(5))).get_json()
    assert other["credit_grade"] is None


def test_a_case_below_its_grounds_threshold_is_refused_citing_it(app, session, client):
    """000 art. 5(三): ¥5,000 not returned when ordered is below the threshold of J3."""
    _writer, token = new_client(session, ["cases:write"])
    number = identifiers.generate_ric(RNG, birth=dt.date(1958, 3, 4))
    body = {"external_ref": {"system": "ylbx", "record_id": "P-5000"}, "ground": "J3",
            "subject": {"kind": "person", "name": "钱玉兰", "id_number": number},
            "facts": "骗取养老保险待遇。", "amount": "5000"}
    error = error_of(client.post(f"{BASE}/cases", json=body, headers=auth(token)), 422)
    assert error["errors"] == [{"field": "amount", "code": "below_threshold", "message":
                                "第五条第（三）项要求金额超过1万元（或虽未达到1万元但经责令退回仍拒不退回）；"
                                "本案金额为5,000元。"}]
    english = client.post(f"{BASE}/cases?lang=en", json={**body, "amount": None}, headers=auth(token))
    assert error_of(english, 422)["errors"][0]["message"] == (
        "Article 5 item (3) requires an amount over ¥10,000 (or: below ¥10,000 but not returned "
        "despite an order to return it); in this case no amount is given.")
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 0
    bad = client.post(f"{BASE}/cases", json={**body, "months": -1, "alternative_met": "yes"},
                      headers=auth(token))
    assert {e["code"] for e in error_of(bad, 422)["errors"]} == {"invalid_count", "invalid_type"}
    accepted = client.post(f"{BASE}/cases", json={**body, "alternative_met": True}, headers=auth(token))
    assert accepted.status_code == 201, accepted.get_data(as_text=True)
    assert session.execute(sa.select(Case.alternative_met)).scalar_one() is True


def test_the_kind_of_unit_is_recorded_from_the_api(app, session, client):
    _writer, token = new_client(session, ["cases:write"])
    body = org_body("R-UK")
    body["subject"]["unit_kind"] = "hospital"
    assert error_of(client.post(f"{BASE}/cases", json=body, headers=auth(token)), 422)["errors"][0][
        "field"] == "subject.unit_kind"
    body["subject"]["unit_kind"] = "medical_institution"
    assert client.post(f"{BASE}/cases", json=body, headers=auth(token)).status_code == 201
    assert session.execute(sa.select(Case)).scalar_one().subject.unit_kind == "medical_institution"
    number = identifiers.generate_ric(RNG, birth=dt.date(1961, 2, 3))
    person = client.post(f"{BASE}/cases", headers=auth(token), json={
        "external_ref": {"system": "ylbx", "record_id": "P-UK"}, "ground": "J5",
        "subject": {"kind": "person", "name": "孙桂兰", "id_number": number, "unit_kind": "pharmacy"},
        "facts": "泄露个人权益记录。"})
    assert error_of(person, 422)["errors"][0] == {
        "field": "subject.unit_kind", "code": "not_for_kind",
        "message": "该字段不适用于此类主体。"}


@pytest.mark.parametrize("change", [
    {"facts": "经稽核，该单位少报缴费基数三个月。"}, {"amount": "23500.51"}, {"reasons": "另有说明"},
    {"document_no": "佳社稽〔2026〕9号"}, {"department_contact": "0454-8888888"},
    {"months": 7}, {"person_times": 30}, {"alternative_met": True},
])
def test_a_reused_reference_with_another_body_is_409(app, session, client, change):
    _writer, token = new_client(session, ["cases:write"])
    body = org_body("R-409")
    assert client.post(f"{BASE}/cases", json=body, headers=auth(token)).status_code == 201
    same = client.post(f"{BASE}/cases", json=body, headers=auth(token))
    assert same.status_code == 200 and same.get_json()["data"]["created"] is False
    changed = client.post(f"{BASE}/cases", json={**body, **change}, headers=auth(token))
    assert error_of(changed, 409)["code"] == "external_ref_conflict"
    renamed = {**body, "subject": {**body["subject"], "name": "佳木斯市另一家建材有限公司"}}
    assert error_of(client.post(f"{BASE}/cases", json=renamed, headers=auth(token)),
                    409)["code"] == "external_ref_conflict"
    assert session.scalar(sa.select(sa.func.count(Case.id))) == 1
    again = client.post(f"{BASE}/cases", json=body, headers=auth(token))
    assert again.status_code == 200                                # still idempotent
