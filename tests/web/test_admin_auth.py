"""Back-office sign-in: password, TOTP, enrolment, lockout, idle timeout, CSRF, role checks."""
import datetime as dt
import re

import pyotp
import pytest
import sqlalchemy as sa

from portal import clock, create_app
from portal import config as portal_config
from portal.models import AuditEvent, Role
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _actions(session, entity_id):
    session.expire_all()
    return session.execute(sa.select(AuditEvent.action).where(AuditEvent.entity_id == entity_id)
                           .order_by(AuditEvent.seq)).scalars().all()


def test_anonymous_access_redirects_to_the_login(client):
    for url in ("/admin/", "/admin/queue/cases", "/admin/cases/1", "/admin/audit/", "/admin/users/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login?next=")
    assert client.post("/admin/cases/1/step/approve").headers["Location"].startswith("/admin/login")


def test_clerk_signs_in_with_a_password_and_out_again(app, session, client):
    clerk = staff(session, Role.CLERK, "wang.fang")
    page = client.get("/admin/login")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'autocomplete="current-password"' in page.get_data(as_text=True)
    response = client.post("/admin/login?next=/admin/queue/submissions",
                           data={"username": "wang.fang", "password": "x"})
    assert response.headers["Location"] == "/admin/queue/submissions"
    assert client.get("/admin/queue/cases").status_code == 200
    assert client.post("/admin/logout").headers["Location"] == "/admin/login"
    assert client.get("/admin/queue/cases").status_code == 302
    assert _actions(session, clerk.username) == ["staff.login", "staff.logout"]


def test_next_never_leaves_the_back_office(session, client):
    staff(session, Role.CLERK, "wang.fang")
    response = client.post("/admin/login?next=https://evil.example/",
                           data={"username": "wang.fang", "password": "x"})
    assert response.headers["Location"] == "/admin/"


def test_approver_needs_the_current_totp_code(app, session, client):
    approver = staff(session, Role.APPROVER, "zhang.wei")
    response = client.post("/admin/login", data={"username": "zhang.wei", "password": "x"})
    assert response.headers["Location"] == "/admin/login/code"
    assert client.get("/admin/queue/cases").status_code == 302          # not signed in yet
    wrong = client.post("/admin/login/code", data={"code": "000000"})
    assert wrong.status_code == 401
    code = pyotp.TOTP(approver.totp_secret).now()
    assert client.post("/admin/login/code", data={"code": code}).status_code == 302
    assert client.get("/admin/queue/cases").status_code == 200
    assert _actions(session, "zhang.wei") == ["staff.login_failed", "staff.login"]
    login_event = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "staff.login")).scalar_one()
    assert login_event.data == {"second_factor": True} and login_event.actor_id == approver.id


def test_an_observed_code_cannot_be_replayed(app, session, client):
    approver = staff(session, Role.APPROVER, "zhang.wei")
    totp = pyotp.TOTP(approver.totp_secret)
    code = totp.at(clock.now())
    client.post("/admin/login", data={"username": "zhang.wei", "password": "x"})
    assert client.post("/admin/login/code", data={"code": code}).status_code == 302
    client.post("/admin/logout")
    # someone who saw the code (and knows the password) tries it within its 30-90 s
    elsewhere = app.test_client()
    english(elsewhere)
    elsewhere.post("/admin/login", data={"username": "zhang.wei", "password": "x"})
    replay = elsewhere.post("/admin/login/code", data={"code": code})
    assert replay.status_code == 401 and "has expired" in text(replay)
    assert elsewhere.get("/admin/queue/cases").status_code == 302          # not signed in
    failed = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "staff.login_failed")
                             ).scalar_one()
    assert failed.data == {"step": "totp", "attempt": 1, "reason": "replay"}
    assert failed.actor_label == "public"
    # the account holder's next code works
    fresh = totp.at(clock.now() + dt.timedelta(seconds=30))
    assert elsewhere.post("/admin/login/code", data={"code": fresh}).status_code == 302
    assert _actions(session, "zhang.wei") == ["staff.login", "staff.logout", "staff.login_failed",
                                              "staff.login"]


def test_the_code_step_expires_without_the_password_step(session, client):
    staff(session, Role.REVIEWER, "li.na")
    assert client.get("/admin/login/code").headers["Location"] == "/admin/login"
    client.post("/admin/login", data={"username": "li.na", "password": "x"})
    with client.session_transaction() as s:
        s["staff_pending"] = {**s["staff_pending"], "at": s["staff_pending"]["at"] - 301}
    assert client.get("/admin/login/code").headers["Location"] == "/admin/login"


def test_first_sign_in_of_an_admin_enrols_an_authenticator(app, session, client):
    admin = staff(session, Role.ADMIN, "admin.zhou")
    admin.totp_secret = None
    session.commit()
    response = client.post("/admin/login", data={"username": "admin.zhou", "password": "x"})
    assert response.headers["Location"] == "/admin/login/enrol"
    page = client.get("/admin/login/enrol").get_data(as_text=True)
    uri = re.search(r"otpauth://totp/[^<\s]+", page).group(0)
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in page   # typed by hand
    assert "admin.zhou" in uri
    assert client.post("/admin/login/enrol", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    session.expire_all()
    assert admin.totp_secret == secret
    assert client.get("/admin/users/").status_code == 200
    assert _actions(session, "admin.zhou") == ["staff.totp_enrolled", "staff.login"]


def _qr_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules of a QR code drawn as segno's one SVG path (M x y, then h n / m dx dy)."""
    path = re.search(r'<path[^>]*class="qrline"[^>]*d="([^"]+)"|<path[^>]*d="([^"]+)"[^>]*class="qrline"', svg)
    d = path.group(1) or path.group(2)
    x = y = 0.0
    dark = set()
    for op, args in re.findall(r"([Mmh])([^Mmh]+)", d):
        numbers = [float(n) for n in re.findall(r"-?[0-9.]+", args)]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(numbers[0])))
            x += numbers[0]
    return dark


def test_enrolment_shows_a_qr_code_of_the_setup_link_issued_by_the_bureau(app, session, client):
    import html
    from urllib.parse import quote

    import segno

    from portal.services import jurisdictions

    admin = staff(session, Role.ADMIN, "admin.zhou")
    admin.totp_secret = None
    session.commit()
    client.post("/admin/login", data={"username": "admin.zhou", "password": "x"})
    page = client.get("/admin/login/enrol").get_data(as_text=True)
    uri = html.unescape(re.search(r"otpauth://totp/[^<\s\"]+", page).group(0))
    bureau = jurisdictions.directory(session).get(jurisdictions.memberships(session, admin)[0])
    assert bureau.authority_zh and not bureau.authority_zh.isascii()
    assert f"issuer={quote(bureau.authority_zh)}" in uri                 # the bureau, in Chinese
    assert uri.startswith(f"otpauth://totp/{quote(bureau.authority_zh)}:admin.zhou?")
    svg = re.search(r"<svg\b.*?</svg>", page, re.DOTALL).group(0)      # inline: no image request
    assert 'role="img"' in svg and "<title" in svg and "<script" not in page.split("<main")[-1]
    drawn = _qr_modules(svg)
    assert any(drawn == {(x, y) for y, row in enumerate(code.matrix_iter(border=4))
                         for x, bit in enumerate(row) if bit}
               for code in (segno.make(uri, error=e, micro=False) for e in "lmqh")), \
        "the QR code does not encode the setup link shown"
    secret = re.search(r"secret=([A-Z2-7]+)", uri).group(1)
    assert " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)) in page   # typed by hand
    assert "Credit list back office" not in page and "Credit%20list" not in uri


def test_five_failures_lock_this_address_out(app, session, client, time_machine):
    clerk = staff(session, Role.CLERK, "li.na")
    for _ in range(5):
        response = client.post("/admin/login", data={"username": "li.na", "password": "wrong"})
        assert response.status_code == 401
    assert "15" in text(response)                       # the message says how long
    right = client.post("/admin/login", data={"username": "li.na", "password": "x"})
    assert right.status_code == 401                     # locked: the right password is refused
    session.expire_all()
    assert clerk.locked_until is None                   # the address, not the account (test_sessions)
    actions = _actions(session, "li.na")
    assert actions.count("staff.login_failed") == 6 and actions.count("staff.lockout") == 1
    later = clock.now() + dt.timedelta(minutes=16)
    time_machine.move_to(later, tick=False)
    assert client.post("/admin/login", data={"username": "li.na", "password": "x"}).status_code == 302


def test_idle_sessions_end_after_thirty_minutes(app, session, client, time_machine):
    clerk = staff(session, Role.CLERK, "wang.fang")
    login(client, clerk)
    start = clock.now()
    time_machine.move_to(start + dt.timedelta(minutes=29), tick=False)
    assert client.get("/admin/queue/cases").status_code == 200        # activity slides the window
    time_machine.move_to(start + dt.timedelta(minutes=58), tick=False)
    assert client.get("/admin/queue/cases").status_code == 200
    time_machine.move_to(start + dt.timedelta(minutes=89), tick=False)
    response = client.get("/admin/queue/cases")
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/login?next=/admin/queue/cases"
    assert client.get("/admin/queue/cases").status_code == 302
    logout = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "staff.logout")).scalar_one()
    assert logout.data == {"reason": "idle_timeout"}
    # the cookie outlives the idle limit, so that the server records the idle sign-out
    assert app.config["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(hours=12)


def test_sessions_end_after_twelve_hours_however_active(session, client, time_machine):
    login(client, staff(session, Role.CLERK))
    start = clock.now()
    for minutes in range(25, 12 * 60, 25):
        time_machine.move_to(start + dt.timedelta(minutes=minutes), tick=False)
        assert client.get("/admin/queue/cases").status_code == 200
    time_machine.move_to(start + dt.timedelta(hours=12, minutes=1), tick=False)
    assert client.get("/admin/queue/cases").headers["Location"] == "/admin/login"
    logout = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "staff.logout")).scalar_one()
    assert logout.data == {"reason": "session_limit"}


def test_a_deactivated_account_is_signed_out_at_once(session, client):
    clerk = staff(session, Role.CLERK)
    login(client, clerk)
    clerk.active = False
    session.commit()
    assert client.get("/admin/queue/cases").headers["Location"].startswith("/admin/login")
    assert _actions(session, clerk.username)[-1] == "staff.logout"


def test_the_login_form_needs_its_csrf_token(app, session, client):
    staff(session, Role.CLERK, "wang.fang")
    app.config["WTF_CSRF_ENABLED"] = True
    refused = client.post("/admin/login", data={"username": "wang.fang", "password": "x"})
    assert refused.status_code == 400
    page = client.get("/admin/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    accepted = client.post("/admin/login", data={"username": "wang.fang", "password": "x",
                                                 "csrf_token": token})
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/admin/"
    # and the sign-out button too
    assert client.post("/admin/logout").status_code == 400


@pytest.mark.parametrize("role, url", [
    (Role.CLERK, "/admin/audit/"),
    (Role.CLERK, "/admin/calendar/"),
    (Role.REVIEWER, "/admin/users/"),
    (Role.APPROVER, "/admin/users/"),
    (Role.ADMIN, "/admin/cases/new"),
])
def test_pages_refuse_the_wrong_role(session, client, role, url):
    login(client, staff(session, role))
    response = client.get(url)
    assert response.status_code == 403


def test_a_reviewer_cannot_manage_users(session, client):
    reviewer = staff(session, Role.REVIEWER)
    login(client, reviewer)
    before = session.execute(sa.select(sa.func.count(AuditEvent.id))).scalar()
    assert client.post("/admin/users/", data={"username": "sneaky", "display_name": "x",
                                              "role": "admin"}).status_code == 403
    assert client.post(f"/admin/users/{reviewer.id}/role", data={"role": "admin"}).status_code == 403
    session.expire_all()
    assert reviewer.role is Role.REVIEWER
    assert session.execute(sa.select(sa.func.count(AuditEvent.id))).scalar() == before


def test_every_admin_view_is_marked_with_its_roles(app):
    unmarked = [name for name, view in app.view_functions.items()
                if name.startswith("admin.") and not (getattr(view, "admin_roles", None)
                                                      or getattr(view, "admin_public", False))]
    assert unmarked == []
    public = sorted(n for n, v in app.view_functions.items() if getattr(v, "admin_public", False))
    assert public == ["admin.auth.enrol", "admin.auth.login", "admin.auth.totp"]


def test_login_is_rate_limited(database_url, tmp_path, session):
    limited = create_app({**portal_config.testing(database_url, tmp_path), "RATELIMIT_ENABLED": True,
                          "PORTAL_LOGIN_RATE_LIMIT": "3 per minute"})
    client = limited.test_client()
    codes = [client.post("/admin/login", data={"username": "nobody", "password": "x"}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert client.get("/admin/login").status_code == 200           # only POSTs are counted
