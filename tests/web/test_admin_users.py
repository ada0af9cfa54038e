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
