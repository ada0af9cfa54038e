"""Both OpenAPI documents, fuzzed against the app in-process (schemathesis).

Every operation of the public document (``/api/v1/openapi.json``) and of the
integration document (``/api/v1/integration/openapi.json``, with the bearer
token of an API client holding every scope) gets a bounded, reproducible
number of generated requests — schema-valid ones and schema-violating ones —
and every answer must be no 5xx, a status the document declares, the declared
content type, headers and body schema. Rate limits are off under test
(``RATELIMIT_ENABLED`` follows ``TESTING``), so the run cannot be flaky.

Counts per operation are printed (``pytest -s`` or ``-rA``): requests tried,
answers by status class, failures.
"""
from __future__ import annotations

import datetime as dt
import os
from collections import Counter

import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import DataGenerationMethod

from portal import clock
from portal.extensions import db
from portal.models import PublishedEntry, SubjectKind
from portal.services import watch_alerts, watchlists
from tests.factories import published_case
from tests.web.integration_support import BASE, auth, new_client, org_body

CHECKS = (not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection)
#: Refusals that say a value has the wrong form: a request the document calls valid must never
#: get one of these. (A well-formed identifier whose check character is wrong, a cursor the
#: portal did not issue, or a case body that breaks a rule of the profile is still refused: the
#: document says so, and those codes are not in this list.)
FORM_REFUSALS = {"unknown_parameter", "invalid_integer", "out_of_range", "invalid_value",
                 "too_long", "missing_parameter", "invalid_json", "bad_request"}
#: Examples per operation/surface (derandomised: each run sends the same ones, so `make test`
#: keeps to 25); PORTAL_FUZZ_EXAMPLES=500 for a longer campaign.
EXAMPLES = int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "25"))
schemathesis.experimental.OPEN_API_3_1.enable()   # both documents are OpenAPI 3.1
DOCUMENTS = {
    "public": ("/api/v1/openapi.json", None),
    "integration": ("/api/v1/integration/openapi.json", "/integration/"),
}


def _operations(app, url: str, only: str | None):
    raw = app.test_client().get(url).get_json()
    schema = schemathesis.from_dict(
        raw, app=app, base_url="/api/v1",
        data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative])
    for result in schema.get_all_operations():
        operation = result.ok()
        if only is None or operation.path.startswith(only):
            yield operation


def _fuzz(operation, headers: dict, tally: Counter, failures: list, known: dict) -> None:
    strategy = operation.as_strategy(data_generation_method=DataGenerationMethod.positive)
    pinned = {p.name: known[p.name] for p in operation.path_parameters if p.name in known}
    if pinned and operation.method.upper() != "DELETE":
        # Valid requests also about a record that exists (a generated id rarely names one).
        strategy |= strategy.map(lambda case: _pinned(case, pinned))
    if operation.query or operation.body or operation.path_parameters:
        strategy |= operation.as_strategy(data_generation_method=DataGenerationMethod.negative)
    if pinned and operation.method.upper() == "DELETE":      # the record stays for the others
        strategy = strategy.filter(lambda case: not any(
            str((case.path_parameters or {}).get(name)) == str(value)
            for name, value in pinned.items()))

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(case=strategy)
    def run(case):
        # A parameter generated as an empty list is not sent at all: no such request exists.
        assume(not any(value == [] for value in (case.query or {}).values()))
        response = case.call(headers=headers)
        tally["requests"] += 1
        tally[f"{response.status_code // 100}xx"] += 1
        try:
            case.validate_response(response, checks=CHECKS)
            _accepts_valid_form(case, response)
        except AssertionError as failure:  # collect every distinct failure, then report them all
            tally["failures"] += 1
            failures.append(f"{case.method} {case.formatted_path} {case.query!r} "
                            f"{str(case.body)[:200]!r} -> {response.status_code} "
                            f"{response.get_data(as_text=True)[:300]}\n{failure}"[:1500])

    run()


def _pinned(case, values: dict):
    case.path_parameters = {**(case.path_parameters or {}), **values}
    return case


def _watch_job(app, session) -> int:
    more, told = True, 0
    while more:
        count, more = watch_alerts.run(session, app.config["PORTAL_LOOKUP_KEY"],
                                       dt.timedelta(seconds=60), clock.now())
        told += count
    session.commit()
    return told


def _watching(app, session, client, codes: list[str]) -> int:
    """A watchlist of ``client`` holding ``codes``, with the alerts of their listings."""
    made = watchlists.create(session, app.config["SECRET_KEY"], "fuzz", api_client_id=client.id,
                             now=clock.now())
    watchlists.add_codes(session, app.config["PORTAL_LOOKUP_KEY"], made,
                         [(n, code, f"line {n}") for n, code in enumerate(codes)],
                         clock.today(), clock.now())
    assert _watch_job(app, session) == len(codes)
    return made.id


def _real_answers_conform(app, document: str, headers: dict, codes: list[str],
                          failures: list, known: dict) -> list[str]:
    """Answers about the published subjects (200 with data) match their schemas too."""
    url, only = DOCUMENTS[document]
    operations = {(op.method.upper(), op.path): op for op in _operations(app, url, only)}
    cases = []
    if document == "public":
        for public_id in db.session.scalars(sa.select(PublishedEntry.public_id)).all():
            cases.append(operations["GET", "/entries/{public_id}"].make_case(
                path_parameters={"public_id": public_id}))
        cases += [operations["GET", "/check"].make_case(query={"code": code}) for code in codes]
    else:
        cases += [operations["POST", "/integration/status"].make_case(
            body={"code": code}, media_type="application/json") for code in codes]
        cases += _webhook_cases(app, operations, headers)
        watched = {"watchlist_id": known["watchlist_id"]}
        cases += [operations["GET", f"/integration/watchlists/{{watchlist_id}}/{part}"].make_case(
            path_parameters=watched) for part in ("codes", "alerts")]
        cases.append(operations["GET", "/integration/watchlists"].make_case())
    for case in cases:
        response = case.call(headers=headers)
        try:
            assert response.status_code in (200, 201, 202), response.get_data(as_text=True)[:300]
            case.validate_response(response, checks=CHECKS)
        except AssertionError as failure:
            failures.append(f"{case.method} {case.formatted_path} {case.query} {case.body}: "
                            f"{failure}"[:1500])
    return [f"answers about the published subjects: {len(cases)} checked"]


def _webhook_cases(app, operations, headers) -> list:
    """A webhook with a delivery and its log, so that its answers are checked with data."""
    import datetime as dt

    from portal.models import WebhookAttempt, WebhookEndpoint
    from portal.services import webhooks

    hooks = "/integration/webhooks"
    created = app.test_client().post(f"/api/v1{hooks}", headers=headers, json={
        "url": "https://hooks.example.org/in", "event_types": ["published"]})
    assert created.status_code == 201, created.get_data(as_text=True)
    hook = created.get_json()["data"]["id"]
    sent = webhooks.enqueue(db.session, db.session.get(WebhookEndpoint, hook), "published",
                            "subject:1", {"case_no": "X"}, 1)
    db.session.add(WebhookAttempt(delivery_id=sent.id, at=dt.datetime(2026, 5, 4, tzinfo=dt.UTC),
                                  status_code=500, duration_ms=12, error="UnexpectedStatus"))
    db.session.commit()
    path = {"endpoint_id": hook}
    return [
        operations["POST", hooks].make_case(body={"url": "https://hooks.example.org/2",
                                                  "event_types": ["removed"]},
                                            media_type="application/json"),
        operations["GET", hooks].make_case(),
        operations["GET", f"{hooks}/{{endpoint_id}}/deliveries"].make_case(path_parameters=path),
        operations["POST", f"{hooks}/{{endpoint_id}}/replay"].make_case(
            path_parameters=path, body={"from_position": 0}, media_type="application/json"),
        operations["DELETE", f"{hooks}/{{endpoint_id}}"].make_case(path_parameters=path),
    ]


def _accepts_valid_form(case, response) -> None:
    """A request the document calls valid is not refused for the form of its values."""
    if case.data_generation_method is not DataGenerationMethod.positive:
        return
    if response.status_code in (400, 422):
        error = (response.get_json(silent=True) or {}).get("error") or {}
        refused = {error.get("code")} | {e.get("code") for e in error.get("errors") or ()}
        assert not refused & FORM_REFUSALS, f"schema-valid request refused: {error}"


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_openapi_document_holds_under_generated_requests(app, session, document):
    url, only = DOCUMENTS[document]
    if document == "integration":
        _watch_job(app, session)            # it starts at the change log's end
    # Published entries, so that answers with data are checked against their schemas too.
    listed = [published_case(session, app), published_case(session, app, kind=SubjectKind.PERSON)]
    session.commit()
    codes = [c.subject.uscc or c.subject.id_number for c in listed]
    headers, known = {}, {}
    if document == "integration":
        fuzzing, token = new_client(session)
        headers = auth(token)
        known["watchlist_id"] = _watching(app, session, fuzzing, codes)     # with alerts
    report, failures = [], []
    for operation in _operations(app, url, only):
        tally = Counter()
        _fuzz(operation, headers, tally, failures, known)
        report.append(f"{operation.method.upper()} {operation.path}: "
                      f"{tally['requests']} requests, 2xx={tally['2xx']} 4xx={tally['4xx']} "
                      f"5xx={tally['5xx']} failures={tally['failures']}")
    report += _real_answers_conform(app, document, headers, codes, failures, known)
    print(f"\n[{document} API on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}]\n"
          + "\n".join(report))
    assert report, "the document describes no operation"
    assert not failures, "\n\n".join(failures[:15])


# The mismatches the generated requests found, pinned one by one.

@pytest.mark.parametrize("query", ["lang=null", "lang=", "lang=fr", "lang=en&lang=zh"])
def test_a_language_outside_the_declared_values_is_refused(client, query):
    response = client.get(f"/api/v1/entries?{query}")
    assert response.status_code == 400
    assert response.get_json()["error"]["field"] == "lang"


@pytest.mark.parametrize("lang", ["zh_CN", "zh-CN", "zh", "en"])
def test_every_declared_language_is_accepted(client, lang):
    assert client.get(f"/api/v1/entries?lang={lang}").status_code == 200


def test_the_highest_declared_page_is_answered(client):
    document = client.get("/api/v1/openapi.json").get_json()
    page = next(p for p in document["paths"]["/entries"]["get"]["parameters"]
                if p.get("name") == "page")
    assert client.get(f"/api/v1/entries?page={page['schema']['maximum']}").status_code == 200
    assert client.get(f"/api/v1/entries?page={page['schema']['maximum'] + 1}").status_code == 400


@pytest.mark.parametrize("address", ["changes?since=", "changes?limit=", "removals?subject_kind=",
                                     "removals?year=%20", "entries?severity=%20"])
def test_a_declared_parameter_given_empty_is_refused(client, address):
    assert client.get(f"/api/v1/{address}").status_code == 400


def test_the_ground_parameter_declares_the_profiles_grounds(client):
    document = client.get("/api/v1/openapi.json").get_json()
    ground = next(p for p in document["paths"]["/entries"]["get"]["parameters"]
                  if p.get("name") == "ground")
    assert ground["schema"]["enum"]
    for code in ground["schema"]["enum"]:
        assert client.get(f"/api/v1/entries?ground={code}").status_code == 200


@pytest.mark.parametrize("limit", ["²", "١٢", "", "0", "1001"])
def test_integration_limit_of_other_digits_is_a_400(client, session, limit):
    _client, token = new_client(session)
    response = client.get(f"/api/v1/integration/changes?limit={limit}", headers=auth(token))
    assert response.status_code == 400, response.get_data(as_text=True)


# ------------------------------------------------------------------ hostile integration bodies
# Generated bodies rarely get past the check characters, so the deeper paths are reached from a
# valid body with one field replaced by a hostile value of any JSON type.

TEXT = st.one_of(st.sampled_from(["", " ", "  ", "\x00", "a\x00b", "\u3000", "１２３", "\ufeff",
                                  "9" * 40, "-1", "1e999", "NaN", "0001-01-01", "9999-12-31"]),
                 st.text(st.characters(codec="utf-8"), max_size=40),
                 st.text(st.characters(codec="utf-8"), min_size=1, max_size=2).map(lambda s: s * 6000))
JSON_VALUE = st.one_of(TEXT, st.none(), st.booleans(), st.integers(-2**80, 2**80),
                       st.floats(allow_nan=False, allow_infinity=False),
                       st.lists(TEXT, max_size=3), st.dictionaries(TEXT, TEXT, max_size=2))
PATHS = [("external_ref", "system"), ("external_ref", "record_id"), ("external_ref",),
         ("subject", "kind"), ("subject", "name"), ("subject", "uscc"), ("subject", "org_code"),
         ("subject", "reg_no"), ("subject", "id_number"), ("subject", "address"),
         ("subject", "unit_kind"), ("subject", "legal_representative", "name"),
         ("subject", "legal_representative", "id_number"), ("subject", "legal_representative"),
         ("subject", "responsible_persons"), ("subject",), ("ground",), ("facts",), ("reasons",),
         ("amount",), ("months",), ("person_times",), ("alternative_met",), ("document_no",),
         ("department",), ("department_contact",), ("unexpected",)]


def _replaced(body: dict, path: tuple, value) -> dict:
    import copy
    body = copy.deepcopy(body)
    place = body
    for key in path[:-1]:
        place = place.setdefault(key, {}) if isinstance(place.get(key), dict) else place
    place[path[-1]] = value
    return body


def test_hostile_integration_bodies_never_answer_5xx(app, session, client):
    _client, token = new_client(session)
    tally, failures = Counter(), []

    @settings(max_examples=EXAMPLES * 5, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck), print_blob=False)
    @given(ref=st.integers(0, 10**6), path=st.sampled_from(PATHS), value=JSON_VALUE,
           endpoint=st.sampled_from(["cases", "status"]))
    def run(ref, path, value, endpoint):
        body = (_replaced(org_body(f"R-{ref}"), path, value) if endpoint == "cases"
                else {"code": value})
        response = client.post(f"{BASE}/{endpoint}", json=body, headers=auth(token))
        tally[endpoint, "tried"] += 1
        tally[endpoint, response.status_code // 100] += 1
        if response.status_code >= 500:
            failures.append(f"{endpoint} {path} {ascii(value)[:200]} -> {response.status_code}")

    run()
    print(f"\n[hostile integration bodies on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}]")
    for endpoint in ("cases", "status"):
        print(f"POST {BASE}/{endpoint}: {tally[endpoint, 'tried']} bodies, 2xx={tally[endpoint, 2]} "
              f"4xx={tally[endpoint, 4]} 5xx={tally[endpoint, 5]}")
    assert not failures, "\n".join(failures[:20])
