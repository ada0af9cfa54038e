"""The API's look-ups beyond /check: /check/on-day (the publication history) and POST /screen
(up to 1,000 names and codes), with masked codes only, validated bodies and per-address limits."""
import datetime as dt
import io
import json
import random

import pytest

from portal import config, create_app
from portal.extensions import db
from portal.models import SubjectKind
from portal.rules import identifiers
from portal.rules.workflow import RemovalReason
from portal.services import screening
from tests.factories import make_subject, published_case, remove_published
from tests.web.test_api import error_of
from tests.web.test_check_on_a_day import NAME, TODAY, rectified, today  # noqa: F401 (fixtures)

ON_DAY = "/api/v1/check/on-day"


def on_day(client, code, day, **more):
    return client.get(ON_DAY, query_string={"code": code, "date": day, **more})


# --------------------------------------------------------------------------
# /check/on-day
# --------------------------------------------------------------------------

def test_a_day_within_after_and_before_a_listing(rectified, client):  # noqa: F811
    uscc = rectified.subject.uscc
    answer = on_day(client, uscc, "2026-04-01")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["query"] == {"kind": "uscc", "code_masked": uscc}
    assert (body["date"], body["listed"], body["verdict"]) == ("2026-04-01", True, "listed")
    assert body["records_begin"] == "2025-06-02"
    [listing] = body["listings"]
    assert (listing["listed_from"], listing["published_on"], listing["listed_until"]) == (
        "2026-03-16", "2026-03-18", "2026-05-20")
    assert (listing["removal_reason"], listing["removal_reason_text"]) == ("rectified", "按期整改到位")
    assert listing["ground_code"] == "J1" and listing["ground_text"].startswith("用人单位不依法")
    assert listing["shown_on_the_day"] is True and listing["entry_url"].startswith("http")
    assert NAME not in answer.get_data(as_text=True)
    after = on_day(client, uscc, "2026-06-01").get_json()
    assert (after["listed"], after["verdict"]) == (False, "removed")
    before = on_day(client, uscc, "2026-03-15").get_json()
    assert (before["listed"], before["verdict"], before["listings"]) == (False, "not_listed", [])
    early = on_day(client, uscc, "2025-06-01").get_json()
    assert (early["listed"], early["verdict"]) == (False, "before_records")
    never = on_day(client, identifiers.generate_uscc(random.Random(3)), "2026-04-01").get_json()
    assert never["verdict"] == "never"


def test_a_repaired_listing_keeps_its_dates_but_not_its_ground(app, session, client, today):  # noqa: F811
    case = published_case(session, app, subject=make_subject(session, name=NAME), ground="J1",
                          decided_on=dt.date(2026, 3, 16))
    remove_published(session, case, RemovalReason.CREDIT_REPAIRED, dt.date(2026, 9, 1),
                     app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    [listing] = on_day(client, case.subject.uscc, "2026-04-01").get_json()["listings"]
    assert (listing["ground_code"], listing["ground_text"], listing["entry_url"]) == (
        None, None, None)
    assert listing["listed_until"] == "2026-09-01"


def test_a_person_is_answered_with_a_masked_number_only(app, session, client, today):  # noqa: F811
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    published_case(session, app, kind=SubjectKind.PERSON, subject=person,
                   decided_on=dt.date(2026, 3, 16))
    session.commit()
    answer = on_day(client, person.id_number, "2026-04-01")
    assert answer.get_json()["query"]["code_masked"] == identifiers.mask_ric(person.id_number)
    assert person.id_number not in answer.get_data(as_text=True)
    assert "李秀英" not in answer.get_data(as_text=True)


@pytest.mark.parametrize("query,code,field", [
    ({"date": "2026-04-01"}, "missing_parameter", "code"),
    ({"code": "91230800MA1ABCDE1X"}, "missing_parameter", "date"),
    ({"code": "X", "date": "2026-04-01"}, "invalid_length", "code"),
    ({"code": "91230800MA1ABCDE1X", "date": "1.4.2026"}, "invalid_date", "date"),
    ({"code": "91230800MA1ABCDE1X", "date": "2026-02-30"}, "invalid_date", "date"),
    ({"code": "91230800MA1ABCDE1X", "date": "2026-04-01", "day": "x"}, "unknown_parameter", "day"),
])
def test_bad_parameters_are_400(client, today, query, code, field):  # noqa: F811
    error = error_of(client.get(ON_DAY, query_string=query), 400)
    assert (error["code"], error["field"]) == (code, field)


def test_a_day_not_yet_come_is_refused(client, today):  # noqa: F811
    uscc = identifiers.generate_uscc(random.Random(8))
    error = error_of(on_day(client, uscc, (TODAY + dt.timedelta(days=1)).isoformat()), 400)
    assert (error["code"], error["field"]) == ("date_in_future", "date")
    assert on_day(client, uscc, TODAY.isoformat()).status_code == 200


# --------------------------------------------------------------------------
# POST /screen
# --------------------------------------------------------------------------

def screen(client, records, **more):
    return client.post("/api/v1/screen", json={"records": records, **more})


@pytest.fixture
def listed(app, session):
    org = published_case(session, app, subject=make_subject(
        session, name="佳木斯市华兴建筑工程有限公司"), ground="J1")
    person = make_subject(session, SubjectKind.PERSON, name="李秀英")
    published_case(session, app, kind=SubjectKind.PERSON, subject=person)
    session.commit()
    return org, person


def test_codes_and_names_are_screened_with_scores_and_reasons(listed, client):
    org, person = listed
    answer = screen(client, [
        {"code": org.subject.uscc},
        {"name": "佳木斯华兴建筑工程公司"},
        {"name": "李秀英", "code": person.id_number},
        {"name": "完全无关的商店"},
        {"name": "佳木斯市华兴建筑工程有限公司", "code": "91230800MA1ABCDE10"},
    ])
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["threshold"] == screening.DEFAULT_THRESHOLD and body["publication_version"] > 0
    code, name, both, none, bad = body["results"]
    assert [r["index"] for r in body["results"]] == [0, 1, 2, 3, 4]
    [match] = code["matches"]
    assert (match["how"], match["score"], match["name"]) == ("code", 1.0, "佳木斯市华兴建筑工程有限公司")
    assert [r["code"] for r in match["reasons"]] == ["exact_code"]
    assert match["entry_url"].startswith("http") and match["ground_code"] == "J1"
    [match] = name["matches"]
    assert match["how"] == "name" and screening.DEFAULT_THRESHOLD <= match["score"] < 1
    assert "legal_form_stripped" in {r["code"] for r in match["reasons"]}
    assert all(r["label"] for r in match["reasons"])
    assert both["code_masked"] == identifiers.mask_ric(person.id_number)
    assert {m["how"] for m in both["matches"]} >= {"code"}
    assert none["matches"] == [] and none["error"] is None
    assert bad["error"]["code"].endswith(":checksum") and bad["error"]["message"]
    assert [m["how"] for m in bad["matches"]] == ["name"]     # the name is still screened
    text = answer.get_data(as_text=True)
    assert person.id_number not in text


def test_a_lower_threshold_finds_more(listed, client):
    strict = screen(client, [{"name": "华兴建筑"}], threshold=0.99).get_json()
    loose = screen(client, [{"name": "华兴建筑"}], threshold=0.5).get_json()
    assert len(loose["results"][0]["matches"]) >= len(strict["results"][0]["matches"])
    assert loose["threshold"] == 0.5


@pytest.mark.parametrize("body,field,code", [
    ({"records": []}, "records", "required"),
    ({"records": [{"name": "甲"}], "threshold": 0.2}, "threshold", None),
    ({"records": [{"name": "甲"}], "threshold": 1.5}, "threshold", None),
    ({"records": [{"nam": "甲"}]}, "records.0.nam", "unknown_field"),
    ({"records": [{"name": "甲"}], "extra": 1}, "extra", "unknown_field"),
    ({}, "records", "required"),
    ({"records": [{"name": "x" * 201}]}, "records.0.name", "too_long"),
    ({"records": [{"name": "甲"}, {}]}, "records.1.name", "required"),
    ({"records": [{"name": " ", "code": ""}]}, "records.0.name", "required"),
    ({"records": [{"name": "甲"}], "threshold": True}, "threshold", "invalid_type"),
    ({"records": [{"name": "甲"}], "threshold": "0.9"}, "threshold", "invalid_type"),
])
def test_invalid_bodies_are_422_with_every_field(client, body, field, code):
    error = error_of(client.post("/api/v1/screen", json=body), 422)
    assert error["code"] == "invalid_fields"
    problems = {p["field"]: p["code"] for p in error["errors"]}
    assert field in problems, problems
    if code:
        assert problems[field] == code


def test_more_than_a_thousand_records_or_a_huge_body_are_refused(client):
    error = error_of(screen(client, [{"name": "甲"}] * 1001), 422)
    assert "records" in {p["field"] for p in error["errors"]}
    assert screen(client, [{"name": "甲"}] * 1000).status_code == 200
    huge = client.post("/api/v1/screen", data=json.dumps({"records": [{"name": "甲" * 200}] * 1000}),
                       content_type="application/json")
    assert error_of(huge, 413)["code"] == "body_too_large"
    assert error_of(client.post("/api/v1/screen", data="not json"), 400)["code"] == "invalid_json"
    assert error_of(client.get("/api/v1/screen"), 405)["code"] == "method_not_allowed"


def test_screening_is_limited_per_address_in_calls_and_in_records(app, database_url, tmp_path):
    limited = create_app({**config.testing(database_url, tmp_path), "RATELIMIT_ENABLED": True,
                          "PORTAL_API_SCREEN_LIMIT": "3/minute",
                          "PORTAL_API_SCREEN_RECORDS_LIMIT": "150/hour"})
    client = limited.test_client()
    try:
        calls = [screen(client, [{"name": "甲"}] * 50).status_code for _ in range(3)]
        over_records = screen(client, [{"name": "甲"}])
        assert calls == [200, 200, 200]
        assert error_of(over_records, 429)["code"] == "rate_limited"
        assert "Retry-After" in over_records.headers
    finally:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()
    assert error_of(screen(limited.test_client(), [{"name": "甲"}]), 429)["code"] == "rate_limited"


@pytest.mark.parametrize("body", [
    "[" * 100_000,                                              # nested past any parser's depth
    '{"records": ' + "[" * 50_000 + "]" * 50_000 + "}",
    '{"records": [{"name": "\\ud800"}]}',                      # a lone surrogate: no such text
], ids=["nested", "nested-records", "lone-surrogate"])
def test_hostile_json_bodies_are_refused_not_failed(app, database_url, tmp_path, body):
    limited = create_app({**config.testing(database_url, tmp_path), "RATELIMIT_ENABLED": True})
    try:
        for client in (app.test_client(), limited.test_client()):
            answer = client.post("/api/v1/screen", data=body, content_type="application/json")
            assert answer.status_code in (400, 422), answer.status_code
            assert answer.get_json()["error"]["code"] in ("invalid_json", "invalid_fields")
    finally:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_body_sent_without_its_length_counts_its_records(app, database_url, tmp_path):
    """A chunked body (no Content-Length) is charged its records like any other."""
    limited = create_app({**config.testing(database_url, tmp_path), "RATELIMIT_ENABLED": True,
                          "PORTAL_API_SCREEN_RECORDS_LIMIT": "150/hour"})
    client = limited.test_client()
    data = json.dumps({"records": [{"name": "甲"}] * 100}).encode()

    def chunked():
        return client.post("/api/v1/screen", input_stream=io.BytesIO(data),
                           content_type="application/json", environ_overrides={
                               "CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked",
                               "wsgi.input_terminated": True})
    try:
        first = chunked()
        assert first.status_code == 200 and len(first.get_json()["results"]) == 100
        assert error_of(chunked(), 429)["code"] == "rate_limited"
    finally:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()
