"""The guard on organisations' webhooks: an address in a private network is refused when it is
registered and at every delivery attempt, and the connection goes to the address that was
checked (no second look-up), with the URL's host kept for the Host header and TLS.

Only the resolver (``webhook_guard.resolve``) is replaced, never the guard; nothing here
connects anywhere but 127.0.0.1 — a refused address is refused before any connection.
"""
from __future__ import annotations

import datetime as dt
import threading

import httpcore
import httpx
import pytest
import sqlalchemy as sa
import time_machine

from portal import clock
from portal.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from portal.services import watch_webhooks, webhook_delivery, webhook_guard, webhooks
from portal.services.audit import Actor
from tests.web.integration_support import new_client
from tests.webhook_support import Receiver

PUBLIC = "93.184.216.34"

REFUSED = ["127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254",
           "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "198.18.0.1", "192.0.0.8",
           "240.0.0.1", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "ff02::1",
           "::ffff:10.0.0.1", "::ffff:127.0.0.1", "::ffff:93.184.216.34", "64:ff9b::a00:1",
           "2002:a00:1::", "2001::1", "2001:db8::1", "::a00:1", "fe80::1%eth0", "not an address"]


@pytest.mark.parametrize("address", REFUSED)
def test_addresses_that_are_not_public_are_refused(address):
    assert not webhook_guard.is_public(address)


@pytest.mark.parametrize("address", [PUBLIC, "8.8.8.8", "2606:4700::1111", "2a00:1450::1"])
def test_public_addresses_pass(address):
    assert webhook_guard.is_public(address)


def test_only_api_clients_endpoints_are_not_guarded():
    assert webhook_guard.applies_to(None) and not webhook_guard.applies_to(7)


@pytest.fixture
def dns(monkeypatch):
    """The resolver answers from this table (a name missing from it does not resolve)."""
    table: dict[str, list[str]] = {}

    def resolve(host, port):
        if host not in table:
            raise OSError("no such host")
        return list(table[host])

    monkeypatch.setattr(webhook_guard, "resolve", resolve)
    return table


@pytest.fixture
def strict(app):
    """No host is exempt, as in production."""
    app.config["PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS"] = []
    return app


def _watchlist(app, session, name="供应商"):
    from tests.watch.test_watch_alerts import _watching

    watchlist, _added = _watching(app, session, [], name)
    return watchlist


def _register(app, session, watchlist, url, events=watch_webhooks.EVENT_TYPES):
    return watch_webhooks.register(
        session, Actor("subscriber:1"), watchlist, url, events,
        secret_key=app.config["SECRET_KEY"], now=clock.now(),
        allow_http_hosts=app.config["PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS"])


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/hook", "https://10.20.30.40/hook", "https://169.254.169.254/latest",
    "https://[::1]:8443/hook", "https://[::ffff:192.168.0.1]/hook", "https://100.100.100.200/",
    "https://localhost/hook", "https://0.0.0.0/hook"])
def test_a_private_address_is_refused_at_registration(strict, session, url):
    watchlist = _watchlist(strict, session)
    with pytest.raises(webhooks.WebhookError) as refused:
        _register(strict, session, watchlist, url)
    assert refused.value.code == "private_address" and refused.value.field == "url"


def test_a_name_is_refused_if_any_of_its_addresses_is_private(strict, session, dns):
    watchlist = _watchlist(strict, session)
    dns["hooks.bank.example"] = [PUBLIC, "10.0.0.7"]
    dns["inside.bank.example"] = ["192.168.10.10"]
    for url in ("https://hooks.bank.example/in", "https://inside.bank.example/in"):
        with pytest.raises(webhooks.WebhookError) as refused:
            _register(strict, session, watchlist, url)
        assert refused.value.code == "private_address"
    with pytest.raises(webhooks.WebhookError) as refused:
        _register(strict, session, watchlist, "https://nowhere.bank.example/in")
    assert refused.value.code == "unresolvable_host"
    dns["hooks.bank.example"] = [PUBLIC, "2606:4700::1111"]
    endpoint, _secret = _register(strict, session, watchlist, "https://hooks.bank.example/in")
    assert endpoint.active and endpoint.owner_kind == "watchlist"


def test_an_api_clients_address_in_the_bureaus_network_is_accepted(strict, session):
    client, _token = new_client(session, ["webhooks:manage"])
    endpoint, _secret = webhooks.register(
        session, Actor("api:test"), "https://10.20.30.40/hook", ["watch.listed"],
        secret_key=strict.config["SECRET_KEY"], now=clock.now(), client=client)
    assert endpoint.active


def _round(app, session):
    return webhook_delivery.deliver_due(session, app.config, "host-a",
                                        webhook_delivery.clock.now(), after_each=session.commit)


def _attempts(session, delivery_id):
    return session.scalars(sa.select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)).all()


def test_a_name_that_turns_private_after_registration_is_refused_at_delivery(strict, session,
                                                                            dns):
    watchlist = _watchlist(strict, session)
    dns["hooks.bank.example"] = [PUBLIC]
    endpoint, _secret = _register(strict, session, watchlist, "https://hooks.bank.example/in")
    queued = webhooks.enqueue(session, endpoint, "watch.listed", "entry:A1", {"n": 1})
    session.commit()
    dns["hooks.bank.example"] = ["127.0.0.1"]             # the owner's DNS answers otherwise now
    with time_machine.travel(clock.now(), tick=True) as traveller:
        result = _round(strict, session)
        assert (result.retrying, result.delivered) == (1, 0)
        row = session.get(WebhookDelivery, queued.id, populate_existing=True)
        assert row.status is DeliveryStatus.PENDING and row.attempts == 1
        assert row.last_error == "RefusedAddress" and row.last_status_code is None
        assert [(a.status_code, a.error) for a in _attempts(session, queued.id)] == [
            (None, "RefusedAddress")]
        # the usual way on: backed off, then given up after the last attempt
        row.attempts = webhook_delivery.MAX_ATTEMPTS - 1
        session.commit()
        traveller.shift(dt.timedelta(hours=2))
        dns["hooks.bank.example"] = ["169.254.169.254"]
        assert _round(strict, session).dead == 1
        row = session.get(WebhookDelivery, queued.id, populate_existing=True)
        assert row.status is DeliveryStatus.DEAD and row.last_error == "RefusedAddress"
        # a name that no longer resolves
        dns.pop("hooks.bank.example")
        again = webhooks.enqueue(session, endpoint, "watch.removed", "entry:A2", {"n": 2})
        session.commit()
        _round(strict, session)
        assert session.get(WebhookDelivery, again.id).last_error == "UnresolvableHost"


def test_a_loopback_receiver_is_refused_at_delivery_unless_its_host_is_exempt(app, session):
    """The tests' receiver listens on 127.0.0.1: exempt by the testing settings, refused
    without them — the organisation's delivery never reaches it, the API client's does."""
    watchlist = _watchlist(app, session)
    client, _token = new_client(session, ["webhooks:manage"])
    with Receiver() as receiver:
        mine, _secret = _register(app, session, watchlist, receiver.url)
        theirs, _secret = webhooks.register(
            session, Actor("api:test"), receiver.url, ["watch.listed"],
            secret_key=app.config["SECRET_KEY"], now=clock.now(),
            allow_http_hosts=app.config["PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS"], client=client)
        refused = webhooks.enqueue(session, mine, "watch.listed", "entry:A1", {"to": "org"})
        webhooks.enqueue(session, theirs, "watch.listed", "entry:A1", {"to": "client"})
        session.commit()
        app.config["PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS"] = []
        result = _round(app, session)
        assert (result.delivered, result.retrying) == (1, 1)
        assert [r.json["data"] for r in receiver.requests] == [{"to": "client"}]
        assert session.get(WebhookDelivery, refused.id).last_error == "RefusedAddress"

        app.config["PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS"] = ["127.0.0.1"]
        with time_machine.travel(clock.now() + dt.timedelta(minutes=1)):
            assert _round(app, session).delivered == 1
        assert [r.json["data"] for r in receiver.requests] == [{"to": "client"}, {"to": "org"}]


class _Stream(httpcore.NetworkStream):
    def __init__(self, seen):
        self.seen, self.answer = seen, [b"HTTP/1.1 204 No Content\r\n\r\n"]

    def read(self, max_bytes, timeout=None):
        return self.answer.pop(0) if self.answer else b""

    def write(self, buffer, timeout=None):
        self.seen["written"] += buffer

    def close(self):
        pass

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        self.seen["sni"].append(server_hostname)
        return self

    def get_extra_info(self, info):
        return None


class _Sockets(httpcore.NetworkBackend):
    """Stands for the operating system's sockets: records where it was asked to connect."""

    def __init__(self):
        self.seen = {"connects": [], "sni": [], "written": b""}

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        self.seen["connects"].append((host, port))
        return _Stream(self.seen)


def test_the_connection_goes_to_the_address_checked_with_the_hosts_name_kept(dns):
    sockets = _Sockets()
    transport = webhook_guard.guarded_transport(True, httpx.Limits(max_connections=2),
                                                inner=sockets)
    dns["hooks.bank.example"] = [PUBLIC]
    with httpx.Client(transport=transport) as client:
        answer = client.post("https://hooks.bank.example:8443/in?t=1", content=b"{}")
        assert answer.status_code == 204
        assert sockets.seen["connects"] == [(PUBLIC, 8443)]      # never the name again
        assert sockets.seen["sni"] == ["hooks.bank.example"]     # SNI and the certificate's name
        assert b"Host: hooks.bank.example:8443\r\n" in sockets.seen["written"]
        assert sockets.seen["written"].startswith(b"POST /in?t=1 HTTP/1.1\r\n")

        dns["rebound.bank.example"] = ["10.0.0.1"]
        with pytest.raises(webhook_guard.Refused):
            client.post("https://rebound.bank.example/in", content=b"{}")
        assert len(sockets.seen["connects"]) == 1                # refused before connecting


@pytest.fixture
def stalled_dns(monkeypatch):
    """A resolver that answers only once the test is over, as a name whose owner's DNS never
    answers in time (``answer``: what it says then)."""
    release, answer = threading.Event(), {"addresses": [PUBLIC]}

    def resolve(host, port):
        release.wait(5)
        return list(answer["addresses"])

    monkeypatch.setattr(webhook_guard, "resolve", resolve)
    monkeypatch.setattr(webhook_guard, "LOOKUP_TIMEOUT", 0.05, raising=False)
    yield answer
    release.set()


def test_a_name_whose_dns_does_not_answer_in_time_is_refused(strict, session, stalled_dns):
    """A registration or a delivery never waits on an outsider's DNS beyond the time
    allowed: the host counts as unresolvable, and nothing is connected to."""
    watchlist = _watchlist(strict, session)
    with pytest.raises(webhooks.WebhookError) as refused:
        _register(strict, session, watchlist, "https://slow.bank.example/in")
    assert refused.value.code == "unresolvable_host"

    sockets = _Sockets()
    transport = webhook_guard.guarded_transport(True, httpx.Limits(max_connections=2),
                                                inner=sockets)
    with httpx.Client(transport=transport, timeout=0.05) as client:
        with pytest.raises(webhook_guard.Refused) as refused:
            client.post("https://slow.bank.example/in", content=b"{}")
    assert refused.value.code == "unresolvable_host" and sockets.seen["connects"] == []


def test_a_round_is_not_held_by_a_name_whose_dns_does_not_answer(strict, session, monkeypatch,
                                                                   stalled_dns):
    watchlist = _watchlist(strict, session)
    stalled = webhook_guard.resolve
    monkeypatch.setattr(webhook_guard, "resolve", lambda host, port: [PUBLIC])
    endpoint, _secret = _register(strict, session, watchlist, "https://hooks.bank.example/in")
    queued = webhooks.enqueue(session, endpoint, "watch.listed", "entry:A1", {"n": 1})
    session.commit()
    monkeypatch.setattr(webhook_guard, "resolve", stalled)   # its DNS stops answering in time
    stalled_dns["addresses"] = ["10.0.0.1"]                  # (and would answer this, late)
    strict.config["PORTAL_WEBHOOK_TIMEOUT_SECONDS"] = 0.05
    assert _round(strict, session).retrying == 1
    assert session.get(WebhookDelivery, queued.id).last_error == "UnresolvableHost"
