"""The issue's bound, end to end: a listing staff publish reaches an organisation watching
the code by e-mail (a real local SMTP server) and at its own webhook receiver, and an API
client's webhook receiver watching it — both receivers down for the first seconds — within
60 s, through the real worker loop.

Nothing is frozen: the worker's jobs, the mail queue, the back-off and both servers are real.
The latencies from the publication's commit are printed (``-s``); only the bound is asserted.
"""
from __future__ import annotations

import threading
import time

from portal import clock
from portal.services import subscribers, watch_webhooks, watchlists, webhooks
from portal.services.audit import Actor
from tests.factories import make_subject, published_case
from tests.services.test_notifications import smtp_server  # noqa: F401 - the fixture
from tests.web.integration_support import new_client
from tests.webhook_support import Receiver, worker_running

BOUND = 60.0
DOWN = 3.0            # seconds the receiver answers 500 after the publication


def _watched(app, session, code):
    key, secret = app.config["PORTAL_LOOKUP_KEY"], app.config["SECRET_KEY"]
    owner, _token = subscribers.register(session, "某银行", "risk@bank.example", "long enough pw",
                                         "zh_CN", clock.now())
    owner.email_verified_at = clock.now()
    mine = watchlists.create(session, secret, "供应商", subscriber_id=owner.id, now=clock.now())
    client, _api_token = new_client(session, ["watchlists:manage", "webhooks:manage"])
    theirs = watchlists.create(session, secret, "待付款单位", api_client_id=client.id,
                               now=clock.now())
    for watchlist in (mine, theirs):
        watchlists.add_codes(session, key, watchlist, [(1, code, "甲供应商")], clock.today(),
                             clock.now())
    return client, mine


def _first_listed(receiver, published):
    return next(r for r in receiver.accepted() if r.json["type"] == "watch.listed").at - published


def test_a_listing_reaches_a_watching_subscriber_and_a_receiver_that_was_down(
        app, session, smtp_server):                                     # noqa: F811
    app.config["PORTAL_WEBHOOK_TIMEOUT_SECONDS"] = 1.0
    subject = make_subject(session)
    client, mine = _watched(app, session, subject.uscc)
    with Receiver(mode="fail") as receiver, Receiver(mode="fail") as own:
        webhooks.register(session, Actor("api:test"), receiver.url, ["watch.listed"],
                          secret_key=app.config["SECRET_KEY"], now=clock.now(),
                          allow_http_hosts=["127.0.0.1"], client=client)
        watch_webhooks.register(session, Actor("subscriber:test"), mine, own.url,
                                ["watch.listed"], secret_key=app.config["SECRET_KEY"],
                                now=clock.now(), allow_http_hosts=["127.0.0.1"])
        session.commit()
        with worker_running(app, "host-watch"):
            time.sleep(1.0)                 # the watch job has started at the change log's end
            published_case(session, app, subject=subject)
            session.commit()
            published = time.monotonic()
            mailed = threading.Event()
            mailed_at = []

            def wait_mail():
                if smtp_server.wait(1, timeout=BOUND):
                    mailed_at.append(time.monotonic() - published)
                mailed.set()

            threading.Thread(target=wait_mail, daemon=True).start()
            while time.monotonic() - published < DOWN:
                time.sleep(0.02)
            receiver.mode = own.mode = "ok"
            for server in (receiver, own):
                assert server.wait_for(lambda server=server: any(
                    r.json["type"] == "watch.listed" for r in server.accepted()), timeout=BOUND)
            hooked, own_hooked = _first_listed(receiver, published), _first_listed(own, published)
            failed = sum(1 for r in receiver.requests if r.mode != "ok")
            own_failed = sum(1 for r in own.requests if r.mode != "ok")
            assert mailed.wait(BOUND) and mailed_at
    for server in (receiver, own):
        body = server.accepted()[0].json
        assert body["data"]["entry"]["code"] == subject.uscc and body["data"]["label"] == "甲供应商"
    assert own.accepted()[0].json["data"]["watchlist"]["id"] == mine.id
    (to, message), = smtp_server.messages
    assert to == ["risk@bank.example"] and subject.name in message.get_content()
    print(f"\n[watch latency on {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}] "
          f"publish→e-mail {mailed_at[0]:.2f} s; publish→the organisation's webhook "
          f"{own_hooked:.2f} s ({own_failed} refused attempts); publish→the client's webhook "
          f"{hooked:.2f} s ({failed} refused attempts); each receiver down for the first "
          f"{DOWN:.1f} s")
    assert failed and hooked >= DOWN and own_failed and own_hooked >= DOWN
    assert mailed_at[0] < BOUND and hooked < BOUND and own_hooked < BOUND
