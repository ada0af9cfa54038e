"""The integration API's watchlists: an API client's own watchlists of codes (masked in every
answer and never in the audit), their alerts polled after the watch job, 404 across clients."""
import datetime as dt
import json

import schemathesis
import sqlalchemy as sa
from schemathesis.checks import content_type_conformance, response_schema_conformance

from portal import clock
from portal.models import AuditEvent, SubjectKind, WatchItem
from portal.rules import identifiers
from portal.services import watch_alerts, watchlists
from tests.factories import make_subject, published_case
from tests.web.integration_support import BASE, RNG, audit_text, auth, error_of, new_client

WATCH = f"{BASE}/watchlists"
SETTLE = dt.timedelta(seconds=60)


def _run_watch_job(app, session):
    while True:
        _count, more = watch_alerts.run(session, app.config["PORTAL_LOOKUP_KEY"], SETTLE,
                                        clock.now())
        session.commit()
        if not more:
            return


def _new_list(client, token, name="供应商"):
    response = client.post(WATCH, json={"name": name}, headers=auth(token))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["data"]


def _everything_said(client, token, watchlist_id) -> str:
    """Every answer about the watchlist, as one text."""
    answers = [client.get(WATCH, headers=auth(token)),
               client.get(f"{WATCH}/{watchlist_id}/codes", headers=auth(token)),
               client.get(f"{WATCH}/{watchlist_id}/alerts", headers=auth(token))]
    return "\n".join(a.get_data(as_text=True) for a in answers)


def test_a_client_keeps_a_watchlist_of_masked_codes(app, session, client):
    _system, token = new_client(session, ["watchlists:manage"], name="bank-risk")
    made = _new_list(client, token)
    assert made["name"] == "供应商" and made["codes"] == 0 and made["listed_today"] == 0
    assert made["feed_url"].startswith("http") and "/watch/feed/" in made["feed_url"]
    assert client.get(made["feed_url"]).status_code == 200          # the Atom feed answers

    unit = identifiers.generate_uscc(RNG)
    person = identifiers.generate_ric(RNG, birth=dt.date(1981, 4, 2))
    wrong = person[:17] + ("0" if person[17] != "0" else "1")
    body = {"codes": [{"code": unit, "label": "某建材公司"}, {"code": person, "label": "张三"},
                      {"code": wrong}, {"code": unit.lower()}, {"code": " ", "label": "空"}]}
    added = client.post(f"{WATCH}/{made['id']}/codes", json=body, headers=auth(token))
    assert added.status_code == 200, added.get_data(as_text=True)
    result = added.get_json()
    assert (result["added"], result["already"], result["over_limit"]) == (2, 1, 0)
    assert [(e["index"], e["error"]) for e in result["errors"]] == [
        (2, "invalid_check_digit"), (4, "required")]
    assert result["errors"][0]["code_masked"] == identifiers.mask_ric(wrong)
    assert result["errors"][0]["message"]

    codes = client.get(f"{WATCH}/{made['id']}/codes", headers=auth(token)).get_json()
    assert codes["total"] == 2
    assert [(c["code_masked"], c["label"], c["listed_public_id"]) for c in codes["data"]] == [
        (unit, "某建材公司", None), (identifiers.mask_ric(person), "张三", None)]
    page = client.get(f"{WATCH}/{made['id']}/codes?offset=1&limit=1", headers=auth(token))
    assert [c["label"] for c in page.get_json()["data"]] == ["张三"]
    [listed] = client.get(WATCH, headers=auth(token)).get_json()["data"]
    assert (listed["id"], listed["codes"], listed["feed_url"]) == (made["id"], 2, made["feed_url"])

    removed = client.post(f"{WATCH}/{made['id']}/codes/remove",
                          json={"codes": [person, identifiers.generate_uscc(RNG), "nonsense"]},
                          headers=auth(token))
    assert removed.get_json() == {"removed": 1, "not_watched": 2}
    assert [c["code_masked"] for c in client.get(
        f"{WATCH}/{made['id']}/codes", headers=auth(token)).get_json()["data"]] == [unit]

    # the full ID number (and its wrong twin) never in an answer, the stored rows or the audit
    said = _everything_said(client, token, made["id"]) + added.get_data(as_text=True) + \
        removed.get_data(as_text=True)
    stored = json.dumps([list(r) for r in session.execute(
        sa.select(WatchItem.code_hash, WatchItem.code_masked))])
    for number in (person, wrong):
        assert number not in said and number not in stored
        assert number not in audit_text(session)
    calls = session.scalars(sa.select(AuditEvent.data).where(AuditEvent.action == "api.call")
                            .order_by(AuditEvent.seq)).all()
    assert [c["endpoint"] for c in calls][:3] == ["watchlist_create", "watch_codes_add",
                                                  "watch_codes"]
    assert calls[1] == {"endpoint": "watch_codes_add", "status": 200, "watchlist_id": made["id"],
                        "lines": 5, "added": 2, "already": 1, "over_limit": 0, "errors": 2}

    assert client.delete(f"{WATCH}/{made['id']}", headers=auth(token)).status_code == 204
    assert client.get(WATCH, headers=auth(token)).get_json()["data"] == []
    assert client.get(made["feed_url"]).status_code == 404


def test_another_clients_watchlist_is_not_found(app, session, client):
    _mine, token = new_client(session, ["watchlists:manage"])
    _theirs, other = new_client(session, ["watchlists:manage"])
    theirs = _new_list(client, other)
    code = {"codes": [{"code": identifiers.generate_uscc(RNG)}]}
    for response in (client.get(f"{WATCH}/{theirs['id']}/codes", headers=auth(token)),
                     client.get(f"{WATCH}/{theirs['id']}/alerts", headers=auth(token)),
                     client.post(f"{WATCH}/{theirs['id']}/codes", json=code, headers=auth(token)),
                     client.post(f"{WATCH}/{theirs['id']}/codes/remove",
                                 json={"codes": ["x"]}, headers=auth(token)),
                     client.delete(f"{WATCH}/{theirs['id']}", headers=auth(token)),
                     client.get(f"{WATCH}/{theirs['id'] + 1000}/codes", headers=auth(token))):
        assert error_of(response, 404)["code"] == "not_found"
    assert client.get(WATCH, headers=auth(token)).get_json()["data"] == []
    assert client.get(f"{WATCH}/{theirs['id']}/codes", headers=auth(other)).status_code == 200


def test_a_watchlist_of_an_organisations_list_is_not_the_clients(app, session, client):
    from portal.services import subscribers

    owner, _ = subscribers.register(session, "某银行", "risk@bank.example", "long enough pw",
                                    "zh_CN", clock.now())
    theirs = watchlists.create(session, app.config["SECRET_KEY"], "银行的", subscriber_id=owner.id,
                               now=clock.now())
    session.commit()
    _system, token = new_client(session, ["watchlists:manage"])
    assert error_of(client.get(f"{WATCH}/{theirs.id}/codes", headers=auth(token)), 404)
    assert client.get(WATCH, headers=auth(token)).get_json()["data"] == []


def test_the_scope_is_required(app, session, client):
    _reader, token = new_client(session, ["status:read"])
    for response in (client.get(WATCH, headers=auth(token)),
                     client.post(WATCH, json={"name": "x"}, headers=auth(token)),
                     client.get(f"{WATCH}/1/alerts", headers=auth(token))):
        error = error_of(response, 403)
        assert error["code"] == "insufficient_scope" and "watchlists:manage" in error["message"]
    assert 'scope="watchlists:manage"' in response.headers["WWW-Authenticate"]
    assert error_of(client.get(WATCH), 401)["code"] == "missing_token"


def test_an_alert_is_polled_after_a_watched_organisation_is_listed(app, session, client):
    _run_watch_job(app, session)                       # the job starts at the log's end
    _system, token = new_client(session, ["watchlists:manage"])
    made = _new_list(client, token)
    subject = make_subject(session, SubjectKind.ORGANISATION)
    other = make_subject(session, SubjectKind.ORGANISATION)
    person = make_subject(session, SubjectKind.PERSON)
    session.commit()
    added = client.post(f"{WATCH}/{made['id']}/codes", headers=auth(token), json={"codes": [
        {"code": subject.uscc, "label": "供应商甲"}, {"code": person.id_number, "label": "乙"}]})
    assert added.get_json()["added"] == 2
    empty = client.get(f"{WATCH}/{made['id']}/alerts", headers=auth(token)).get_json()
    assert empty == {"data": [], "next_after": 0, "has_more": False}

    published_case(session, app, subject=subject)
    published_case(session, app, subject=other)         # not watched
    published_case(session, app, subject=person, kind=SubjectKind.PERSON)
    session.commit()
    _run_watch_job(app, session)

    page = client.get(f"{WATCH}/{made['id']}/alerts?after=0&limit=1", headers=auth(token))
    assert page.status_code == 200, page.get_data(as_text=True)
    first = page.get_json()
    [alert] = first["data"]
    assert alert["event"] == "listed" and alert["label"] in ("供应商甲", "乙")
    assert first["has_more"] is True and first["next_after"] == alert["id"]
    rest = client.get(f"{WATCH}/{made['id']}/alerts?after={first['next_after']}",
                      headers=auth(token)).get_json()
    assert rest["has_more"] is False and len(rest["data"]) == 1
    alerts = {a["label"]: a for a in [alert, *rest["data"]]}
    assert alerts["供应商甲"]["facts"]["code"] == subject.uscc
    assert alerts["供应商甲"]["facts"]["name"] == subject.name
    assert alerts["供应商甲"]["public_id"] == alerts["供应商甲"]["facts"]["public_id"]
    done = client.get(f"{WATCH}/{made['id']}/alerts?after={rest['next_after']}",
                      headers=auth(token)).get_json()
    assert done == {"data": [], "next_after": rest["next_after"], "has_more": False}

    codes = client.get(f"{WATCH}/{made['id']}/codes", headers=auth(token)).get_json()["data"]
    assert [c["listed_public_id"] for c in codes] == [alerts["供应商甲"]["public_id"],
                                                      alerts["乙"]["public_id"]]
    [summary] = client.get(WATCH, headers=auth(token)).get_json()["data"]
    assert (summary["codes"], summary["listed_today"]) == (2, 2)
    said = _everything_said(client, token, made["id"])
    assert person.id_number not in said and person.id_number not in audit_text(session)
    _conform(app, token, made["id"])


def _conform(app, token, watchlist_id):
    """Answers with data match the document's schemas."""
    schemathesis.experimental.OPEN_API_3_1.enable()     # the document is OpenAPI 3.1
    raw = app.test_client().get(f"{BASE}/openapi.json").get_json()
    schema = schemathesis.from_dict(raw, app=app, base_url="/api/v1")
    operations = {(op.ok().method.upper(), op.ok().path): op.ok()
                  for op in schema.get_all_operations()}
    for path in ("/integration/watchlists", "/integration/watchlists/{watchlist_id}/codes",
                 "/integration/watchlists/{watchlist_id}/alerts"):
        operation = operations["GET", path]
        case = operation.make_case(path_parameters={"watchlist_id": watchlist_id}
                                   if "{" in path else None)
        response = case.call(headers=auth(token))
        assert response.status_code == 200
        case.validate_response(response, checks=(content_type_conformance,
                                                  response_schema_conformance))


def test_the_limit_of_codes_of_a_watchlist(app, session, client, monkeypatch):
    monkeypatch.setattr(watchlists, "MAX_ITEMS", 2)
    _system, token = new_client(session, ["watchlists:manage"])
    made = _new_list(client, token)
    codes = [{"code": identifiers.generate_uscc(RNG)} for _ in range(3)]
    result = client.post(f"{WATCH}/{made['id']}/codes", json={"codes": codes},
                         headers=auth(token)).get_json()
    assert (result["added"], result["already"], result["over_limit"]) == (2, 0, 1)
    again = client.post(f"{WATCH}/{made['id']}/codes", json={"codes": codes[:1]},
                        headers=auth(token)).get_json()
    assert (again["added"], again["already"]) == (0, 1)


def test_ten_thousand_lines_fit_in_one_call_and_more_are_refused(app, session, client):
    _system, token = new_client(session, ["watchlists:manage"])
    made = _new_list(client, token)
    lines = [{"code": identifiers.generate_uscc(RNG), "label": "某某有限公司" * 16}
             for _ in range(10_000)]
    response = client.post(f"{WATCH}/{made['id']}/codes", json={"codes": lines},
                           headers=auth(token))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["added"] + response.get_json()["already"] == 10_000
    too_many = client.post(f"{WATCH}/{made['id']}/codes", json={"codes": lines + lines[:1]},
                           headers=auth(token))
    assert error_of(too_many, 422)["errors"][0]["field"] == "codes"


def test_names_and_labels_may_not_hold_an_id_number(app, session, client):
    _system, token = new_client(session, ["watchlists:manage"])
    person = identifiers.generate_ric(RNG, birth=dt.date(1990, 1, 1))
    refused = client.post(WATCH, json={"name": f"客户{person}"}, headers=auth(token))
    assert error_of(refused, 422)["errors"][0]["code"] == "contains_id_number"
    made = _new_list(client, token)
    line = client.post(f"{WATCH}/{made['id']}/codes", headers=auth(token), json={
        "codes": [{"code": identifiers.generate_uscc(RNG), "label": f"法人 {person}"}]})
    assert error_of(line, 422)["errors"][0]["field"] == "codes.0.label"
    assert person not in audit_text(session)


def test_twenty_watchlists_a_client(app, session, client, monkeypatch):
    monkeypatch.setattr(watchlists, "MAX_WATCHLISTS", 2)
    _system, token = new_client(session, ["watchlists:manage"])
    _new_list(client, token, "一")
    _new_list(client, token, "二")
    refused = client.post(WATCH, json={"name": "三"}, headers=auth(token))
    assert error_of(refused, 409)["code"] == "too_many_watchlists"
    assert len(client.get(WATCH, headers=auth(token)).get_json()["data"]) == 2


def test_the_same_code_added_by_two_calls_at_once_is_not_a_server_error(app, session, client,
                                                                       monkeypatch):
    """A client retries a call that timed out while the first one still runs: the second read
    the watchlist before the first committed the same code."""
    from portal.security import lookup_hash
    from portal.services import screening

    _system, token = new_client(session, ["watchlists:manage"], name="bank-retry")
    made = _new_list(client, token)
    unit = identifiers.generate_uscc(RNG)
    real, raced = screening.parse_code, []

    def parse_while_another_call_commits(raw, today):
        if not raced:
            raced.append(1)
            session.add(WatchItem(watchlist_id=made["id"],
                                  code_hash=lookup_hash(app.config["PORTAL_LOOKUP_KEY"], unit),
                                  code_masked=unit, label=None, added_at=clock.now()))
            session.commit()
        return real(raw, today)

    monkeypatch.setattr(screening, "parse_code", parse_while_another_call_commits)
    added = client.post(f"{WATCH}/{made['id']}/codes", json={"codes": [{"code": unit}]},
                        headers=auth(token))
    assert added.status_code == 200, added.get_data(as_text=True)
    assert (added.get_json()["added"], added.get_json()["already"]) == (0, 1)
