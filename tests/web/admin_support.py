"""Helpers for the back-office tests: staff with a second factor, signing in through the UI."""
from __future__ import annotations

import re

import pyotp
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from portal import clock, security
from portal.extensions import db
from portal.models import Role, StaffUser
from tests.factories import make_staff

PASSWORD = "x"


@pytest.fixture
def fast_passwords(monkeypatch, request):
    """A light Argon2 profile: the tests check behaviour, not the (deliberately slow) cost.

    Also: a test that sets ``PORTAL_PROFILE`` means a single-city portal of that profile, so
    the one jurisdiction of its portal follows the setting (see :func:`follow_portal_profile`).
    """
    light = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    monkeypatch.setattr(security, "_password_hasher", light)
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        app.before_request(lambda: follow_portal_profile(db.session, app.config))
    return light


def follow_portal_profile(session, config) -> None:
    """Give the one jurisdiction of a single-city test portal the profile ``PORTAL_PROFILE``
    names now (the fixture seeds it from the setting before a test changes the setting)."""
    from portal.models import Jurisdiction
    from portal.services.publication import bump_version

    rows = session.execute(sa.select(Jurisdiction)).scalars().all()
    if len(rows) == 1 and rows[0].profile != config["PORTAL_PROFILE"]:
        rows[0].profile = config["PORTAL_PROFILE"]
        bump_version(session)
        session.commit()


def user(session, role: Role, username: str | None = None,
         jurisdictions: tuple[str, ...] | None = None) -> StaffUser:
    """A staff user whose password is ``PASSWORD`` (hashed with the current hasher), working
    for ``jurisdictions`` (default: see ``factories.make_staff``)."""
    found = make_staff(session, role, username, jurisdictions)
    found.password_hash = security.hash_password(PASSWORD)
    found.display_name = f"{role.value.title()} {found.username}"
    session.flush()
    return found


def staff(session, role: Role, username: str | None = None,
          jurisdictions: tuple[str, ...] | None = None) -> StaffUser:
    """A staff user; reviewers, approvers and admins get an enrolled authenticator."""
    found = user(session, role, username, jurisdictions)
    if role.needs_second_factor:
        found.totp_secret = pyotp.random_base32()
    session.commit()
    return found


def forget_last_code(user: StaffUser) -> None:
    """Forget the last accepted TOTP step, as if the previous sign-in was more than 30 s ago."""
    db.session.execute(sa.update(StaffUser).where(StaffUser.id == user.id)
                       .values(totp_last_step=None))
    db.session.commit()


def login(client, user: StaffUser, password: str = PASSWORD):
    """Sign in through the login pages (password, then the current TOTP code when needed).

    A code is accepted only once; tests sign the same user in several times within one
    30-second step, so the helper forgets the step of the previous sign-in first (the
    replay protection itself is tested in test_admin_auth and test_staff).
    """
    response = client.post("/admin/login", data={"username": user.username, "password": password})
    if response.headers.get("Location", "").endswith("/admin/login/code"):
        secret = user.totp_secret
        forget_last_code(user)
        response = client.post("/admin/login/code",
                               data={"code": pyotp.TOTP(secret).at(clock.now())})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert not response.headers["Location"].startswith("/admin/login"), response.headers["Location"]
    return response


def english(client) -> None:
    client.get("/lang/en")


def text(response) -> str:
    """The visible text of a page, whitespace collapsed (for assertions on wording)."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
