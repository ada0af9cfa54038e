"""Hostile use of the watchlists: odd form values, ID numbers where a name belongs, and a
watched entry that changes twice before the watch job reads it."""
import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import SubjectKind, WatchAlert, Watchlist
from portal.rules.workflow import RemovalReason
from portal.services import watch_alerts
from tests.factories import make_subject, published_case, remove_published
from tests.watch.test_watch_alerts import _run, _watching
from tests.watch.test_watch_pages import _csrf, _new_list, signed_in


@pytest.fixture
def mail_on(app):
    app.config["PORTAL_SMTP_HOST"] = "127.0.0.1"
    return app


def test_removing_lines_with_non_ascii_digits_is_not_a_server_error(mail_on, client, session):
    signed_in(client, session)
    address = _new_list(client)
    page = client.get(address).get_data(as_text=True)
    answer = client.post(address + "/remove",
                         data={"csrf_token": _csrf(page), "item": ["²", "１", "٣", "abc"]})
    assert answer.status_code == 303


def test_an_id_number_in_a_watchlist_name_is_masked_everywhere(mail_on, client, session):
    signed_in(client, session)
    person = make_subject(session, SubjectKind.PERSON)
    session.commit()
    spaced = " ".join([person.id_number[:6], person.id_number[6:14], person.id_number[14:]])
    wide = person.id_number.translate({c: c + 0xFEE0 for c in range(0x30, 0x3A)})
    for name in (person.id_number, spaced, wide):
        address = _new_list(client, name=f"名单{name}")
        page = client.get(address).get_data(as_text=True)
        assert person.id_number not in page and spaced not in page and wide not in page
    home = client.get("/watch").get_data(as_text=True)
    assert person.id_number not in home and spaced not in home
    for row in session.scalars(sa.select(Watchlist)):
        assert person.id_number not in row.name.replace(" ", "")


def test_an_entry_listed_and_removed_before_the_job_reads_it_is_told_once_each(app, session):
    _run(app, session)
    subject = make_subject(session, SubjectKind.ORGANISATION)
    watchlist, _added = _watching(app, session, [subject.uscc])
    case = published_case(session, app, subject=subject)
    session.commit()
    remove_published(session, case, RemovalReason.CREDIT_REPAIRED, clock.today(),
                     app.config["PORTAL_LOOKUP_KEY"])
    session.commit()
    told = _run(app, session)
    events = [a.event for a in told]
    assert events.count("removed") <= 1 and events.count("listed") <= 1
    # the subject was on the list and is gone: the last word the watcher has is "removed"
    # (or nothing at all), never a lone "listed"
    assert events in ([], ["listed", "removed"], ["removed"])
    assert session.scalar(sa.select(sa.func.count()).select_from(WatchAlert).where(
        WatchAlert.watchlist_id == watchlist.id)) == len(told)
    assert _run(app, session) == []


def test_an_id_number_in_an_organisation_name_is_masked(mail_on, client, session):
    from tests.watch.test_watch_pages import _login, _register, _verify_link
    person = make_subject(session, SubjectKind.PERSON)
    session.commit()
    assert _register(client, name=f"个体户{person.id_number}").status_code == 200
    assert client.get(_verify_link(session, "hr@bank.example")).status_code == 200
    assert _login(client).status_code == 303
    assert person.id_number not in client.get("/watch").get_data(as_text=True)


def test_control_characters_in_a_label_or_name_do_not_break_the_feed(mail_on, client, session):
    import re
    import xml.etree.ElementTree as ET

    signed_in(client, session)
    address = _new_list(client, name="名单\x01\x1b\ufffe")
    org = make_subject(session, SubjectKind.ORGANISATION)
    session.commit()
    page = client.get(address).get_data(as_text=True)
    answer = client.post(address + "/codes", data={
        "csrf_token": _csrf(page), "codes": f"{org.uscc},供应商\x01\x08甲\x7f"},
        content_type="multipart/form-data")
    assert answer.status_code == 303
    key = client.application.config["PORTAL_LOOKUP_KEY"]
    watch_alerts.run(session, key, clock.now() - clock.now(), clock.now())
    session.commit()
    published_case(session, client.application, subject=org)
    session.commit()
    watch_alerts.run(session, key, clock.now() - clock.now(), clock.now())
    session.commit()
    page = client.get(address).get_data(as_text=True)
    feed_url = re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1)
    feed = client.application.test_client().get("/" + feed_url.split("://", 1)[1].split("/", 1)[1])
    assert feed.status_code == 200
    root = ET.fromstring(feed.data)                   # well-formed XML
    assert len(root.findall("{http://www.w3.org/2005/Atom}entry")) == 1


def test_ten_thousand_typed_codes_with_labels_are_added_in_reasonable_time(mail_on, client,
                                                                          session):
    import random
    import time

    from portal.rules import identifiers

    signed_in(client, session)
    address = _new_list(client)
    rng = random.Random(7)
    codes = {identifiers.generate_uscc(rng) for _ in range(10_500)}
    typed = "\n".join(f"{c},甲" for c in sorted(codes)[:10_000])
    page = client.get(address).get_data(as_text=True)
    started = time.monotonic()
    answer = client.post(address + "/codes", data={"csrf_token": _csrf(page), "codes": typed[:199_999]},
                         content_type="multipart/form-data")
    assert answer.status_code in (200, 303)
    started_page = time.monotonic()
    assert client.get(address).status_code == 200
    assert client.get(address + "/export.xlsx").status_code == 200
    assert time.monotonic() - started < 30 and time.monotonic() - started_page < 15


def test_the_access_log_does_not_hold_a_feed_or_confirmation_token(tmp_path):
    import datetime as dt
    import runpy
    from pathlib import Path
    from types import SimpleNamespace

    from gunicorn.config import Config

    settings = runpy.run_path(str(Path(__file__).parents[2] / "gunicorn.conf.py"))
    config = Config()
    config.set("logger_class", settings["logger_class"])
    config.set("access_log_format", settings["access_log_format"])
    logger = config.logger_class(config)
    secret = "Zq3v_s3cretFeedToken-abcdefghijkl"
    for path in (f"/watch/feed/{secret}.atom", f"/watch/verify/{secret}", f"/screen/{secret}",
                 f"/screen/{secret}/results.csv"):
        environ = {"REQUEST_METHOD": "GET", "RAW_URI": path, "PATH_INFO": path,
                   "SERVER_PROTOCOL": "HTTP/1.1", "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1"}
        atoms = logger.atoms(SimpleNamespace(status="200 OK", sent=10, headers=[]), SimpleNamespace(headers=[]),
                             environ, dt.timedelta(seconds=0))
        line = config.access_log_format % atoms
        assert secret not in line and path.split(secret)[0] in line
    # the screening form itself stays readable
    environ["PATH_INFO"] = environ["RAW_URI"] = "/screen"
    atoms = logger.atoms(SimpleNamespace(status="200 OK", sent=10, headers=[]), SimpleNamespace(headers=[]),
                         environ, dt.timedelta(seconds=0))
    assert atoms["U"] == "/screen"


def test_registering_a_taken_address_costs_the_same_password_hashing(app, session, monkeypatch):
    """Otherwise the quicker answer for a registered address tells who has an account."""
    from portal.services import subscribers

    subscribers.register(session, "某银行", "hr@bank.example", "long enough pw", "zh_CN",
                         clock.now())
    session.commit()
    hashed = []
    real = subscribers.hash_password
    monkeypatch.setattr(subscribers, "hash_password", lambda pw: hashed.append(pw) or real(pw))
    try:
        subscribers.register(session, "别人", "HR@bank.example", "another long pw", "zh_CN",
                             clock.now())
    except subscribers.SubscriberError as problem:
        assert problem.code == "email_taken"
    assert hashed == ["another long pw"]


def test_the_same_code_added_by_two_requests_at_once_is_not_a_server_error(mail_on, client,
                                                                          session, monkeypatch):
    """Two tabs (or a double click) add the same code: the second request read the list before
    the first one committed its line. It must not end in a server error."""
    from portal.models import WatchItem
    from portal.security import lookup_hash
    from portal.services import screening, watchlists

    signed_in(client, session)
    address = _new_list(client)
    org = make_subject(session, SubjectKind.ORGANISATION)
    session.commit()
    watchlist = session.scalars(sa.select(Watchlist)).one()
    key = client.application.config["PORTAL_LOOKUP_KEY"]
    real, raced = screening.parse_code, []

    def parse_while_another_request_commits(raw, today):
        if not raced:       # the other request commits the same line now
            raced.append(1)
            session.add(WatchItem(watchlist_id=watchlist.id, code_hash=lookup_hash(key, org.uscc),
                                  code_masked=org.uscc, label="别的标签", added_at=clock.now()))
            session.commit()
        return real(raw, today)

    monkeypatch.setattr(screening, "parse_code", parse_while_another_request_commits)
    page = client.get(address).get_data(as_text=True)
    answer = client.post(address + "/codes", data={"csrf_token": _csrf(page),
                                                   "codes": f"{org.uscc},甲"},
                         content_type="multipart/form-data")
    assert answer.status_code in (200, 303)
    assert watchlists.item_count(session, watchlist) == 1


def test_a_line_break_in_a_watchlist_name_does_not_break_its_alert_mail(app, session):
    """The name is in the message's subject: a header cannot hold a line break."""
    from portal.services import notifications, subscriber_mail, subscribers, watchlists

    owner, _token = subscribers.register(session, "某银行", "hr@bank.example", "long enough pw",
                                         "zh_CN", clock.now())
    watchlist = watchlists.create(session, app.config["SECRET_KEY"],
                                  "供应商\r\nBcc: victim@example.com\n", subscriber_id=owner.id,
                                  now=clock.now())
    row = subscriber_mail.queue_alerts(session, owner, watchlist, [], clock.now())
    message = notifications.build({"event": row.event, "to": row.recipient, "locale": row.locale,
                                   **row.payload}, app.config)
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["Bcc"] is None


def test_adding_codes_is_rate_limited(tmp_path):
    """Each call reads a file or up to 10,000 codes: as costly as a screening upload."""
    from portal.extensions import db
    from portal.services import subscribers
    from tests.web.test_public_check import _fresh_app
    from tests.watch.test_watch_pages import _login

    app = _fresh_app(tmp_path, RATELIMIT_ENABLED=True,
                     PORTAL_WATCH_CODES_RATE_LIMIT="2 per hour")
    try:
        client = app.test_client()
        with app.app_context():
            owner, _token = subscribers.register(db.session, "某银行", "hr@bank.example",
                                                 "a long passphrase", "zh_CN", clock.now())
            owner.email_verified_at = clock.now()
            db.session.commit()
            assert _login(client).status_code == 303
            address = _new_list(client)
            page = client.get(address).get_data(as_text=True)
            statuses = [client.post(address + "/codes", data={"csrf_token": _csrf(page),
                                                              "codes": "12345,甲"},
                                    content_type="multipart/form-data").status_code
                        for _ in range(3)]
            assert statuses[:2] != [429, 429] and statuses[2] == 429
            assert client.get(address).status_code == 200     # the page itself is not limited
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_feed_of_a_deactivated_organisation_or_revoked_client_stops_answering(mail_on, client,
                                                                                  session):
    import re

    from portal.models import ApiClient, Subscriber
    from portal.services import watchlists

    signed_in(client, session)
    address = _new_list(client)
    page = client.get(address).get_data(as_text=True)
    feed_url = re.search(r'<code class="feed-url">([^<]+)</code>', page).group(1)
    path = "/" + feed_url.split("://", 1)[1].split("/", 1)[1]
    reader = client.application.test_client()
    assert reader.get(path).status_code == 200
    owner = session.scalars(sa.select(Subscriber)).one()
    owner.active = False
    session.commit()
    assert reader.get(path).status_code == 404        # the bureau closed the account

    api = ApiClient(name="erp", token_prefix="isk_x", token_hash="0" * 64, scopes=[],
                    jurisdiction="410100")
    session.add(api)
    session.flush()
    listed = watchlists.create(session, client.application.config["SECRET_KEY"], "客户",
                                  api_client_id=api.id, now=clock.now())
    token = watchlists.feed_token(client.application.config["SECRET_KEY"], listed)
    session.commit()
    assert watchlists.by_feed_token(session, token) is not None
    api.revoked_at = clock.now()
    session.commit()
    assert watchlists.by_feed_token(session, token) is None
