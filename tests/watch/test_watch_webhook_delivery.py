"""An organisation's watchlist told by webhook: the watch job queues each alert to the
watchlist's own active webhooks that asked for its type (as a client's watchlist is told at
the client's), and end to end the worker delivers it, signed, to a real receiver."""
from __future__ import annotations

import re

import sqlalchemy as sa

from portal import clock
from portal.models import DeliveryStatus, SubjectKind, Subscriber, WebhookDelivery
from portal.services import watch_webhooks, watchlists, webhook_delivery, webhooks
from portal.services.audit import Actor
from tests.factories import make_subject, published_case
from tests.services.test_webhooks import readme_verify
from tests.watch.test_watch_alerts import _run, _watching
from tests.watch.test_watch_pages import _csrf, _new_list, signed_in
from tests.web.integration_support import new_client
from tests.webhook_support import Receiver, worker_running

BOUND = 60.0


def _hook(app, session, watchlist, url, events=watch_webhooks.EVENT_TYPES):
    endpoint, _secret = watch_webhooks.register(
        session, Actor("subscriber:1"), watchlist, url, events,
        secret_key=app.config["SECRET_KEY"], now=clock.now(),
        allow_http_hosts=["127.0.0.1"])
    return endpoint


def _deliveries(session, endpoint):
    return session.scalars(sa.select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id).order_by(WebhookDelivery.id)).all()


def test_each_alert_goes_to_the_watchlists_webhooks_that_asked_for_its_type(app, session):
    _run(app, session)                                   # the job starts at the log's end
    subject = make_subject(session, SubjectKind.ORGANISATION)
    mine, _ = _watching(app, session, [subject.uscc], "mine")
    other, _ = _watching(app, session, [], "other")      # watches nothing: told nothing
    client, _token = new_client(session, ["webhooks:manage", "watchlists:manage"])
    theirs = watchlists.create(session, app.config["SECRET_KEY"], "客户的", now=clock.now(),
                               api_client_id=client.id)
    watchlists.add_codes(session, app.config["PORTAL_LOOKUP_KEY"], theirs,
                         [(1, subject.uscc, "客户标签")], clock.today(), clock.now())
    url = "http://127.0.0.1:9/in"                         # nothing is sent in this test
    everything = _hook(app, session, mine, url)
    removals = _hook(app, session, mine, url, ["watch.removed"])
    gone = _hook(app, session, mine, url)
    watch_webhooks.remove(session, Actor("subscriber:1"), gone, clock.now())
    elsewhere = _hook(app, session, other, url)
    clients, _secret = webhooks.register(
        session, Actor("api:test"), url, ["watch.listed"], secret_key=app.config["SECRET_KEY"],
        now=clock.now(), allow_http_hosts=["127.0.0.1"], client=client)
    session.commit()

    published_case(session, app, subject=subject)
    session.commit()
    told = {a.watchlist_id: a for a in _run(app, session)}
    alert = told[mine.id]

    [delivery] = _deliveries(session, everything)
    assert delivery.event_type == "watch.listed" and delivery.event_id == f"watch.{alert.id}"
    assert delivery.subject_key == f"entry:{alert.public_id}"
    assert delivery.position == alert.position
    assert delivery.payload == {"watchlist": {"id": mine.id, "name": "mine"}, "event": "listed",
                                "label": "标签0", "entry": alert.payload}
    assert delivery.payload["entry"]["code"] == subject.uscc
    assert _deliveries(session, removals) == [] and _deliveries(session, gone) == []
    assert _deliveries(session, elsewhere) == []
    # the client's watchlist is told at the client's webhook, in the same shape
    [theirs_told] = _deliveries(session, clients)
    assert theirs_told.event_id == f"watch.{told[theirs.id].id}"
    assert theirs_told.payload["watchlist"] == {"id": theirs.id, "name": "客户的"}
    assert theirs_told.payload["label"] == "客户标签"


def test_an_inactive_organisations_webhooks_are_not_told(app, session):
    _run(app, session)
    subject = make_subject(session, SubjectKind.ORGANISATION)
    mine, _ = _watching(app, session, [subject.uscc], "mine")
    endpoint = _hook(app, session, mine, "http://127.0.0.1:9/in")
    session.get(Subscriber, mine.subscriber_id).active = False
    session.commit()
    published_case(session, app, subject=subject)
    session.commit()
    assert [a.event for a in _run(app, session)] == ["listed"]
    assert _deliveries(session, endpoint) == []


def test_what_waits_for_an_organisation_the_bureau_closed_is_not_sent(app, session):
    """Queued (or retrying) before the bureau closed the organisation's account: held back,
    not sent — as its feed stops answering — and sent if the account is opened again."""
    mine, _ = _watching(app, session, [], "mine")
    with Receiver() as receiver:
        endpoint = _hook(app, session, mine, receiver.url)
        queued = webhooks.enqueue(session, endpoint, "watch.listed", "entry:A1", {"n": 1})
        owner = session.get(Subscriber, mine.subscriber_id)
        owner.active = False
        session.commit()
        held = webhook_delivery.deliver_due(session, app.config, "host-a", clock.now(),
                                            after_each=session.commit)
        assert held.tried == 0 and receiver.requests == []
        assert not webhook_delivery.any_due(session, clock.now())
        assert session.get(WebhookDelivery, queued.id).status is DeliveryStatus.PENDING
        owner.active = True
        session.commit()
        sent = webhook_delivery.deliver_due(session, app.config, "host-a", clock.now(),
                                            after_each=session.commit)
        assert sent.delivered == 1 and [r.json["data"] for r in receiver.requests] == [{"n": 1}]


def test_a_listing_reaches_the_organisations_receiver_signed(app, session):
    """Through the pages and the real worker loop: sign in, a watchlist with a code, a
    webhook to the receiver; staff publish the entry; the signed alert arrives."""
    app.config["PORTAL_SMTP_HOST"] = "127.0.0.1"        # registration needs a mail server
    browser = app.test_client()
    signed_in(browser, session)
    app.config["PORTAL_SMTP_HOST"] = None               # and no e-mail is sent afterwards
    subject = make_subject(session, SubjectKind.ORGANISATION)
    session.commit()
    address = _new_list(browser)
    page = browser.get(address).get_data(as_text=True)
    added = browser.post(address + "/codes", data={"csrf_token": _csrf(page),
                                                   "codes": f"{subject.uscc},甲供应商"})
    assert added.status_code == 303
    _run(app, session)                                  # the watch job starts at the log's end
    verify = readme_verify()
    with Receiver() as receiver:
        answer = browser.post(address + "/webhooks", data={
            "csrf_token": _csrf(page), "url": receiver.url, "events": ["watch.listed"]},
            follow_redirects=True)
        assert answer.status_code == 200
        [secret] = set(re.findall(r"whsec_[A-Za-z0-9_-]{40,}", answer.get_data(as_text=True)))
        with worker_running(app, "host-org-hook"):
            published_case(session, app, subject=subject)
            session.commit()
            assert receiver.wait_for(lambda: receiver.accepted(), timeout=BOUND)
    [got] = receiver.accepted()
    assert verify(secret, got.headers, got.body, now=int(got.headers["X-Portal-Timestamp"]))
    assert not verify("whsec_another", got.headers, got.body,
                      now=int(got.headers["X-Portal-Timestamp"]))
    body = got.json
    assert body["type"] == "watch.listed" == got.headers["X-Portal-Event"]
    assert body["id"] == got.headers["X-Portal-Event-Id"] and body["id"].startswith("watch.")
    assert body["data"]["entry"]["code"] == subject.uscc
    assert body["data"]["label"] == "甲供应商" and body["data"]["event"] == "listed"
