"""The admins' webhook pages (/admin/webhooks): endpoints, the dead-letter list with "deliver
again" (CSRF, audited, admins only, within their bureaus) and each endpoint's log."""
from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import AuditEvent, DeliveryStatus, Role, WebhookDelivery
from portal.services import watch_webhooks, webhook_delivery, webhooks
from portal.services.audit import Actor
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401
from tests.web.integration_support import new_client
from tests.webhook_support import Receiver

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _dead(app, session, url, monkeypatch):
    """A webhook of a client with one delivery given up (the receiver never took it)."""
    monkeypatch.setattr(webhook_delivery, "MAX_ATTEMPTS", 2)
    api_client, _token = new_client(session, ["webhooks:manage"], name="sbjf-finance")
    hook, _secret = webhooks.register(
        session, Actor("api:sbjf-finance"), url + "?token=receivers-own-secret", ["published"],
        secret_key=app.config["SECRET_KEY"], now=clock.now(), client=api_client,
        allow_http_hosts=["127.0.0.1"])
    row = webhooks.enqueue(session, hook, "published", "subject:1", {"case_no": "X-1"}, 41)
    session.commit()
    now = clock.now()
    for _ in range(2):
        webhook_delivery.deliver_due(session, app.config, "host-a", now,
                                     after_each=session.commit)
        now += dt.timedelta(hours=1)
    session.refresh(row)
    assert row.status is DeliveryStatus.DEAD
    return hook, row


def test_the_admin_sees_dead_letters_and_delivers_one_again(app, session, client, monkeypatch):
    with Receiver(mode="fail") as receiver:
        hook, row = _dead(app, session, receiver.url, monkeypatch)
        english(client)
        login(client, staff(session, Role.ADMIN, "admin.zhou"))
        page = client.get("/admin/webhooks/")
        assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
        html, body = page.get_data(as_text=True), text(page)
        dead = html[html.index('id="dead"'):]
        assert "published.41" in dead and "UnexpectedStatus" in dead and "500" in dead
        assert f'action="/admin/webhooks/deliveries/{row.id}/deliver-again"' in dead
        assert "sbjf-finance" in body and receiver.url in html
        assert "receivers-own-secret" not in html                   # never the query
        log = client.get(f"/admin/webhooks/{hook.id}")
        assert log.status_code == 200
        assert "Delivered: 0 · waiting: 0 · given up: 1" in text(log)
        assert len(re.findall(r"UnexpectedStatus", log.get_data(as_text=True))) == 2
        # beside the health checks, never one of them (a receiver down is not the portal down)
        assert client.get("/healthz").get_json()["webhooks"] == {"pending": 0, "dead": 1}

        app.config["WTF_CSRF_ENABLED"] = True
        url = f"/admin/webhooks/deliveries/{row.id}/deliver-again"
        assert client.post(url).status_code == 400
        token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
        again = client.post(url, data={"csrf_token": token})
        assert again.status_code == 302 and again.headers["Location"] == "/admin/webhooks/"
        session.expire_all()
        row = session.get(WebhookDelivery, row.id)
        assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
        event = session.execute(sa.select(AuditEvent).where(
            AuditEvent.action == "webhook.deliver_again")).scalar_one()
        assert event.actor_label == "staff:admin.zhou" and event.data["attempts"] == 2
        assert client.post(url, data={"csrf_token": token}).status_code == 302   # not dead now
        assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "webhook.deliver_again")) == 1
        receiver.mode = "ok"
        assert webhook_delivery.deliver_due(session, app.config, "host-a", clock.now(),
                                            after_each=session.commit).delivered == 1
        assert receiver.accepted()[0].json["id"] == "published.41"
        audit_page = text(client.get("/admin/audit/?action=webhook.deliver_again"))
        assert "had event published.41 delivered again" in audit_page


@pytest.mark.parametrize("role", [Role.CLERK, Role.REVIEWER, Role.APPROVER])
def test_other_roles_neither_see_nor_deliver_again(app, session, client, monkeypatch, role):
    with Receiver(mode="fail") as receiver:
        hook, row = _dead(app, session, receiver.url, monkeypatch)
    login(client, staff(session, role))
    assert client.get("/admin/webhooks/").status_code == 403
    assert client.get(f"/admin/webhooks/{hook.id}").status_code == 403
    assert client.post(f"/admin/webhooks/deliveries/{row.id}/deliver-again").status_code == 403
    session.expire_all()
    assert session.get(WebhookDelivery, row.id).status is DeliveryStatus.DEAD


def test_unknown_ids_are_not_found(app, session, client):
    login(client, staff(session, Role.ADMIN))
    assert client.get("/admin/webhooks/987654").status_code == 404
    assert client.post("/admin/webhooks/deliveries/987654/deliver-again").status_code == 404


def test_the_page_reads_in_chinese(app, session, client, monkeypatch):
    with Receiver(mode="fail") as receiver:
        _dead(app, session, receiver.url, monkeypatch)
    login(client, staff(session, Role.ADMIN))
    body = text(client.get("/admin/webhooks/"))
    assert "Webhooks" not in body.replace("webhooks:manage", "")
    assert re.search(r"[\u4e00-\u9fff]", body)


def test_an_organisations_given_up_delivery_is_seen_to_in_a_portal_of_several_bureaus(
        app, session, client, monkeypatch):
    """An organisation's watchlist's webhook belongs to no bureau (as its account): every
    admin reads it and may deliver its given-up events again, with several bureaus too."""
    from tests.watch.test_watch_alerts import _watching
    from tests.web.jurisdiction_support import add_bureaus

    monkeypatch.setattr(webhook_delivery, "MAX_ATTEMPTS", 1)
    watchlist, _added = _watching(app, session, [], "供应商")
    with Receiver(mode="fail") as receiver:
        hook, _secret = watch_webhooks.register(
            session, Actor("subscriber:1"), watchlist, receiver.url, ["watch.listed"],
            secret_key=app.config["SECRET_KEY"], now=clock.now(), allow_http_hosts=["127.0.0.1"])
        row = webhooks.enqueue(session, hook, "watch.listed", "entry:A1", {"n": 1})
        session.commit()
        webhook_delivery.deliver_due(session, app.config, "host-a", clock.now(),
                                     after_each=session.commit)
    add_bureaus(session)
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    html = client.get("/admin/webhooks/").get_data(as_text=True)
    assert f'action="/admin/webhooks/deliveries/{row.id}/deliver-again"' in html
    assert f"watchlist:{watchlist.id}" in html
    assert client.get(f"/admin/webhooks/{hook.id}").status_code == 200
    again = client.post(f"/admin/webhooks/deliveries/{row.id}/deliver-again")
    assert again.status_code == 302
    session.expire_all()
    assert session.get(WebhookDelivery, row.id).status is DeliveryStatus.PENDING
