"""Webhook deliveries against a real receiver on 127.0.0.1 that fails, times out and recovers.

The clock (``portal.clock``) is moved with time-machine past each back-off instead of
waiting for it; the receiver's answers and the sender's timeouts are real.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pytest
import sqlalchemy as sa
import time_machine

from portal.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from portal.services import webhook_delivery as delivery
from portal.services import webhooks
from portal.services.audit import Actor
from tests.factories import make_staff, published_case
from tests.web.integration_support import new_client
from tests.webhook_support import Receiver

START = dt.datetime(2026, 5, 4, 2, 0, tzinfo=dt.UTC)
HOST = "host-a"


@pytest.fixture
def traveller():
    with time_machine.travel(START, tick=True) as moving:
        yield moving


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def _endpoint(app, session, url, events=webhooks.FEED_EVENTS):
    client, _token = new_client(session, ["changes:read", "webhooks:manage"])
    endpoint, secret = webhooks.register(
        session, Actor("api:test"), url, events, secret_key=app.config["SECRET_KEY"],
        now=START, allow_http_hosts=["127.0.0.1"], client=client)
    session.commit()
    return endpoint, secret


def _round(app, session, limit=100):
    return delivery.deliver_due(session, app.config, HOST, delivery.clock.now(),
                                after_each=session.commit, limit=limit)


def aware(at: dt.datetime) -> dt.datetime:
    """A timestamp as stored (SQLite gives it back without its zone: UTC)."""
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def _attempts(session, delivery_id):
    return session.execute(sa.select(WebhookAttempt).where(
        WebhookAttempt.delivery_id == delivery_id).order_by(WebhookAttempt.id)).scalars().all()


def test_a_delivery_is_signed_and_carries_its_headers(app, session, receiver, traveller):
    endpoint, secret = _endpoint(app, session, receiver.url)
    queued = webhooks.enqueue(session, endpoint, "published", "subject:1", {"case_no": "X-1"}, 7)
    session.commit()
    assert _round(app, session).delivered == 1
    [got] = receiver.requests
    headers = {k.lower(): v for k, v in got.headers.items()}
    assert headers["x-portal-event"] == "published"
    assert headers["x-portal-event-id"] == "published.7" == got.json["id"]
    assert headers["x-portal-delivery"] == str(queued.id)
    assert abs(int(headers["x-portal-timestamp"]) - START.timestamp()) < 60
    expected = hmac.new(secret.encode(), headers["x-portal-timestamp"].encode() + b"." + got.body,
                        hashlib.sha256).hexdigest()
    assert headers["x-portal-signature"] == f"v1={expected}"
    assert got.json["data"] == {"case_no": "X-1"} and got.json["type"] == "published"
    assert secret not in got.body.decode() and secret.startswith("whsec_")
    stored = session.get(WebhookEndpoint, endpoint.id)
    assert secret.encode() not in bytes(stored.secret_sealed)
    assert webhooks.secret_of(app.config["SECRET_KEY"], stored) == secret
    with pytest.raises(ValueError):
        webhooks.secret_of("another-key", stored)


def test_failures_and_timeouts_back_off_then_the_receiver_recovers(app, session, receiver,
                                                                   traveller):
    app.config["PORTAL_WEBHOOK_TIMEOUT_SECONDS"] = 0.3
    receiver.slow_seconds = 1.5
    endpoint, _secret = _endpoint(app, session, receiver.url)
    queued = webhooks.enqueue(session, endpoint, "published", "subject:1", {"n": 1}, 10)
    session.commit()
    pauses = []
    for mode in ("fail", "slow", "fail", "slow"):
        receiver.mode = mode
        before = delivery.clock.now()
        result = _round(app, session)
        assert result.retrying == 1 and result.tried == 1
        row = session.get(WebhookDelivery, queued.id, populate_existing=True)
        pauses.append((aware(row.next_attempt_at) - before).total_seconds())
        assert _round(app, session).tried == 0              # not due again before its pause
        traveller.shift(aware(row.next_attempt_at) - delivery.clock.now()
                        + dt.timedelta(seconds=0.01))
    receiver.mode = "ok"
    assert _round(app, session).delivered == 1
    row = session.get(WebhookDelivery, queued.id, populate_existing=True)
    assert row.status is DeliveryStatus.DELIVERED and row.attempts == 5
    assert row.last_status_code == 204 and row.last_error is None and row.delivered_at
    log = _attempts(session, queued.id)
    assert [(a.status_code, a.error) for a in log] == [
        (500, "UnexpectedStatus"), (None, "ReadTimeout"), (500, "UnexpectedStatus"),
        (None, "ReadTimeout"), (204, None)]
    assert all(a.duration_ms >= 250 for a in log if a.error == "ReadTimeout")
    # 2 s, 4 s, 8 s, 16 s, each shortened by at most a fifth (jitter)
    for attempt, pause in enumerate(pauses, start=1):
        nominal = 2 ** attempt
        assert nominal * (1 - delivery.JITTER) - 0.5 <= pause <= nominal + 0.5, pauses
    assert pauses == sorted(pauses)
    # the receiver took it once, and met the failures before
    assert [r.mode for r in receiver.requests] == ["fail", "slow", "fail", "slow", "ok"]


def test_the_back_off_schedule_grows_to_an_hour_and_gives_up_after_about_a_day():
    class Fixed:
        def random(self):
            return 0.0                     # no jitter

    pauses = [delivery.pause_after(n, Fixed()) for n in range(1, delivery.MAX_ATTEMPTS)]
    assert [p.total_seconds() for p in pauses[:5]] == [2, 4, 8, 16, 32]
    assert max(pauses) == delivery.LONGEST_PAUSE == pauses[-1]
    assert pauses == sorted(pauses)
    total = sum(pauses, dt.timedelta())
    assert dt.timedelta(hours=16) < total < dt.timedelta(hours=26)
    assert delivery.pause_after(3).total_seconds() <= 8


def test_deliveries_of_one_subject_go_in_order_others_are_not_held_up(app, session, receiver,
                                                                      traveller):
    endpoint, _secret = _endpoint(app, session, receiver.url)
    # queued out of order: the position decides
    for position, subject in ((12, "a"), (11, "a"), (13, "a"), (20, "b")):
        webhooks.enqueue(session, endpoint, "published", f"subject:{subject}",
                         {"position": position}, position)
    session.commit()
    receiver.mode = "fail"
    assert _round(app, session).tried == 2            # the first of each subject only
    assert sorted(r.json["data"]["position"] for r in receiver.requests) == [11, 20]
    traveller.shift(dt.timedelta(seconds=3))
    receiver.mode = "ok"
    assert _round(app, session).delivered == 4
    taken = [r.json["data"]["position"] for r in receiver.accepted()]
    assert [p for p in taken if p < 20] == [11, 12, 13]
    assert taken.index(20) < taken.index(12)          # subject b did not wait for a's backlog


def test_a_dead_delivery_no_longer_holds_back_its_subject_and_can_go_again(
        app, session, receiver, traveller, monkeypatch):
    from portal.models import Role

    monkeypatch.setattr(delivery, "MAX_ATTEMPTS", 3)
    endpoint, _secret = _endpoint(app, session, receiver.url)
    first = webhooks.enqueue(session, endpoint, "published", "subject:1", {"n": 1}, 1)
    second = webhooks.enqueue(session, endpoint, "removed", "subject:1", {"n": 2}, 2)
    session.commit()
    receiver.mode = "fail"
    for attempt in range(2):
        assert _round(app, session).tried == 1        # only the first: the second waits
        traveller.shift(dt.timedelta(seconds=2 ** (attempt + 1) + 1))
    assert {r.json["id"] for r in receiver.requests} == {"published.1"}
    # the last attempt: dead, and the second goes in the same round (and fails too)
    assert _round(app, session) == delivery.DeliveryResult(retrying=1, dead=1)
    row = session.get(WebhookDelivery, first.id, populate_existing=True)
    assert row.status is DeliveryStatus.DEAD and row.attempts == 3 and row.next_attempt_at is None
    assert [r.json["id"] for r in receiver.requests][-1] == "removed.2"
    traveller.shift(dt.timedelta(seconds=3))
    receiver.mode = "ok"
    assert _round(app, session).delivered == 1         # the second goes past the dead one
    assert receiver.accepted()[-1].json["id"] == "removed.2"
    admin = make_staff(session, Role.ADMIN)
    assert [d.id for d in delivery.dead_letters(session, _everything(session, admin))] == [first.id]
    delivery.deliver_again(session, admin, row, delivery.clock.now())
    session.commit()
    with pytest.raises(delivery.DeliveryError):
        delivery.deliver_again(session, admin, row, delivery.clock.now())
    assert _round(app, session).delivered == 1
    assert receiver.accepted()[-1].json["id"] == "published.1"
    assert session.get(WebhookDelivery, second.id).status is DeliveryStatus.DELIVERED


def _everything(session, user):
    from portal.services import scope

    return scope.staff_scope(session, user)


def test_redirects_are_not_followed(app, session, receiver, traveller):
    endpoint, _secret = _endpoint(app, session, receiver.url)
    queued = webhooks.enqueue(session, endpoint, "published", "subject:1", {}, 1)
    session.commit()
    receiver.mode = "redirect"
    assert _round(app, session).retrying == 1
    assert receiver.count() == 1
    assert [(a.status_code, a.error) for a in _attempts(session, queued.id)] == [(307, "Redirect")]


def test_a_receiver_that_is_not_listening_is_a_failed_attempt(app, session, traveller):
    with Receiver() as gone:
        url = gone.url
    endpoint, _secret = _endpoint(app, session, url)
    queued = webhooks.enqueue(session, endpoint, "published", "subject:1", {}, 1)
    session.commit()
    assert _round(app, session).retrying == 1
    assert _attempts(session, queued.id)[0].error == "ConnectError"


def test_a_published_listing_is_fanned_out_once_and_replayed_with_the_same_ids(
        app, session, receiver, traveller):
    endpoint, _secret = _endpoint(app, session, receiver.url, ["listing_decided", "published"])
    case = published_case(session, app)
    session.commit()
    assert webhooks.fan_out(session, delivery.clock.now(), after_each=session.commit) == 2
    assert webhooks.fan_out(session, delivery.clock.now(), after_each=session.commit) == 0
    assert session.get(WebhookEndpoint, endpoint.id).cursor == webhooks.head_position(session)
    receiver.mode = "fail"
    _round(app, session)
    traveller.shift(dt.timedelta(seconds=3))
    receiver.mode = "ok"
    assert _round(app, session).delivered == 2
    got = [r.json for r in receiver.accepted()]
    assert [(g["type"], g["data"]["case_no"]) for g in got] == [
        ("listing_decided", case.case_no), ("published", case.case_no)]
    assert got[1]["data"]["state"] == "published" and got[1]["data"]["position"] > 0

    first = got[0]["data"]["position"]
    cursor = webhooks.replay(session, Actor("api:test"), endpoint, first - 1)
    session.commit()
    assert cursor == first - 1
    assert webhooks.fan_out(session, delivery.clock.now(), after_each=session.commit) == 2
    assert _round(app, session).delivered == 2
    again = [r for r in receiver.accepted()][2:]
    assert [r.json["id"] for r in again] == [g["id"] for g in got]          # same event ids
    assert {r.headers["X-Portal-Delivery"] for r in again}.isdisjoint(
        {r.headers["X-Portal-Delivery"] for r in receiver.accepted()[:2]})
    # replaying from beyond the cursor changes nothing
    now_at = session.get(WebhookEndpoint, endpoint.id).cursor
    assert webhooks.replay(session, Actor("api:test"), endpoint, 10 ** 9) == now_at


def test_the_fan_out_gives_way_when_another_host_moved_the_cursor(app, session, receiver):
    from portal.extensions import db
    from portal.models import ApiClient

    endpoint, _secret = _endpoint(app, session, receiver.url)
    published_case(session, app)
    session.commit()
    mine = session.get(WebhookEndpoint, endpoint.id)
    api_client = session.get(ApiClient, mine.api_client_id)
    stale = mine.cursor                       # read before the other host moves it
    with sa.orm.Session(db.engine) as other_host:
        other_host.execute(sa.update(WebhookEndpoint).where(
            WebhookEndpoint.id == endpoint.id).values(cursor=stale + 1))
        other_host.commit()
    assert webhooks._fan_out_one(session, mine, api_client, webhooks.head_position(session),
                                 START, 100, 1) is None
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0
    assert session.get(WebhookEndpoint, endpoint.id).cursor == stale + 1


@pytest.mark.parametrize("url, code", [
    ("http://example.org/hook", "https_required"),
    ("ftp://example.org/hook", "https_required"),
    ("https://user:pw@example.org/hook", "invalid_url"),
    ("https:///hook", "invalid_url"),
    ("https://example.org/hook#x", "invalid_url"),
    ("https://exa mple.org/", "invalid_url"),
    ("https://example.org:99999/", "invalid_url"),
    ("https://例子.中国/", "invalid_url"),
    ("https://" + "a" * 500 + ".org/", "invalid_url"),
    ("", "invalid_url"),
])
def test_addresses_must_be_https(url, code):
    with pytest.raises(webhooks.WebhookError) as refused:
        webhooks.check_url(url, ["127.0.0.1"])
    assert refused.value.code == code


def test_plain_http_only_to_the_hosts_the_settings_name():
    assert webhooks.check_url("http://127.0.0.1:8080/x", ["127.0.0.1"])
    assert webhooks.check_url("https://xn--fsqu00a.xn--fiqs8s/h?t=1", [])
    with pytest.raises(webhooks.WebhookError):
        webhooks.check_url("http://127.0.0.1:8080/x", [])


def readme_verify():
    """The verification snippet of the README's "Webhooks" section, run as it is written."""
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Webhooks"):]
    section = section[:section.index("\n## ", 1)]
    [code] = re.findall(r"```python\n(.*?)```", section, re.S)
    namespace: dict = {}
    exec(compile(code, "README.md (Webhooks)", "exec"), namespace)      # noqa: S102
    return namespace["verify"]


def test_the_readme_snippet_verifies_a_real_delivery(app, session, receiver, traveller):
    verify = readme_verify()
    endpoint, secret = _endpoint(app, session, receiver.url)
    webhooks.enqueue(session, endpoint, "published", "subject:1", {"case_no": "X-1"}, 7)
    session.commit()
    assert _round(app, session).delivered == 1
    [got] = receiver.requests
    signed_at = int(got.headers["X-Portal-Timestamp"])
    assert verify(secret, got.headers, got.body, now=signed_at + 5)
    assert verify(secret, got.headers, got.body, now=signed_at - 299)
    assert not verify(secret, got.headers, got.body, now=signed_at + 301)   # too old: replayed?
    assert not verify(secret, got.headers, got.body.replace(b"X-1", b"X-2"), now=signed_at)
    assert not verify("whsec_another", got.headers, got.body, now=signed_at)
    forged = {**got.headers, "X-Portal-Timestamp": str(signed_at + 60)}   # re-dated
    assert not verify(secret, forged, got.body, now=signed_at + 60)
    assert not verify(secret, {}, got.body, now=signed_at)


def test_two_hosts_never_claim_the_same_delivery_nor_a_later_one_of_its_subject(
        app, session, backend):
    """PostgreSQL: a claim in flight is skipped (SKIP LOCKED); after it commits, its lease
    keeps the others away. SQLite has one writer: the lease alone is tried."""
    from portal.extensions import db

    endpoint, _secret = _endpoint(app, session, "https://hooks.example.org/in")
    for n in range(6):
        webhooks.enqueue(session, endpoint, "published", f"subject:{n % 3}", {"n": n}, n + 1)
    session.commit()
    key, now = app.config["SECRET_KEY"], delivery.clock.now()
    with sa.orm.Session(db.engine) as a, sa.orm.Session(db.engine) as b:
        first = delivery.claim(a, "host-a", now, key, limit=2)
        if backend == "sqlite":
            a.commit()
        second = delivery.claim(b, "host-b", now, key, limit=20)
        a.commit()
        b.commit()
        third = delivery.claim(a, "host-c", now, key, limit=20)
        a.commit()
    ids = [[item.delivery_id for item in batch] for batch in (first, second, third)]
    assert len(ids[0]) == 2 and not set(ids[0]) & set(ids[1]) and ids[2] == []
    # the heads of the three subjects only: the later one of each waits for its head
    claimed = session.execute(sa.select(WebhookDelivery.payload).where(
        WebhookDelivery.leased_by.is_not(None))).scalars().all()
    assert sorted(p["n"] for p in claimed) == [0, 1, 2]


def test_a_persons_id_number_never_leaves_in_a_payload(app, session, receiver, traveller):
    from portal.models import SubjectKind

    endpoint, _secret = _endpoint(app, session, receiver.url)
    case = published_case(session, app, kind=SubjectKind.PERSON)
    session.commit()
    assert webhooks.fan_out(session, delivery.clock.now(), after_each=session.commit) == 6
    assert _round(app, session).delivered == 6
    sent = b"".join(r.body for r in receiver.requests).decode("utf-8")
    assert case.subject.id_number not in sent and case.subject.name in sent


def test_delivered_rows_are_pruned_after_thirty_days_given_up_ones_stay(app, session,
                                                                        receiver, traveller):
    endpoint, _secret = _endpoint(app, session, receiver.url)
    kept = webhooks.enqueue(session, endpoint, "published", "subject:1", {}, 1)
    dead = webhooks.enqueue(session, endpoint, "published", "subject:2", {}, 2)
    dead.status = DeliveryStatus.DEAD
    session.commit()
    kept_id, dead_id = kept.id, dead.id
    assert _round(app, session).delivered == 1
    assert delivery.prune_delivered(session, delivery.clock.now()) == 0
    traveller.shift(delivery.DELIVERED_KEPT + dt.timedelta(minutes=1))
    assert delivery.prune_delivered(session, delivery.clock.now()) == 1
    session.commit()
    assert session.get(WebhookDelivery, kept_id) is None and _attempts(session, kept_id) == []
    assert session.get(WebhookDelivery, dead_id) is not None


def test_what_waits_for_a_removed_endpoint_is_withdrawn_and_pruned_later(app, session, receiver,
                                                                         traveller):
    endpoint, _secret = _endpoint(app, session, receiver.url)
    waiting = webhooks.enqueue(session, endpoint, "published", "subject:1", {}, 1)
    session.commit()
    assert delivery.status_counts(session)["pending"] == 1
    assert webhooks.deactivate(session, Actor("api:test"), endpoint, delivery.clock.now())
    session.commit()
    session.refresh(waiting)
    assert waiting.status is DeliveryStatus.WITHDRAWN and waiting.next_attempt_at is None
    assert delivery.status_counts(session)["pending"] == 0          # /healthz waits for nothing
    assert _round(app, session).delivered == 0 and receiver.requests == []
    assert webhooks.counts(session, [endpoint.id])[endpoint.id]["withdrawn"] == 1
    waiting_id = waiting.id
    traveller.shift(delivery.DELIVERED_KEPT + dt.timedelta(minutes=1))
    assert delivery.prune_delivered(session, delivery.clock.now()) == 1
    session.commit()
    assert session.get(WebhookDelivery, waiting_id) is None
