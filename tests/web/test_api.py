"""The public JSON API at /api/v1 through the test client, on both databases."""
import datetime as dt
import random
import re

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from portal import clock, config, create_app
from portal.extensions import db
from portal.models import OutboxEvent, PublishedEntry, SubjectKind
from portal.rules import identifiers
from portal.rules.profiles import load_profile
from portal.rules.workflow import RemovalReason
from portal.services import publication
from tests.factories import count_queries, published_case, remove_published

KEY = "test-lookup-key"


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()["error"]


# --------------------------------------------------------------------------
# /entries
# --------------------------------------------------------------------------

def test_entries_list_filters_and_pagination(app, session, client):
    org = published_case(session, app, ground="J1", decided_on=dt.date(2026, 3, 16))
    person = published_case(session, app, kind=SubjectKind.PERSON, decided_on=dt.date(2025, 6, 2))
    old = published_case(session, app, ground="J3", decided_on=dt.date(2025, 1, 6))
    session.commit()
    with count_queries() as statements:
        page = client.get("/api/v1/entries")
    assert len(statements) == 3                       # publication version + counts + page
    with count_queries() as statements:
        page = client.get("/api/v1/entries")
    assert len(statements) == 1                       # the front cache: the publication version only
    body = page.get_json()
    assert page.headers["Cache-Control"] == "public, max-age=60"
    assert [e["name"] for e in body["data"]] == [org.subject.name, person.subject.name, old.subject.name]
    assert body["meta"] == {"page": 1, "per_page": 20, "total": 3, "pages": 1}
    first = body["data"][0]
    assert first["status"] == "listed" and first["listed_on"] == "2026-03-16"
    assert first["legal_representative"]["id_number_masked"] == identifiers.mask_ric(
        org.subject.legal_representative.id_number)

    def names(query):
        return [e["name"] for e in client.get("/api/v1/entries?" + query).get_json()["data"]]

    assert names("ground=J3") == [old.subject.name]
    assert names("subject_kind=person") == [person.subject.name]
    assert names("year=2025") == [person.subject.name, old.subject.name]
    assert names("severity=serious&year=2026") == [org.subject.name]
    assert names("department=" + org.department) == [org.subject.name, person.subject.name, old.subject.name]
    assert names("department=别的部门") == []
    two = client.get("/api/v1/entries?per_page=2&page=2").get_json()
    assert [e["name"] for e in two["data"]] == [old.subject.name]
    assert two["meta"] == {"page": 2, "per_page": 2, "total": 3, "pages": 2}
    assert two["links"]["prev"] == "http://localhost/api/v1/entries?per_page=2&page=1"
    assert two["links"]["next"] is None
    beyond = client.get("/api/v1/entries?page=9").get_json()
    assert beyond["data"] == [] and beyond["meta"]["total"] == 3


@pytest.mark.parametrize("query, code, field", [
    ("page=0", "out_of_range", "page"),
    ("page=-1", "out_of_range", "page"),
    ("page=abc", "invalid_integer", "page"),
    ("page=99999999999999999999", "invalid_integer", "page"),
    ("per_page=0", "out_of_range", "per_page"),
    ("per_page=101", "out_of_range", "per_page"),
    ("per_page=1000", "out_of_range", "per_page"),
    ("per_page=1e3", "invalid_integer", "per_page"),
    ("year=abc", "invalid_integer", "year"),
    ("year=20261", "out_of_range", "year"),
    ("ground=J99", "invalid_value", "ground"),
    ("subject_kind=company", "invalid_value", "subject_kind"),
    ("severity=huge", "invalid_value", "severity"),
    ("department=" + "部" * 121, "too_long", "department"),
    ("per-page=5", "unknown_parameter", "per-page"),
])
def test_bad_parameters_are_400_json(client, query, code, field):
    error = error_of(client.get("/api/v1/entries?" + query), 400)
    assert error["code"] == code and error["field"] == field and error["message"]


def test_error_messages_are_chinese_by_default_and_english_on_request(client):
    zh = error_of(client.get("/api/v1/entries?ground=J99"), 400)
    assert zh["allowed"] == [g.code for g in load_profile("jiamusi").grounds]
    en = error_of(client.get("/api/v1/entries?ground=J99&lang=en"), 400)
    assert en["message"] == "ground must be one of the allowed values."
    missing = error_of(client.get("/api/v1/check?lang=en"), 400)
    assert missing["code"] == "missing_parameter" and missing["field"] == "code"


def test_one_entry(app, session, client):
    case = published_case(session, app)
    session.commit()
    pid = session.execute(sa.select(PublishedEntry.public_id)).scalar_one()
    with count_queries() as statements:
        data = client.get(f"/api/v1/entries/{pid}").get_json()["data"]
    assert len(statements) == 2             # the publication version first: the answer is kept
    with count_queries() as statements:
        assert client.get(f"/api/v1/entries/{pid}").get_json()["data"] == data
    assert len(statements) == 1             # by the front cache: the publication version only
    assert data["public_id"] == pid and data["name"] == case.subject.name
    assert data["url"] == f"http://localhost/entries/{pid}"
    assert data["facts"] == case.facts and data["document_no"] == case.document_no
    assert data["term_last_day"] == case.term_last_day.isoformat() and "term_end" not in data
    assert data["leaves_list_on"] == case.leaves_list_on.isoformat() and data["removed_on"] is None
    remove_published(session, case, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    session.commit()
    data = client.get(f"/api/v1/entries/{pid}").get_json()["data"]
    assert data["status"] == "removed" and data["removed_on"] == "2026-05-20"
    assert data["removal_reason"] == "rectified" and data["removal_reason_text"] == "按期整改到位"
    assert client.get("/api/v1/entries").get_json()["data"] == []       # not on the current list


def test_unknown_hidden_and_repaired_entries_are_404_json(app, session, client):
    hidden = published_case(session, app, profile_code="zhengzhou", ground="ZP1", kind=SubjectKind.PERSON)
    repaired = published_case(session, app)
    session.commit()
    hidden_id = session.execute(sa.select(PublishedEntry.public_id).where(
        PublishedEntry.case_id == hidden.id)).scalar_one()
    repaired_id = session.execute(sa.select(PublishedEntry.public_id).where(
        PublishedEntry.case_id == repaired.id)).scalar_one()
    remove_published(session, repaired, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 1))
    session.commit()
    for pid in ("E0000000000", hidden_id, "x" * 300):
        error = error_of(client.get(f"/api/v1/entries/{pid}"), 404)
        assert error["code"] == "not_found"
    # a withdrawn entry is gone, not unknown: 410 with the day and the reason of its withdrawal
    error = error_of(client.get(f"/api/v1/entries/{repaired_id}"), 410)
    assert (error["code"], error["withdrawn_on"], error["reason"]) == (
        "withdrawn", "2026-09-01", "credit_repaired")
    assert client.get("/api/v1/entries").get_json()["meta"]["total"] == 0


# --------------------------------------------------------------------------
# /removals
# --------------------------------------------------------------------------

def test_removals_list_and_reason_filter(app, session, client):
    a, b = published_case(session, app), published_case(session, app)
    hidden = published_case(session, app, profile_code="zhengzhou", ground="ZP1", kind=SubjectKind.PERSON)
    remove_published(session, a, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    remove_published(session, b, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 6, 20))  # window open
    remove_published(session, hidden, RemovalReason.REVOKED, dt.date(2026, 7, 1))
    session.commit()
    with count_queries() as statements:
        body = client.get("/api/v1/removals").get_json()
    assert len(statements) == 3                       # publication version + count + page
    with count_queries() as statements:
        body = client.get("/api/v1/removals").get_json()
    assert len(statements) == 1                       # the front cache: the publication version only
    assert [r["name"] for r in body["data"]] == [b.subject.name, a.subject.name]   # hidden person left out
    assert body["data"][0]["reason_text_en"] == "Credit repaired" and body["data"][0]["entry_url"] is None
    only = client.get("/api/v1/removals?reason=rectified").get_json()["data"]
    assert [r["name"] for r in only] == [a.subject.name] and only[0]["removed_on"] == "2026-05-20"
    assert client.get("/api/v1/removals?year=2025").get_json()["data"] == []
    assert error_of(client.get("/api/v1/removals?reason=bribed"), 400)["allowed"] == [
        r.value for r in RemovalReason]


# --------------------------------------------------------------------------
# /check
# --------------------------------------------------------------------------

def test_check_by_uscc_and_by_identity_number(app, session, client):
    org = published_case(session, app)
    person = published_case(session, app, kind=SubjectKind.PERSON)
    session.commit()
    uscc = org.subject.uscc
    with count_queries() as statements:
        response = client.get(f"/api/v1/check?code={uscc.lower()}")
    assert len(statements) == 2 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["query"] == {"kind": "uscc", "code_masked": org.subject.uscc}
    assert body["listed"] is True and [e["name"] for e in body["entries"]] == [org.subject.name]
    full = person.subject.id_number
    spaced = f"{full[:6]} {full[6:14]} {full[14:]}"
    response = client.get("/api/v1/check", query_string={"code": spaced})
    body = response.get_json()
    assert body["query"] == {"kind": "ric", "code_masked": identifiers.mask_ric(full)}
    assert body["entries"][0]["code"] == identifiers.mask_ric(full)
    assert full not in response.get_data(as_text=True) and full[6:14] not in response.get_data(as_text=True)
    unknown = client.get(f"/api/v1/check?code={identifiers.generate_uscc(random.Random(7))}")
    assert unknown.get_json()["listed"] is False and unknown.get_json()["entries"] == []


def test_check_discloses_unpublished_persons_and_removals_but_without_a_page(app, session, client):
    hidden = published_case(session, app, profile_code="zhengzhou", ground="ZP1", kind=SubjectKind.PERSON)
    org = published_case(session, app)
    remove_published(session, org, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    session.commit()
    body = client.get(f"/api/v1/check?code={hidden.subject.id_number}").get_json()
    assert body["listed"] is True and body["entries"][0]["url"] is None
    assert body["entries"][0]["code"] == identifiers.mask_ric(hidden.subject.id_number)
    body = client.get(f"/api/v1/check?code={org.subject.uscc}").get_json()
    assert body["listed"] is False and body["entries"] == []
    assert [r["reason"] for r in body["removals"]] == ["rectified"]
    assert body["removals"][0]["entry_url"].startswith("http://localhost/entries/")


def test_check_rejects_invalid_codes_with_a_reason(app, session, client):
    good = identifiers.generate_ric(random.Random(3), birth=dt.date(1980, 1, 2))
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    error = error_of(client.get(f"/api/v1/check?code={wrong}"), 400)
    assert error == {"code": "invalid_check_digit", "field": "code", "message": error["message"]}
    assert wrong not in error["message"]
    english = error_of(client.get(f"/api/v1/check?code={wrong}&lang=en"), 400)
    assert english["message"].startswith("The check character")
    assert error_of(client.get("/api/v1/check?code=12345"), 400)["code"] == "invalid_length"
    uscc = identifiers.generate_uscc(random.Random(5))
    bad_uscc = uscc[:17] + ("0" if uscc[17] != "0" else "1")
    assert error_of(client.get(f"/api/v1/check?code={bad_uscc}"), 400)["code"] == "invalid_check_digit"
    assert error_of(client.get("/api/v1/check?code=" + "9" * 300), 400)["code"] == "invalid_length"
    org_code = identifiers.org_code_from_uscc(uscc)         # valid, but not what subjects are hashed by
    assert error_of(client.get(f"/api/v1/check?code={org_code}"), 400)["code"] == "unsupported_identifier"
    letters = "91230800MAPCF4225I"                             # I is not in the USCC alphabet
    assert error_of(client.get(f"/api/v1/check?code={letters}"), 400)["code"] == "invalid_identifier"
    assert error_of(client.get("/api/v1/check?code="), 400)["code"] == "missing_parameter"


def test_check_is_rate_limited(app, database_url, tmp_path):
    limited = create_app({**config.testing(database_url, tmp_path), "RATELIMIT_ENABLED": True,
                          "PORTAL_API_CHECK_LIMIT": "3/minute"})
    client = limited.test_client()
    code = identifiers.generate_uscc(random.Random(11))
    try:
        answers = [client.get(f"/api/v1/check?code={code}") for _ in range(4)]
    finally:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    error = error_of(answers[-1], 429)
    assert error["code"] == "rate_limited" and "Retry-After" in answers[-1].headers
    other = limited.test_client().get("/api/v1/entries/E0000000000")       # other endpoints: no limit
    assert other.status_code == 404


# --------------------------------------------------------------------------
# /changes
# --------------------------------------------------------------------------

def test_change_feed_cursor_semantics(app, session, client):
    first = published_case(session, app)
    second = published_case(session, app, kind=SubjectKind.PERSON)
    session.commit()
    with count_queries() as statements:
        body = client.get("/api/v1/changes").get_json()
    assert len(statements) == 1
    assert [(c["type"], c["data"]["name"], c["deleted"]) for c in body["data"]] == [
        ("entry", first.subject.name, False), ("entry", second.subject.name, False)]
    assert body["has_more"] is False and re.fullmatch(r"c1\.[A-Za-z0-9_-]+", body["next_cursor"])
    assert set(body["data"][0]) == {"type", "public_id", "changed_at", "deleted", "data"}
    first_id, cursor = body["data"][0]["public_id"], body["next_cursor"]
    assert client.get(f"/api/v1/changes?since={cursor}").get_json()["data"] == []

    third = published_case(session, app)
    session.commit()
    body = client.get(f"/api/v1/changes?since={cursor}").get_json()
    assert [c["data"]["name"] for c in body["data"]] == [third.subject.name]
    cursor = body["next_cursor"]

    remove_published(session, first, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 1))
    session.commit()
    changes = client.get(f"/api/v1/changes?since={cursor}").get_json()["data"]
    assert [(c["type"], c["deleted"]) for c in changes] == [("entry", True), ("removal", False)]
    assert changes[0] == {"type": "entry", "public_id": first_id, "deleted": True,
                          "changed_at": changes[0]["changed_at"], "withdrawn_on": "2026-09-01",
                          "reason": "credit_repaired"}
    assert changes[1]["data"]["reason"] == "credit_repaired" and changes[1]["data"]["entry_public_id"] is None
    full = second.subject.id_number
    everything = client.get("/api/v1/changes?limit=1000").get_data(as_text=True)
    assert full not in everything and identifiers.mask_ric(full) in everything


def test_change_feed_pages_and_reports_each_record_once_per_page(app, session, client):
    case = published_case(session, app)
    publication.set_objection_marker(session, case, True)
    publication.set_objection_marker(session, case, False)
    other = published_case(session, app)
    session.commit()
    whole = client.get("/api/v1/changes").get_json()["data"]
    assert [c["data"]["name"] for c in whole] == [case.subject.name, other.subject.name]
    page = client.get("/api/v1/changes?limit=2").get_json()
    assert len(page["data"]) == 1 and page["has_more"] is True
    rest = client.get(f"/api/v1/changes?limit=2&since={page['next_cursor']}").get_json()
    assert [c["data"]["name"] for c in rest["data"]] == [case.subject.name, other.subject.name]
    assert rest["has_more"] is False and rest["data"][0]["data"]["under_objection"] is False


def test_change_feed_waits_for_a_young_gap(app, session, client):
    case = published_case(session, app)
    session.commit()
    pid = session.execute(sa.select(PublishedEntry.public_id)).scalar_one()
    body = client.get("/api/v1/changes").get_json()
    last = session.scalar(sa.select(sa.func.max(OutboxEvent.id)))
    # id last+1 is "still in flight" (not committed); last+2 is committed and young
    session.add(OutboxEvent(id=last + 2, topic="entry", action="upsert", public_id=pid))
    session.commit()
    held = client.get(f"/api/v1/changes?since={body['next_cursor']}").get_json()
    assert held["data"] == [] and held["next_cursor"] == body["next_cursor"]
    # once the row after the gap is old, the gap is a rolled-back id and is skipped
    session.execute(sa.update(OutboxEvent).where(OutboxEvent.id == last + 2).values(
        created_at=clock.now() - dt.timedelta(minutes=5)))
    session.commit()
    moved = client.get(f"/api/v1/changes?since={body['next_cursor']}").get_json()
    assert [c["public_id"] for c in moved["data"]] == [pid] and moved["data"][0]["data"]["name"] == case.subject.name


@pytest.mark.parametrize("query, code, field", [
    ("since=42", "invalid_cursor", "since"),
    ("since=c1.!!", "invalid_cursor", "since"),
    ("since=c1.YWJj", "invalid_cursor", "since"),           # base64 of "abc"
    ("limit=0", "out_of_range", "limit"),
    ("limit=1001", "out_of_range", "limit"),
    ("limit=x", "invalid_integer", "limit"),
])
def test_change_feed_bad_parameters(client, query, code, field):
    error = error_of(client.get("/api/v1/changes?" + query), 400)
    assert (error["code"], error["field"]) == (code, field)


# --------------------------------------------------------------------------
# Errors, OpenAPI
# --------------------------------------------------------------------------

def test_unknown_addresses_and_methods_are_json(client):
    assert error_of(client.get("/api/v1/nothing/here"), 404)["code"] == "not_found"
    assert error_of(client.get("/api/v1"), 404)["code"] == "not_found"
    wrong = client.post("/api/v1/entries")
    assert error_of(wrong, 405)["code"] == "method_not_allowed"
    assert "GET" in wrong.headers["Allow"]
    assert client.get("/nothing/here").headers["Content-Type"].startswith("text/html")  # site pages stay HTML


def test_an_internal_error_is_a_json_500(app, client, monkeypatch):
    def broken(*args):
        raise RuntimeError("database went away")

    monkeypatch.setattr("portal.api.views.queries.entry_by_public_id", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    error = error_of(client.get("/api/v1/entries/E0000000000"), 500)
    assert error["code"] == "internal_error" and "database" not in error["message"]


def test_api_needs_no_csrf_token_and_refuses_writes_even_with_csrf_enabled(app, database_url, tmp_path):
    strict = create_app({**config.testing(database_url, tmp_path), "WTF_CSRF_ENABLED": True})
    client = strict.test_client()
    try:
        assert client.get("/api/v1/entries").status_code == 200
        assert error_of(client.post("/api/v1/check?code=1"), 405)["code"] == "method_not_allowed"
        assert error_of(client.delete("/api/v1/entries/E0000000000"), 405)["code"] == "method_not_allowed"
    finally:
        with strict.app_context():
            db.session.remove()
            db.engine.dispose()


def test_openapi_document_validates_and_matches_the_routes(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    assert spec["servers"] == [{"url": "http://localhost/api/v1"}]
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")
    }
    assert routes == set(spec["paths"])
    for path, item in spec["paths"].items():
        method = "post" if path == "/screen" else "get"     # one JSON body: batch screening
        assert set(item) == {method}, path
        responses = item[method]["responses"]
        assert "200" in responses and "405" in responses, path
    assert "429" in spec["paths"]["/check"]["get"]["responses"]
    assert "429" in spec["paths"]["/check/on-day"]["get"]["responses"]
    screen = spec["paths"]["/screen"]["post"]
    assert {"413", "422", "429"} <= set(screen["responses"])
    body = screen["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/ScreenRequest")
