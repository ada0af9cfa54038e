"""Staff accounts managed by an admin: create, deactivate, reset password and authenticator."""
import re

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Role, StaffUser
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")


def _shown_password(response) -> str:
    return re.search(r'class="access-code code">([^<]+)<', response.get_data(as_text=True)).group(1)


def test_admin_creates_an_account_that_can_sign_in(app, session, client):
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    created = client.post("/admin/users/", data={"username": "Sun.Li", "display_name": "孙丽",
                                                 "role": "clerk"})
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    password = _shown_password(created)
    user = session.execute(sa.select(StaffUser).where(StaffUser.username == "sun.li")).scalar_one()
    assert user.role is Role.CLERK and password not in user.password_hash
    duplicate = client.post("/admin/users/", data={"username": "sun.li", "display_name": "x", "role": "clerk"})
    assert duplicate.status_code == 400 and "already taken" in text(duplicate)
    other = app.test_client()
    assert other.post("/admin/login", data={"username": "sun.li", "password": password}).status_code == 302


def test_deactivate_reset_password_and_authenticator(app, session, client):
    admin = staff(session, Role.ADMIN, "admin.zhou")
    approver = staff(session, Role.APPROVER, "zhang.wei")
    login(client, admin)
    assert client.post(f"/admin/users/{approver.id}/active/0").status_code == 302
    elsewhere = app.test_client()
    assert elsewhere.post("/admin/login", data={"username": "zhang.wei", "password": "x"}).status_code == 401
    assert client.post(f"/admin/users/{approver.id}/active/1").status_code == 302
    new = _shown_password(client.post(f"/admin/users/{approver.id}/password"))
    assert elsewhere.post("/admin/login", data={"username": "zhang.wei", "password": "x"}).status_code == 401
    assert client.post(f"/admin/users/{approver.id}/totp").status_code == 302
    step = elsewhere.post("/admin/login", data={"username": "zhang.wei", "password": new})
    assert step.headers["Location"] == "/admin/login/enrol"          # a new authenticator
    assert client.post(f"/admin/users/{admin.id}/active/0").status_code == 302   # not oneself
    session.expire_all()
    assert session.get(StaffUser, admin.id).active
    actions = session.execute(sa.select(AuditEvent.action).where(AuditEvent.entity_id == "zhang.wei")
                              .order_by(AuditEvent.seq)).scalars().all()
    assert actions == ["staff.deactivate", "staff.login_failed", "staff.activate",
                       "staff.reset_password", "staff.login_failed", "staff.reset_totp"]


def test_staff_change_their_own_password(session, client):
    clerk = staff(session, Role.CLERK, "wang.fang")
    english(client)
    login(client, clerk)
    weak = client.post("/admin/account/password", data={"current": "x", "new": "short", "confirm": "short"})
    assert weak.status_code == 400 and "at least 12 characters" in text(weak)
    done = client.post("/admin/account/password", data={
        "current": "x", "new": "松花江畔的秋天 2026", "confirm": "松花江畔的秋天 2026"})
    assert done.status_code == 302
    client.post("/admin/logout")
    assert client.post("/admin/login", data={"username": "wang.fang",
                                             "password": "松花江畔的秋天 2026"}).status_code == 302


def test_a_temporary_password_must_be_changed_before_anything_else(app, session, client):
    english(client)
    login(client, staff(session, Role.ADMIN, "admin.zhou"))
    created = client.post("/admin/users/", data={"username": "sun.li", "display_name": "孙丽",
                                                 "role": "clerk"})
    assert "must choose a new password at the next sign-in" in text(created)
    temporary = _shown_password(created)
    assert "chooses a new password at the next sign-in" in text(client.get("/admin/users/"))
    clerk = app.test_client()
    english(clerk)
    signed_in = clerk.post("/admin/login?next=/admin/queue/submissions",
                           data={"username": "sun.li", "password": temporary})
    assert signed_in.status_code == 302
    # every other page, GET or POST, leads to the password page first
    first = clerk.get("/admin/queue/submissions")
    assert first.status_code == 302
    assert first.headers["Location"] == "/admin/account/password?next=/admin/queue/submissions"
    for url in ("/admin/", "/admin/queue/cases", "/admin/cases/new", "/admin/login"):
        assert clerk.get(url).headers["Location"].startswith("/admin/account/password"), url
    refused = clerk.post("/admin/cases/1/step/pre_notice")
    assert refused.headers["Location"] == "/admin/account/password"
    page = clerk.get(first.headers["Location"])
    assert page.status_code == 200
    assert "is temporary" in text(page) and "temporary one set by an administrator" in text(page)
    assert clerk.get("/static/css/portal.css").status_code == 200          # not redirected
    changed = clerk.post(first.headers["Location"], data={
        "current": temporary, "new": "松花江畔的秋天 2026", "confirm": "松花江畔的秋天 2026"})
    assert changed.headers["Location"] == "/admin/queue/submissions"
    assert clerk.get("/admin/queue/cases").status_code == 200
    session.expire_all()
    user = session.execute(sa.select(StaffUser).where(StaffUser.username == "sun.li")).scalar_one()
    assert user.must_change_password is False
    events = session.execute(sa.select(AuditEvent).where(AuditEvent.entity_id == "sun.li")
                             .order_by(AuditEvent.seq)).scalars().all()
    assert [(e.action, e.data) for e in events] == [
        ("staff.create", {"role": "clerk", "must_change_password": True}),
        ("staff.login", {"second_factor": False, "must_change_password": True}),
        ("staff.password_changed", {"temporary_replaced": True}),
    ]


def test_after_a_reset_the_user_chooses_a_new_password_or_signs_out(app, session, client):
    admin = staff(session, Role.ADMIN, "admin.zhou")
    approver = staff(session, Role.APPROVER, "zhang.wei")
    login(client, admin)
    temporary = _shown_password(client.post(f"/admin/users/{approver.id}/password"))
    session.expire_all()
    assert session.get(StaffUser, approver.id).must_change_password is True
    other = app.test_client()
    login(other, approver, temporary)                 # password and TOTP code as usual
    assert other.get("/admin/queue/cases").headers["Location"].startswith("/admin/account/password")
    assert other.post("/admin/logout").headers["Location"] == "/admin/login"   # the exit stays open
    assert other.get("/admin/queue/cases").headers["Location"].startswith("/admin/login")
    # a wrong current password does not lift the requirement
    login(other, approver, temporary)
    wrong = other.post("/admin/account/password", data={
        "current": "nope", "new": "松花江畔的秋天 2026", "confirm": "松花江畔的秋天 2026"})
    assert wrong.status_code == 400
    assert other.get("/admin/queue/cases").headers["Location"].startswith("/admin/account/password")
    # the admin's own session is not affected
    assert client.get("/admin/users/").status_code == 200
