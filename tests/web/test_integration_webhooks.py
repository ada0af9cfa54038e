"""The webhooks of the integration API (/api/v1/integration/webhooks, scope webhooks:manage)."""
from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine

from portal import clock
from portal.models import AuditEvent, WebhookDelivery, WebhookEndpoint
from portal.services import webhook_delivery, webhooks
from portal.services.audit import Actor
from tests.factories import published_case
from tests.web.integration_support import BASE, audit_text, auth, error_of, new_client
from tests.webhook_support import Receiver

HOOKS = f"{BASE}/webhooks"


def _rounds(app, session):
    webhooks.fan_out(session, clock.now(), after_each=session.commit)
    return webhook_delivery.deliver_due(session, app.config, "host-a", clock.now(),
                                        after_each=session.commit)


def test_a_client_registers_a_webhook_sees_its_secret_once_and_reads_the_log(app, session,
                                                                            client):
    _c, token = new_client(session, ["webhooks:manage"])
    with Receiver() as receiver, time_machine.travel(
            dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC), tick=True) as traveller:
        created = client.post(HOOKS, json={"url": receiver.url, "event_types": [
            "published", "listing_decided", "published"]}, headers=auth(token))
        assert created.status_code == 201, created.get_data(as_text=True)
        hook = created.get_json()["data"]
        assert hook["secret"].startswith("whsec_") and hook["secret"][:10] == hook["secret_prefix"]
        assert hook["event_types"] == ["listing_decided", "published"] and hook["active"]
        listed = client.get(HOOKS, headers=auth(token)).get_json()["data"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
        assert hook["secret"] not in audit_text(session)

        receiver.mode = "fail"
        case = published_case(session, app)
        session.commit()
        _rounds(app, session)
        traveller.shift(dt.timedelta(seconds=3))
        receiver.mode = "ok"
        _rounds(app, session)
        assert [r.json["data"]["case_no"] for r in receiver.accepted()] == [case.case_no] * 2

        log = client.get(f"{HOOKS}/{hook['id']}/deliveries?limit=1",
                         headers=auth(token)).get_json()
        assert log["has_more"] is True and len(log["data"]) == 1
        newest = log["data"][0]
        assert newest["event_type"] == "published" and newest["status"] == "delivered"
        older = client.get(f"{HOOKS}/{hook['id']}/deliveries",
                           query_string={"cursor": log["next_cursor"]},
                           headers=auth(token)).get_json()
        assert older["has_more"] is False and older["next_cursor"] is None
        first = older["data"][0]
        assert first["event_type"] == "listing_decided" and first["attempts"] == 2
        assert [(a["status_code"], a["error"]) for a in first["log"]] == [
            (500, "UnexpectedStatus"), (204, None)]
        dead = client.get(f"{HOOKS}/{hook['id']}/deliveries?status=dead", headers=auth(token))
        assert dead.get_json()["data"] == []

        # replay from before the first event: both again, with the same event ids
        replayed = client.post(f"{HOOKS}/{hook['id']}/replay",
                               json={"from_position": first["position"] - 1}, headers=auth(token))
        assert replayed.status_code == 202
        assert replayed.get_json()["data"]["cursor"] == first["position"] - 1
        _rounds(app, session)
        ids = [r.json["id"] for r in receiver.accepted()]
        assert ids[2:] == ids[:2] and len(ids) == 4

        removed = client.delete(f"{HOOKS}/{hook['id']}", headers=auth(token))
        assert removed.status_code == 200 and removed.get_json()["data"]["active"] is False
        assert client.delete(f"{HOOKS}/{hook['id']}", headers=auth(token)).status_code == 200
        published_case(session, app)
        session.commit()
        _rounds(app, session)
        assert len(receiver.accepted()) == 4            # nothing more for a removed webhook
        assert error_of(client.post(f"{HOOKS}/{hook['id']}/replay", json={"from_position": 0},
                                    headers=auth(token)), 404)["code"] == "not_found"
    actions = session.execute(sa.select(AuditEvent.action).where(
        AuditEvent.entity_type == "webhook_endpoint").order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["webhook.create", "webhook.replay", "webhook.deactivate"]


def test_another_clients_webhook_does_not_exist_for_it(app, session, client):
    _a, mine = new_client(session, ["webhooks:manage"])
    _b, theirs = new_client(session, ["webhooks:manage"])
    hook = client.post(HOOKS, json={"url": "https://hooks.example.org/in",
                                    "event_types": ["published"]},
                       headers=auth(mine)).get_json()["data"]
    for method, path, body in (("delete", "", None), ("get", "/deliveries", None),
                               ("post", "/replay", {"from_position": 0})):
        answer = getattr(client, method)(f"{HOOKS}/{hook['id']}{path}", json=body,
                                         headers=auth(theirs))
        assert error_of(answer, 404)["code"] == "not_found"
    assert client.get(HOOKS, headers=auth(theirs)).get_json()["data"] == []
    assert session.get(WebhookEndpoint, hook["id"]).active


@pytest.mark.parametrize("body, code, field", [
    ({"url": "http://hooks.example.org/in", "event_types": ["published"]}, "https_required",
     "url"),
    ({"url": "https://u:p@hooks.example.org/", "event_types": ["published"]}, "invalid_url",
     "url"),
    ({"url": "https://hooks.example.org/", "event_types": []}, "required", "event_types"),
    ({"url": "https://hooks.example.org/", "event_types": ["hacked"]}, "invalid_value",
     "event_types.0"),
    ({"url": "https://hooks.example.org/"}, "required", "event_types"),
])
def test_bad_webhook_bodies_are_refused(app, session, client, body, code, field):
    _c, token = new_client(session, ["webhooks:manage"])
    error = error_of(client.post(HOOKS, json=body, headers=auth(token)), 422)
    assert error["code"] == "invalid_fields"
    assert (error["errors"][0]["code"], error["errors"][0]["field"]) == (code, field)


def test_the_scope_is_needed_and_the_number_of_webhooks_is_bounded(app, session, client):
    _r, reader = new_client(session, ["changes:read"])
    assert error_of(client.get(HOOKS, headers=auth(reader)), 403)["code"] == "insufficient_scope"
    _c, token = new_client(session, ["webhooks:manage"])
    body = {"url": "https://hooks.example.org/in", "event_types": ["removed"]}
    for _ in range(webhooks.MAX_ENDPOINTS):
        assert client.post(HOOKS, json=body, headers=auth(token)).status_code == 201
    assert error_of(client.post(HOOKS, json=body, headers=auth(token)),
                    409)["code"] == "too_many_webhooks"
    first = client.get(HOOKS, headers=auth(token)).get_json()["data"][0]["id"]
    client.delete(f"{HOOKS}/{first}", headers=auth(token))
    assert client.post(HOOKS, json=body, headers=auth(token)).status_code == 201


@pytest.mark.parametrize("query, code", [("cursor=i1.MQ", "invalid_cursor"),
                                         ("limit=201", "out_of_range"),
                                         ("status=lost", "invalid_value")])
def test_bad_log_queries_are_refused(app, session, client, query, code):
    _c, token = new_client(session, ["webhooks:manage"])
    hook = client.post(HOOKS, json={"url": "https://hooks.example.org/in",
                                    "event_types": ["published"]},
                       headers=auth(token)).get_json()["data"]
    answer = client.get(f"{HOOKS}/{hook['id']}/deliveries?{query}", headers=auth(token))
    assert error_of(answer, 400)["code"] == code


def test_a_webhook_receives_the_events_of_its_clients_bureaus_only(app, session):
    from portal.models import ApiClient, Role
    from tests.factories import make_staff
    from tests.web.jurisdiction_support import add_bureaus

    case = published_case(session, app)
    session.commit()
    add_bureaus(session)
    admin = make_staff(session, Role.ADMIN)
    hooks = {}
    for code in ("jiamusi", "chizhou"):
        api_client, _token = integration_client(session, admin, code)
        hooks[code], _secret = webhooks.register(
            session, Actor(f"api:{api_client.name}"), f"https://{code}.example.cn/in",
            ["published"], secret_key=app.config["SECRET_KEY"], now=clock.now(),
            client=session.get(ApiClient, api_client.id))
        webhooks.replay(session, Actor("api:x"), hooks[code], 0)       # from the start
    session.commit()
    assert case.jurisdiction == "jiamusi"
    assert webhooks.fan_out(session, clock.now(), after_each=session.commit) == 1
    queued = session.execute(sa.select(WebhookDelivery.endpoint_id)).scalars().all()
    assert queued == [hooks["jiamusi"].id]


def integration_client(session, admin, code):
    from portal.services import integration

    return integration.create_client(session, admin, f"{code}-sys", ["webhooks:manage"],
                                     clock.now(), jurisdiction=code)
