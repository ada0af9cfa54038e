"""An organisation's watchlist page: its webhooks registered (the secret shown once), listed,
removed — by the signed-in owner only, with CSRF, audited."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Role, Subscriber, WebhookEndpoint
from portal.services import watch_webhooks, webhook_guard, webhooks
from tests.watch.test_watch_pages import _csrf, _new_list, signed_in
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401

ALL = list(webhooks.WATCH_EVENTS)
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{40,}")


@pytest.fixture
def mail_on(app):
    app.config["PORTAL_SMTP_HOST"] = "127.0.0.1"
    return app


@pytest.fixture
def dns(monkeypatch):
    table = {"hooks.bank.example": ["93.184.216.34"], "inside.bank.example": ["10.1.2.3"]}

    def resolve(host, port):
        if host not in table:
            raise OSError("no such host")
        return table[host]

    monkeypatch.setattr(webhook_guard, "resolve", resolve)
    return table


def _register(client, address, url="https://hooks.bank.example/in?token=receivers-own",
              events=ALL, page=None):
    page = page or client.get(address).get_data(as_text=True)
    return client.post(address + "/webhooks", data={"csrf_token": _csrf(page), "url": url,
                                                    "events": events}, follow_redirects=True)


def _own(session):
    return session.scalars(sa.select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()


def test_a_webhook_is_registered_its_secret_shown_once_listed_and_removed(mail_on, client,
                                                                          session, dns):
    signed_in(client, session)
    address = _new_list(client)
    watchlist_id = int(address.rstrip("/").rsplit("/", 1)[1])
    page = client.get(address).get_data(as_text=True)
    assert f'action="{address}/webhooks"' in page
    for event in ALL:                                    # every kind is ticked to begin with
        assert re.search(rf'value="{event}"[^>]* checked', page), event

    answer = _register(client, address, page=page)
    assert answer.status_code == 200
    shown = answer.get_data(as_text=True)
    [secret] = set(SECRET.findall(shown))
    assert "X-Portal-Signature" in shown and "v1=" in shown and "X-Portal-Timestamp" in shown
    assert answer.headers["Cache-Control"].startswith("no-store")
    [endpoint] = _own(session)
    assert (endpoint.owner_kind, endpoint.owner_id, endpoint.api_client_id) == (
        "watchlist", watchlist_id, None)
    assert endpoint.event_types == ALL and endpoint.active
    assert webhooks.secret_of(client.application.config["SECRET_KEY"], endpoint) == secret
    assert secret.encode() not in bytes(endpoint.secret_sealed)

    again = client.get(address).get_data(as_text=True)
    assert secret not in again and endpoint.secret_prefix in again     # then only sealed
    assert "https://hooks.bank.example" in again and "receivers-own" not in again
    owner = session.scalar(sa.select(Subscriber))
    [created] = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "webhook.create")).all()
    assert created.actor_label == f"subscriber:{owner.id}"
    assert created.entity_id == str(endpoint.id) and "receivers-own" not in str(created.data)

    # only some kinds
    answer = _register(client, address, events=["watch.listed", "watch.removed"])
    assert answer.status_code == 200
    assert _own(session)[-1].event_types == ["watch.listed", "watch.removed"]

    # removed: nothing more is sent to it
    answer = client.post(f"{address}/webhooks/{endpoint.id}/remove",
                         data={"csrf_token": _csrf(again)})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(address)
    session.expire_all()
    assert not session.get(WebhookEndpoint, endpoint.id).active
    assert session.scalar(sa.select(AuditEvent).where(
        AuditEvent.action == "webhook.deactivate")).actor_label == f"subscriber:{owner.id}"


def test_what_is_refused_is_said_and_nothing_is_kept(mail_on, client, session, dns):
    signed_in(client, session)
    address = _new_list(client)
    for url, events in (("http://hooks.bank.example/in", ALL),
                        ("https://inside.bank.example/in", ALL),
                        ("https://169.254.169.254/latest/meta-data", ALL),
                        ("https://nowhere.bank.example/in", ALL),
                        ("not an address", ALL),
                        ("https://hooks.bank.example/in", []),
                        ("https://hooks.bank.example/in", ["published"]),
                        ("https://hooks.bank.example/" + "x" * 600, ALL)):
        answer = _register(client, address, url=url, events=events)
        assert answer.status_code == 422, url
        assert 'role="alert"' in answer.get_data(as_text=True)
        assert not SECRET.search(answer.get_data(as_text=True))
    assert _own(session) == []


def test_at_most_three_active_webhooks_a_watchlist(mail_on, client, session, dns):
    signed_in(client, session)
    address = _new_list(client)
    for _ in range(watch_webhooks.MAX_ENDPOINTS):
        assert _register(client, address).status_code == 200
    refused = _register(client, address)
    assert refused.status_code == 422 and not SECRET.search(refused.get_data(as_text=True))
    assert len(_own(session)) == watch_webhooks.MAX_ENDPOINTS
    page = client.get(address).get_data(as_text=True)
    first = _own(session)[0]
    client.post(f"{address}/webhooks/{first.id}/remove", data={"csrf_token": _csrf(page)})
    assert _register(client, address).status_code == 200


def test_another_organisation_sees_and_changes_none_of_them(mail_on, app, client, session, dns):
    signed_in(client, session)
    address = _new_list(client)
    other_list = _new_list(client, "另一个")
    assert _register(client, address).status_code == 200
    [endpoint] = _own(session)
    intruder = app.test_client()
    signed_in(intruder, session, "other@bank.example")
    page = intruder.get("/watch").get_data(as_text=True)
    assert intruder.get(address).status_code == 404
    assert _register(intruder, address, page=page).status_code == 404
    assert intruder.post(f"{address}/webhooks/{endpoint.id}/remove",
                         data={"csrf_token": _csrf(page)}).status_code == 404
    # its own watchlist does not reach another's webhook either
    theirs = _new_list(intruder)
    assert intruder.post(f"{theirs}/webhooks/{endpoint.id}/remove",
                         data={"csrf_token": _csrf(page)}).status_code == 404
    assert endpoint.secret_prefix not in intruder.get(theirs).get_data(as_text=True)
    # nor does the owner's other watchlist
    mine = client.get(other_list).get_data(as_text=True)
    assert endpoint.secret_prefix not in mine
    assert client.post(f"{other_list}/webhooks/{endpoint.id}/remove",
                       data={"csrf_token": _csrf(mine)}).status_code == 404
    assert client.post(f"{address}/webhooks/99999999999/remove",
                       data={"csrf_token": _csrf(mine)}).status_code == 404
    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint.id).active
    # signed out: to the sign-in page
    anonymous = app.test_client()
    answer = anonymous.post(f"{address}/webhooks", data={"url": "https://hooks.bank.example/"})
    assert answer.status_code == 303 and "/watch/login" in answer.headers["Location"]


def test_the_forms_need_their_csrf_token(mail_on, app, client, session, dns):
    signed_in(client, session)
    address = _new_list(client)
    assert _register(client, address).status_code == 200
    [endpoint] = _own(session)
    app.config["WTF_CSRF_ENABLED"] = True
    answer = client.post(address + "/webhooks", data={"url": "https://hooks.bank.example/in",
                                                      "events": ALL})
    assert answer.status_code in (400, 422)
    assert client.post(f"{address}/webhooks/{endpoint.id}/remove", data={}).status_code == 400
    page = client.get(address).get_data(as_text=True)
    assert _register(client, address, page=page).status_code == 200      # with it: fine
    session.expire_all()
    assert len(_own(session)) == 2 and session.get(WebhookEndpoint, endpoint.id).active


def test_deleting_the_watchlist_removes_its_webhooks(mail_on, client, session, dns):
    signed_in(client, session)
    address = _new_list(client)
    assert _register(client, address).status_code == 200
    page = client.get(address).get_data(as_text=True)
    assert client.post(address + "/delete", data={"csrf_token": _csrf(page)}).status_code == 303
    session.expire_all()
    [endpoint] = _own(session)
    assert not endpoint.active and endpoint.deactivated_at is not None


def test_odd_values_are_refused_never_a_server_error(mail_on, client, session, dns):
    signed_in(client, session)
    address = _new_list(client)
    page = client.get(address).get_data(as_text=True)
    odd_urls = ["https://[::1", "https://exa mple.com/", "https://例子.中国/", "https://:443/",
                "https://a..b/", "https:///path", "https://hooks.bank.example:99999/",
                "https://user:pw@hooks.bank.example/", "https://hooks.bank.example/#frag",
                "javascript:alert(1)", "ftp://hooks.bank.example/", "https://" + "a" * 64 + ".cn/",
                " " * 10, "https://xn--fsq.example/"]
    for url in odd_urls:
        answer = _register(client, address, url=url, page=page)
        assert answer.status_code == 422, url
    for events in (["x" * 5000], ["watch.listed", "opened"]):
        assert _register(client, address, events=events, page=page).status_code == 422
    for path in (f"{address}/webhooks/0/remove", f"{address}/webhooks/-1/remove",
                 f"{address}/webhooks/abc/remove", f"{address}/webhooks/２/remove"):
        assert client.post(path, data={"csrf_token": _csrf(page)}).status_code in (404, 405)
    assert _own(session) == []
    # a kind named many times is one kind
    assert _register(client, address, events=["watch.listed"] * 500, page=page).status_code == 200
    assert [e.event_types for e in _own(session)] == [["watch.listed"]]


@pytest.mark.usefixtures("fast_passwords")
def test_an_id_number_in_the_address_is_shown_masked(mail_on, app, client, session, dns):
    """An outsider's address is its own text: a resident ID number in its host or path is
    masked wherever the portal shows or keeps it (its page, the audit log, the back office)."""
    number = "11010519491231002X"
    dns[f"{number.lower()}.bank.example"] = ["93.184.216.34"]
    signed_in(client, session)
    address = _new_list(client)
    url = f"https://{number}.bank.example/in/{number}"
    assert _register(client, address, url=url).status_code == 200
    [endpoint] = _own(session)
    assert endpoint.url == url                           # the receiver is still asked for it
    shown = {"own page": client.get(address).get_data(as_text=True),
             "audit": str(session.scalar(sa.select(AuditEvent.data).where(
                 AuditEvent.action == "webhook.create")))}
    staff_client = app.test_client()
    login(staff_client, staff(session, Role.ADMIN, "admin.zhou"))
    for page in ("/admin/webhooks/", f"/admin/webhooks/{endpoint.id}",
                 "/admin/audit/?action=webhook.create"):
        answer = staff_client.get(page)
        assert answer.status_code == 200, page
        shown[page] = answer.get_data(as_text=True)
    for where, text in shown.items():
        assert number not in text and number.lower() not in text, where
        assert "1101**********002X".lower() in text.lower(), where


def test_reloading_the_page_that_showed_the_secret_registers_nothing_more(mail_on, client,
                                                                          session, dns):
    signed_in(client, session)
    address = _new_list(client)
    page = client.get(address).get_data(as_text=True)
    posted = client.post(address + "/webhooks", data={
        "csrf_token": _csrf(page), "url": "https://hooks.bank.example/in", "events": ALL})
    assert posted.status_code == 303 and posted.headers["Location"].endswith(
        address + "#webhooks")
    shown = client.get(posted.headers["Location"])
    assert shown.headers["Cache-Control"].startswith("no-store")
    [secret] = set(SECRET.findall(shown.get_data(as_text=True)))
    reloaded = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert secret not in reloaded                       # shown once, and nothing registered again
    assert len(_own(session)) == 1
