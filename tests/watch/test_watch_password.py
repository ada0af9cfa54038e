"""/watch/reset, /watch/reset/<token> and /watch/account: an organisation that forgot its
password gets back in by a one-time link (an hour), changes its password knowing the
current one, and signs out its other browsers — or every one."""
import datetime as dt

import pytest
import sqlalchemy as sa

from portal import clock
from portal.models import OutgoingMail, Subscriber, SubscriberSession
from portal.security import verify_password
from portal.services import mail_queue, notifications
from tests.services.test_notifications import smtp_server  # noqa: F401 - the fixture
from tests.watch.test_watch_pages import PASSWORD, _csrf, _login, signed_in

NEW = "another long passphrase"


@pytest.fixture
def mail_on(app):
    app.config["PORTAL_SMTP_HOST"] = "127.0.0.1"
    return app


def _ask(client, email="hr@bank.example"):
    page = client.get("/watch/reset").get_data(as_text=True)
    return client.post("/watch/reset", data={"csrf_token": _csrf(page), "email": email})


def _reset_mails(session, email="hr@bank.example"):
    return session.scalars(sa.select(OutgoingMail).where(
        OutgoingMail.recipient == email, OutgoingMail.event == "subscriber_reset")
        .order_by(OutgoingMail.id)).all()


def _link(session, email="hr@bank.example"):
    return f"/watch/reset/{_reset_mails(session, email)[-1].payload['token']}"


def _set(client, link, password=NEW, repeat=None):
    page = client.get(link).get_data(as_text=True)
    return client.post(link, data={"csrf_token": _csrf(page), "password": password,
                                   "repeat": password if repeat is None else repeat})


def _sessions(session):
    session.expire_all()
    return session.scalar(sa.select(sa.func.count()).select_from(SubscriberSession))


def test_the_sign_in_page_links_to_the_reset(client):
    assert 'href="/watch/reset"' in client.get("/watch/login").get_data(as_text=True)


def test_a_forgotten_password_is_reset_by_the_mailed_link(mail_on, client, session):
    signed_in(client, session)
    other = client.application.test_client()
    assert _login(other).status_code == 303
    assert _sessions(session) == 2
    known = _ask(client)
    assert known.status_code == 200
    (row,) = _reset_mails(session)
    assert row.locale == "zh_CN"
    subject, body = notifications.render(notifications.item_of(row))
    assert _link(session) in body and "重置" in subject
    link = _link(session)
    assert client.get(link).status_code == 200
    assert _set(client, link, NEW, "not the same one").status_code == 422
    assert _set(client, link, "short").status_code == 422
    answer = _set(client, link)
    assert answer.status_code == 303 and "/watch/login" in answer.headers["Location"]
    assert _sessions(session) == 0                       # every browser is signed out
    assert other.get("/watch").status_code == 303
    assert "/watch/login" in client.get("/watch").headers["Location"]
    assert _login(client, password=PASSWORD).status_code == 401
    assert _login(client, password=NEW).status_code == 303
    # the link worked once
    used = client.get(link)
    assert used.status_code == 404 and 'href="/watch/reset"' in used.get_data(as_text=True)
    assert _set(client, link, "yet another passphrase").status_code == 404


def test_the_answer_is_the_same_for_an_unknown_address(mail_on, client, session):
    signed_in(client, session)
    known = _ask(client).get_data(as_text=True)
    unknown = _ask(client, "nobody@bank.example").get_data(as_text=True)
    assert known.replace("hr@bank.example", "X") == unknown.replace("nobody@bank.example", "X")
    assert _ask(client, "not an address").status_code == 200
    typed = "11010519491231002X@bank.example"               # an ID number typed as the address
    assert "11010519491231002X" not in _ask(client, typed).get_data(as_text=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail).where(
        OutgoingMail.event == "subscriber_reset")) == 1


def test_no_link_for_a_closed_account(mail_on, client, session):
    signed_in(client, session)
    session.scalar(sa.select(Subscriber).where(Subscriber.email == "hr@bank.example")).active = False
    session.commit()
    assert _ask(client).status_code == 200
    assert not _reset_mails(session)


def test_an_unconfirmed_account_that_forgot_its_password_is_confirmed_by_the_link(
        mail_on, client, session):
    """Signing in unconfirmed needs the password, and registering again sends nothing: the
    reset link is its way back, and opening it proves the address as the confirmation would."""
    from tests.watch.test_watch_pages import _register

    assert _register(client, "new@bank.example").status_code == 200
    assert _ask(client, "new@bank.example").status_code == 200
    link = _link(session, "new@bank.example")
    assert _set(client, link).status_code == 303
    session.expire_all()
    row = session.scalar(sa.select(Subscriber).where(Subscriber.email == "new@bank.example"))
    assert row.verified and row.verify_token_hash is None
    assert _login(client, "new@bank.example", password=NEW).status_code == 303


def test_the_link_expires_after_an_hour(mail_on, client, session, time_machine):
    signed_in(client, session)
    time_machine.move_to(clock.now(), tick=False)
    _ask(client)
    link = _link(session)
    time_machine.move_to(clock.now() + dt.timedelta(minutes=59), tick=False)
    assert client.get(link).status_code == 200
    time_machine.move_to(clock.now() + dt.timedelta(minutes=2), tick=False)
    expired = client.get(link)
    assert expired.status_code == 404 and 'href="/watch/reset"' in expired.get_data(as_text=True)
    assert _set(client, link).status_code == 404
    assert client.get("/watch/reset/not-a-token").status_code == 404
    assert client.get("/watch/reset/" + "x" * 5000).status_code == 404


def test_a_new_link_replaces_the_old_one(mail_on, client, session, time_machine):
    signed_in(client, session)
    time_machine.move_to(clock.now(), tick=False)
    _ask(client)
    first = _link(session)
    time_machine.move_to(clock.now() + dt.timedelta(minutes=6), tick=False)
    _ask(client)
    assert client.get(first).status_code == 404
    assert _set(client, _link(session)).status_code == 303


def test_the_reset_mail_reaches_the_inbox_in_english(mail_on, app, client, session,
                                                     smtp_server):  # noqa: F811
    signed_in(client, session)
    session.scalar(sa.select(Subscriber)).locale = "en"
    session.commit()
    _ask(client)
    link = _link(session)
    assert mail_queue.deliver_due(session, app.config, clock.now()).sent >= 1
    session.commit()
    messages = smtp_server.wait(2)
    _to, message = [m for m in messages if "reset" in m[1]["Subject"].lower()][0]
    assert link in message.get_content() and "one hour" in message.get_content()
    assert "token" not in _reset_mails(session)[-1].payload      # cut down once sent


def _account(client):
    return client.get("/watch/account").get_data(as_text=True)


def test_changing_the_password_needs_the_current_one_and_keeps_this_session(mail_on, client,
                                                                             session):
    signed_in(client, session)
    other = client.application.test_client()
    assert _login(other).status_code == 303
    assert 'href="/watch/account"' in client.get("/watch").get_data(as_text=True)
    page = _account(client)
    wrong = client.post("/watch/account/password", data={
        "csrf_token": _csrf(page), "current": "not my password", "password": NEW, "repeat": NEW})
    assert wrong.status_code == 422 and _sessions(session) == 2
    differ = client.post("/watch/account/password", data={
        "csrf_token": _csrf(page), "current": PASSWORD, "password": NEW, "repeat": NEW + "x"})
    assert differ.status_code == 422
    done = client.post("/watch/account/password", data={
        "csrf_token": _csrf(page), "current": PASSWORD, "password": NEW, "repeat": NEW})
    assert done.status_code == 303
    assert _sessions(session) == 1
    assert client.get("/watch").status_code == 200               # this browser stays in
    assert other.get("/watch").status_code == 303                # the other one is out
    assert _login(other, password=PASSWORD).status_code == 401
    assert _login(other, password=NEW).status_code == 303


def test_signing_out_everywhere_ends_every_session(mail_on, client, session):
    signed_in(client, session)
    other = client.application.test_client()
    assert _login(other).status_code == 303
    answer = client.post("/watch/account/sign-out-everywhere",
                         data={"csrf_token": _csrf(_account(client))})
    assert answer.status_code == 303 and "/watch/login" in answer.headers["Location"]
    assert _sessions(session) == 0
    assert client.get("/watch").status_code == 303 and other.get("/watch").status_code == 303


def test_the_account_page_needs_a_signed_in_organisation(client):
    assert client.get("/watch/account").status_code == 303
    assert client.post("/watch/account/sign-out-everywhere").status_code in (303, 400)


def test_every_form_needs_its_csrf_token(mail_on, app, client, session):
    app.config["WTF_CSRF_ENABLED"] = True
    signed_in(client, session)
    _ask(client)
    link = _link(session)
    assert client.post("/watch/reset", data={"email": "hr@bank.example"}).status_code in (400, 422)
    assert client.post(link, data={"password": NEW, "repeat": NEW}).status_code in (400, 422)
    assert client.post("/watch/account/password", data={
        "current": PASSWORD, "password": NEW, "repeat": NEW}).status_code in (400, 422)
    assert client.post("/watch/account/sign-out-everywhere", data={}).status_code in (400, 422)
    assert _sessions(session) == 1 and len(_reset_mails(session)) == 1
    session.expire_all()
    assert verify_password(session.scalar(sa.select(Subscriber)).password_hash, PASSWORD)


def test_asking_for_links_is_rate_limited(tmp_path):
    from portal.extensions import db
    from tests.web.test_public_check import _fresh_app

    app = _fresh_app(tmp_path, RATELIMIT_ENABLED=True, PORTAL_SMTP_HOST="127.0.0.1",
                     PORTAL_WATCH_ACCOUNT_RATE_LIMIT="2 per hour")
    try:
        client = app.test_client()
        with app.app_context():
            statuses = [_ask(client, f"n{i}@bank.example").status_code for i in range(3)]
            assert statuses == [200, 200, 429]
            assert client.get("/watch/reset").status_code == 200   # the form itself is not
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_access_log_does_not_hold_a_reset_link():
    """Whoever reads the server's log must not be able to set the account's password."""
    from portal.access_log import redact

    secret = "Zq3v_s3cretResetToken-abcdefghijkl"
    assert redact(f"/watch/reset/{secret}") == "/watch/reset/…"
    assert redact(f"/watch/reset/{secret}?x=1") is not None
    assert secret not in redact(f"/watch/reset/{secret}")
    assert redact("/watch/reset") == "/watch/reset"          # the form itself stays readable

def test_a_link_asked_for_before_the_bureau_closes_the_account_is_dead_after_reopening(
        mail_on, client, session):
    """Closing is a clean cut: a link sent before it does not come back to life when the
    bureau reopens the account (it may have been closed because the mailbox was not safe)."""
    from portal.models import Role
    from portal.services import subscriber_accounts
    from tests.web.admin_support import staff

    signed_in(client, session)
    _ask(client)
    link = _link(session)
    owner = session.scalar(sa.select(Subscriber))
    admin = staff(session, Role.ADMIN, "admin.zhou")
    subscriber_accounts.close(session, admin, owner, "邮箱被盗")
    session.commit()
    assert client.get(link).status_code == 404
    subscriber_accounts.reopen(session, admin, owner, "已核实")
    session.commit()
    assert client.get(link).status_code == 404
    assert _set(client, link).status_code == 404
    session.expire_all()
    assert verify_password(session.scalar(sa.select(Subscriber)).password_hash, PASSWORD)

@pytest.mark.parametrize("email", ["ｈｒ＠ｂａｎｋ．ｅｘａｍｐｌｅ", "hr@bank.example" + "x" * 300,
                                   "\u202ehr@bank.example", "１２３４５６７８９０", "' OR 1=1 --",
                                   "<script>alert(1)</script>@x.example"])
def test_odd_addresses_get_an_answer_not_an_error(mail_on, client, session, email):
    signed_in(client, session)
    answer = _ask(client, email)
    assert answer.status_code in (200, 422)
    assert "<script>alert(1)" not in answer.get_data(as_text=True)
    assert not _reset_mails(session)


@pytest.mark.parametrize("token", ["%E2%80%AE", "１２３４５６", "a" * 101, "..", "%25",
                                   "x%C0%80", "%F0%9F%98%80"])
def test_odd_links_are_not_found(client, token):
    assert client.get(f"/watch/reset/{token}").status_code in (400, 404)
    assert client.get(f"/watch/reset/%00{token}").status_code in (400, 404)


def test_a_link_asked_for_before_a_password_change_no_longer_works(mail_on, client, session):
    signed_in(client, session)
    _ask(client)
    link = _link(session)
    done = client.post("/watch/account/password", data={
        "csrf_token": _csrf(_account(client)), "current": PASSWORD, "password": NEW,
        "repeat": NEW})
    assert done.status_code == 303
    assert client.get(link).status_code == 404
    assert _set(client, link, "the attacker's passphrase").status_code == 404
    session.expire_all()
    assert verify_password(session.scalar(sa.select(Subscriber)).password_hash, NEW)


def test_one_mailbox_gets_at_most_one_link_every_five_minutes(mail_on, client, session,
                                                              time_machine):
    """Asking again and again (from many addresses: the rate limit is per asker) does not
    flood the mailbox: the same answer, and the link already sent keeps working."""
    signed_in(client, session)
    time_machine.move_to(clock.now(), tick=False)
    for _ in range(4):
        assert _ask(client).status_code == 200
    assert len(_reset_mails(session)) == 1
    first = _link(session)
    time_machine.move_to(clock.now() + dt.timedelta(minutes=5, seconds=1), tick=False)
    _ask(client)
    assert len(_reset_mails(session)) == 2 and client.get(first).status_code == 404
