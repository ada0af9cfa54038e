"""Sessions the server can end: replayed cookies after logout, password and role changes,
party sign-out; Secure cookies and HSTS behind a TLS proxy; a lockout outsiders cannot trigger."""
import datetime as dt

import pytest

from portal import clock, create_app
from portal import config as portal_config
from portal.extensions import db
from portal.models import Role
from portal.services import staff as staff_service
from tests.factories import EVIDENCE, listed_case
from tests.web.admin_support import fast_passwords, login, staff  # noqa: F401
from tests.web.test_submit_filings import login as party_login
from tests.web.test_submit_track import _objection

pytestmark = pytest.mark.usefixtures("fast_passwords")

COOKIE = "session"
NEW_PASSWORD = "a-much-longer-passphrase-9"


def _cookie(client) -> str:
    return client.get_cookie(COOKIE).value


def _replay(client, value: str) -> None:
    client.set_cookie(COOKIE, value)


def _signed_in(client) -> bool:
    return client.get("/admin/queue/cases").status_code == 200


def test_a_staff_cookie_replayed_after_logout_is_refused(app, session, client):
    clerk = staff(session, Role.CLERK, "wang.fang")
    login(client, clerk)
    stolen = _cookie(client)
    assert client.post("/admin/logout").status_code == 302
    _replay(client, stolen)
    assert not _signed_in(client)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(app, session, client):
    clerk = staff(session, Role.CLERK, "wang.fang")
    other = app.test_client()
    login(client, clerk)
    login(other, clerk)
    assert _signed_in(other)
    reply = client.post("/admin/account/password",
                        data={"current": "x", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert reply.status_code == 302
    assert _signed_in(client)
    assert not _signed_in(other)


def test_a_role_change_and_a_lockout_end_every_session(app, session, client):
    admin = staff(session, Role.ADMIN, "admin.zhou")
    clerk = staff(session, Role.CLERK, "wang.fang")
    login(client, clerk)
    staff_service.change_role(session, admin, clerk, Role.REVIEWER)
    session.commit()
    assert not _signed_in(client)
    clerk = staff(session, Role.CLERK, "li.na")
    login(client, clerk)
    staff_service.reset_password(session, admin, clerk)
    session.commit()
    assert client.get("/admin/account/password").status_code == 302      # signed out


def test_deactivation_ends_the_session(app, session, client):
    admin = staff(session, Role.ADMIN, "admin.zhou")
    clerk = staff(session, Role.CLERK, "wang.fang")
    login(client, clerk)
    stolen = _cookie(client)
    staff_service.set_active(session, admin, clerk, False)
    staff_service.set_active(session, admin, clerk, True)
    session.commit()
    _replay(client, stolen)
    assert not _signed_in(client)


def test_a_party_cookie_replayed_after_party_logout_downloads_nothing(app, session, client,
                                                                      time_machine):
    case, sub, _code = _objection(app, session, client, time_machine)
    attachment = sub.attachments[0]
    url = f"/track/{sub.receipt_no}/files/{attachment.id}"
    assert client.get(url).data == EVIDENCE["png"]
    assert client.get("/submit/case").status_code == 200
    stolen = _cookie(client)
    assert client.post("/submit/party/logout").status_code == 302
    _replay(client, stolen)
    assert client.get(url).status_code == 404
    assert client.get(f"/track/{sub.receipt_no}").status_code == 302
    assert client.get("/submit/case").status_code == 302


def test_a_tracking_cookie_replayed_after_track_logout_downloads_nothing(app, session, client,
                                                                         time_machine):
    _case, sub, code = _objection(app, session, client, time_machine)
    other = app.test_client()
    other.post("/track", data={"receipt_no": sub.receipt_no, "query_code": code})
    url = f"/track/{sub.receipt_no}/files/{sub.attachments[0].id}"
    assert other.get(url).status_code == 200
    stolen = _cookie(other)
    other.post("/track/logout")
    _replay(other, stolen)
    assert other.get(url).status_code == 404
    assert client.get(url).status_code == 200          # the filer's own browser is not affected


# --------------------------------------------------------------------------
# Secure cookies and HSTS
# --------------------------------------------------------------------------

def _app(database_url, tmp_path, **overrides):
    return create_app({**portal_config.testing(database_url, tmp_path), **overrides})


@pytest.fixture
def proxied_app(app, database_url, tmp_path):
    other = _app(database_url, tmp_path, PORTAL_PROXY_HOPS=1)
    yield other
    with other.app_context():
        db.engine.dispose()


def _set_cookie(reply) -> str:
    return "; ".join(v for k, v in reply.headers.items() if k == "Set-Cookie")


def test_behind_a_tls_proxy_cookies_are_secure_and_hsts_is_sent(app, session, proxied_app):
    staff(session, Role.CLERK, "wang.fang")
    client = proxied_app.test_client()
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    reply = client.post("/admin/login", data={"username": "wang.fang", "password": "x"},
                        headers=https)
    assert reply.status_code == 302
    assert "Secure" in _set_cookie(reply)
    assert reply.headers["Strict-Transport-Security"].startswith("max-age=")
    page = client.get("/", headers=https)
    assert "Strict-Transport-Security" in page.headers


def test_plain_local_http_gets_no_secure_cookie_and_no_hsts(app, session, client):
    staff(session, Role.CLERK, "wang.fang")
    reply = client.post("/admin/login", data={"username": "wang.fang", "password": "x"})
    assert reply.status_code == 302
    assert "Secure" not in _set_cookie(reply)
    assert "Strict-Transport-Security" not in reply.headers
    # without a trusted proxy, a forged header changes nothing
    forged = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in forged.headers


def test_cookie_secure_can_be_forced(app, session, database_url, tmp_path):
    staff(session, Role.CLERK, "wang.fang")
    forced = _app(database_url, tmp_path, PORTAL_COOKIE_SECURE="true")
    try:
        reply = forced.test_client().post("/admin/login",
                                          data={"username": "wang.fang", "password": "x"})
        assert "Secure" in _set_cookie(reply)
    finally:
        with forced.app_context():
            db.engine.dispose()


# --------------------------------------------------------------------------
# Lockout
# --------------------------------------------------------------------------

def _from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_an_outsiders_wrong_passwords_do_not_lock_the_user_out(app, session):
    staff(session, Role.CLERK, "clerk")
    attacker = _from(app, "198.51.100.66")
    for _ in range(staff_service.MAX_FAILED_LOGINS + 2):
        reply = attacker.post("/admin/login", data={"username": "clerk", "password": "guess"})
        assert reply.status_code == 401
    # the attacker's address is locked for this user, even with the right password
    assert attacker.post("/admin/login",
                         data={"username": "clerk", "password": "x"}).status_code == 401
    owner = _from(app, "10.1.2.3")
    assert owner.post("/admin/login",
                      data={"username": "clerk", "password": "x"}).status_code == 302
    assert _signed_in(owner)


def test_failures_from_many_addresses_lock_the_account_and_end_its_sessions(app, session,
                                                                           time_machine):
    clerk = staff(session, Role.CLERK, "clerk")
    owner = _from(app, "10.1.2.3")
    login(owner, clerk)
    n = 0
    for a in range(staff_service.USER_LOCK_ADDRESSES):
        attacker = _from(app, f"198.51.100.{a + 1}")
        for _ in range(staff_service.MAX_FAILED_LOGINS):
            attacker.post("/admin/login", data={"username": "clerk", "password": "guess"})
            n += 1
    session.expire_all()
    assert clerk.locked_until is not None
    assert not _signed_in(owner)
    assert _from(app, "10.1.2.3").post(
        "/admin/login", data={"username": "clerk", "password": "x"}).status_code == 401
    time_machine.move_to(clock.now() + staff_service.LOCKOUT + dt.timedelta(minutes=1), tick=False)
    assert _from(app, "10.1.2.3").post(
        "/admin/login", data={"username": "clerk", "password": "x"}).status_code == 302


def test_signing_in_again_starts_a_new_party_session(app, session, client):
    case, code = listed_case(session, app)
    session.commit()
    assert party_login(client, case, code).status_code == 302
    before = _cookie(client)
    assert party_login(client, case, code).status_code == 302
    assert client.get("/submit/case").status_code == 200
    stranger = app.test_client()
    _replay(stranger, before)
    assert stranger.get("/submit/case").status_code == 302     # the earlier session was revoked
