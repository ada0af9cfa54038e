"""Staff authentication and account management (portal.services.staff), on both databases."""
import datetime as dt

import pyotp
import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Role, StaffUser
from portal.security import verify_password
from portal.services import audit, staff
from portal.services.permissions import PermissionDenied
from tests.web.admin_support import fast_passwords  # noqa: F401  (fixture)
from tests.web.admin_support import user as make_staff

pytestmark = pytest.mark.usefixtures("fast_passwords")

NOW = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _actions(session, entity_id=None):
    stmt = sa.select(AuditEvent.action).order_by(AuditEvent.seq)
    if entity_id:
        stmt = stmt.where(AuditEvent.entity_id == entity_id)
    return session.execute(stmt).scalars().all()


def test_clerk_signs_in_with_the_password_alone(app, session):
    clerk = make_staff(session, Role.CLERK, "wang.fang")
    result = staff.authenticate(session, "Wang.Fang ", "x", NOW)
    assert result.status == "ok" and result.user.id == clerk.id
    assert _actions(session) == ["staff.login"]
    assert staff.authenticate(session, "wang.fang", "wrong", NOW).status == "invalid"
    assert clerk.failed_logins == 1


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.APPROVER, Role.ADMIN])
def test_roles_that_need_a_second_factor_enrol_then_use_it(app, session, role):
    user = make_staff(session, role)
    first = staff.authenticate(session, user.username, "x", NOW)
    assert first.status == "needs_enrolment" and _actions(session) == []   # not yet logged in
    secret = staff.new_totp_secret()
    assert staff.enrol_second_factor(session, user, secret, "000000", NOW).status == "invalid"
    code = pyotp.TOTP(secret).at(NOW)
    assert staff.enrol_second_factor(session, user, secret, code, NOW).ok
    assert user.totp_secret == secret
    assert staff.authenticate(session, user.username, "x", NOW).status == "needs_totp"
    later = NOW + dt.timedelta(minutes=5)
    assert staff.verify_second_factor(session, user, pyotp.TOTP(secret).at(later), later).ok
    assert _actions(session) == ["staff.login_failed", "staff.totp_enrolled", "staff.login",
                                 "staff.login"]
    uri = staff.provisioning_uri(user, secret)
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri


def test_a_code_from_ten_minutes_ago_is_refused(app, session):
    user = make_staff(session, Role.APPROVER)
    user.totp_secret = pyotp.random_base32()
    old = pyotp.TOTP(user.totp_secret).at(NOW - dt.timedelta(minutes=10))
    assert staff.verify_second_factor(session, user, old, NOW).status == "invalid"
    assert staff.verify_second_factor(session, user, "12345", NOW).status == "invalid"  # 5 digits


def test_five_failures_lock_the_source_out_for_fifteen_minutes(app, session):
    user = make_staff(session, Role.CLERK, "li.na")
    results = [staff.authenticate(session, "li.na", f"guess{i}", NOW).status for i in range(5)]
    assert results == ["invalid"] * 4 + ["locked"]
    assert staff.source_locked_until(session, user, staff.NO_SOURCE, NOW) == NOW + staff.LOCKOUT
    assert user.locked_until is None                  # one source does not lock the account
    assert staff.authenticate(session, "li.na", "x", NOW, source="elsewhere").ok
    # from the locked source the right password does not help, and is not even checked
    assert staff.authenticate(session, "li.na", "x", NOW + dt.timedelta(minutes=14)).status == "locked"
    assert staff.authenticate(session, "li.na", "x", NOW + dt.timedelta(minutes=15, seconds=1)).ok
    assert user.failed_logins == 0 and user.locked_until is None
    actions = _actions(session, "li.na")
    assert actions.count("staff.login_failed") == 6 and actions.count("staff.lockout") == 1
    lock = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "staff.lockout")).scalar_one()
    assert lock.data["minutes"] == 15 and lock.data["scope"] == "source"


def test_locked_sources_on_several_addresses_lock_the_account(app, session):
    user = make_staff(session, Role.CLERK, "li.na")
    version = user.session_version
    for n in range(staff.USER_LOCK_ADDRESSES):
        for i in range(staff.MAX_FAILED_LOGINS):
            staff.authenticate(session, "li.na", "guess", NOW, source=f"bot{n}")
    assert user.locked_until == NOW + staff.LOCKOUT
    assert user.session_version == version + 1          # its sessions end
    assert staff.authenticate(session, "li.na", "x", NOW, source="office").status == "locked"
    staff.unlock(session, make_staff(session, Role.ADMIN), user)
    assert staff.authenticate(session, "li.na", "x", NOW, source="bot0").ok


def test_wrong_codes_count_towards_the_lockout(app, session):
    user = make_staff(session, Role.REVIEWER)
    user.totp_secret = pyotp.random_base32()
    for _ in range(4):
        staff.verify_second_factor(session, user, "000000", NOW)
    assert staff.verify_second_factor(session, user, "000000", NOW).status == "locked"
    good = pyotp.TOTP(user.totp_secret).at(NOW)
    assert staff.verify_second_factor(session, user, good, NOW).status == "locked"


def test_unknown_and_deactivated_users_get_the_same_answer(app, session):
    user = make_staff(session, Role.CLERK)
    user.active = False
    assert staff.authenticate(session, "nobody", "x", NOW).status == "invalid"
    assert staff.authenticate(session, user.username, "x", NOW).status == "invalid"
    rows = session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    assert [r.data["reason"] for r in rows] == ["unknown_user", "inactive"]
    assert all(r.actor_label == "public" for r in rows)
    assert "x" not in str([r.data for r in rows])          # no password in the log


def test_password_change_checks_the_current_one_and_the_policy(app, session):
    user = make_staff(session, Role.CLERK, "zhao.lei")
    with pytest.raises(staff.StaffError, match="wrong_password"):
        staff.change_password(session, user, "nope", "a long enough passphrase")
    with pytest.raises(staff.StaffError, match="password_too_short"):
        staff.change_password(session, user, "x", "short")
    with pytest.raises(staff.StaffError, match="password_contains_username"):
        staff.change_password(session, user, "x", "zhao.lei is my password")
    staff.change_password(session, user, "x", "冬天的松花江很冷 2026")
    assert verify_password(user.password_hash, "冬天的松花江很冷 2026")
    assert _actions(session) == ["staff.password_change_failed", "staff.password_changed"]


def test_only_an_admin_manages_accounts(app, session):
    admin = make_staff(session, Role.ADMIN)
    reviewer = make_staff(session, Role.REVIEWER)
    with pytest.raises(PermissionDenied):
        staff.create_user(session, reviewer, "new.user", "新用户", Role.CLERK)
    user, password = staff.create_user(session, admin, "Chen.Jing", "陈静", Role.APPROVER)
    assert user.username == "chen.jing" and len(password) == 16
    assert verify_password(user.password_hash, password)
    with pytest.raises(staff.StaffError, match="username_taken"):
        staff.create_user(session, admin, "chen.jing", "x", Role.CLERK)
    with pytest.raises(staff.StaffError, match="bad_username"):
        staff.create_user(session, admin, "陈 静", "x", Role.CLERK)
    with pytest.raises(staff.StaffError, match="cannot_deactivate_self"):
        staff.set_active(session, admin, admin, False)
    staff.set_active(session, admin, user, False)
    assert not user.active
    user.totp_secret, user.failed_logins = "ABC", 3
    staff.reset_second_factor(session, admin, user)
    assert user.totp_secret is None and user.failed_logins == 0
    new = staff.reset_password(session, admin, user)
    assert new != password and verify_password(user.password_hash, new)
    staff.change_role(session, admin, user, Role.CLERK)
    assert user.role is Role.CLERK
    assert _actions(session, "chen.jing") == [
        "staff.create", "staff.deactivate", "staff.reset_totp", "staff.reset_password", "staff.role"]
    assert audit.verify(session) == []


def test_logout_is_audited_with_its_reason(app, session):
    user = make_staff(session, Role.CLERK)
    staff.record_logout(session, user, "idle_timeout")
    event = session.execute(sa.select(AuditEvent)).scalar_one()
    assert (event.action, event.actor_id, event.data) == ("staff.logout", user.id,
                                                          {"reason": "idle_timeout"})
    assert session.get(StaffUser, user.id).username == event.entity_id


def _failures(session):
    rows = session.execute(sa.select(AuditEvent).where(AuditEvent.action == "staff.login_failed")
                           .order_by(AuditEvent.seq)).scalars().all()
    return [r.data for r in rows]


def test_a_totp_code_is_accepted_only_once(app, session):
    user = make_staff(session, Role.APPROVER)
    user.totp_secret = pyotp.random_base32()
    totp = pyotp.TOTP(user.totp_secret)
    code = totp.at(NOW)
    assert staff.verify_second_factor(session, user, code, NOW).ok
    assert user.totp_last_step == totp.timecode(NOW)
    # the same code, still inside the 90 s window pyotp would accept, is a replay
    later = NOW + dt.timedelta(seconds=20)
    assert staff.verify_second_factor(session, user, code, later).status == "invalid"
    # so is the code of the step before, seen on the screen a moment earlier
    earlier = totp.at(NOW - dt.timedelta(seconds=30))
    assert staff.verify_second_factor(session, user, earlier, later).status == "invalid"
    assert user.failed_logins == 2 and user.totp_last_step == totp.timecode(NOW)
    assert _failures(session) == [{"step": "totp", "attempt": 1, "reason": "replay"},
                                  {"step": "totp", "attempt": 2, "reason": "replay"}]
    # the next code is fresh
    nxt = NOW + dt.timedelta(seconds=30)
    assert staff.verify_second_factor(session, user, totp.at(nxt), nxt).ok
    assert user.totp_last_step == totp.timecode(NOW) + 1 and user.failed_logins == 0
    assert audit.verify(session) == []


def test_replayed_codes_count_towards_the_lockout(app, session):
    user = make_staff(session, Role.REVIEWER)
    user.totp_secret = pyotp.random_base32()
    code = pyotp.TOTP(user.totp_secret).at(NOW)
    assert staff.verify_second_factor(session, user, code, NOW).ok
    results = [staff.verify_second_factor(session, user, code, NOW).status for _ in range(5)]
    assert results == ["invalid"] * 4 + ["locked"]
    assert _actions(session).count("staff.lockout") == 1


def test_a_code_used_elsewhere_meanwhile_is_refused(app, session):
    """Two sign-ins racing with one code: the stored step is checked in the UPDATE itself."""
    user = make_staff(session, Role.APPROVER)
    user.totp_secret = pyotp.random_base32()
    session.commit()
    totp = pyotp.TOTP(user.totp_secret)
    assert user.totp_last_step is None                   # what this request has loaded
    table = StaffUser.__table__                          # the other request wins, unseen by the ORM
    session.execute(sa.update(table).where(table.c.id == user.id)
                    .values(totp_last_step=totp.timecode(NOW)))
    result = staff.verify_second_factor(session, user, totp.at(NOW), NOW)
    assert result.status == "invalid"
    assert user.totp_last_step == totp.timecode(NOW)
    assert _failures(session) == [{"step": "totp", "attempt": 1, "reason": "replay"}]


def test_the_enrolment_code_cannot_sign_in_a_second_time(app, session):
    admin = make_staff(session, Role.ADMIN)
    user = make_staff(session, Role.APPROVER)
    secret = staff.new_totp_secret()
    code = pyotp.TOTP(secret).at(NOW)
    assert staff.enrol_second_factor(session, user, secret, code, NOW).ok
    assert user.totp_last_step == pyotp.TOTP(secret).timecode(NOW)
    assert staff.verify_second_factor(session, user, code, NOW).status == "invalid"
    assert _failures(session) == [{"step": "totp", "attempt": 1, "reason": "replay"}]
    # a new authenticator starts afresh, but its codes are also good only once
    staff.reset_second_factor(session, admin, user)
    assert user.totp_last_step is None
    other = staff.new_totp_secret()
    code = pyotp.TOTP(other).at(NOW)
    assert staff.enrol_second_factor(session, user, other, code, NOW).ok
    user.totp_secret = None                                # enrolling again with the same code
    assert staff.enrol_second_factor(session, user, other, code, NOW).status == "invalid"
    assert _failures(session)[-1] == {"step": "enrolment", "attempt": 1, "reason": "replay"}


def test_passwords_set_by_an_admin_must_be_changed(app, session):
    admin = make_staff(session, Role.ADMIN)
    assert admin.must_change_password is False
    user, password = staff.create_user(session, admin, "chen.jing", "陈静", Role.CLERK)
    assert user.must_change_password is True
    assert staff.authenticate(session, "chen.jing", password, NOW).ok
    staff.change_password(session, user, password, "冬天的松花江很冷 2026")
    assert user.must_change_password is False
    staff.reset_password(session, admin, user)
    assert user.must_change_password is True
    staff.unlock(session, admin, user)                     # other account changes keep it
    assert user.must_change_password is True
    events = session.execute(sa.select(AuditEvent).where(AuditEvent.entity_id == "chen.jing")
                             .order_by(AuditEvent.seq)).scalars().all()
    assert [(e.action, e.data) for e in events] == [
        ("staff.create", {"role": "clerk", "must_change_password": True}),
        ("staff.login", {"second_factor": False, "must_change_password": True}),
        ("staff.password_changed", {"temporary_replaced": True}),
        ("staff.reset_password", {"must_change_password": True}),
        ("staff.unlock", {}),
    ]


def test_no_password_is_hashed_when_a_process_starts():
    """Argon2 takes 64 MB while it hashes: a hash made at import became the peak memory of the
    worker and of every web worker. The dummy hash for unknown names is a constant."""
    import subprocess
    import sys

    script = ("import argon2\n"
              "def refuse(*a, **k):\n"
              "    raise SystemExit('hashed at start-up')\n"
              "argon2.PasswordHasher.hash = refuse\n"
              "from portal import create_app\n"
              "import portal.services.staff\n"
              "create_app({'SQLALCHEMY_DATABASE_URI': 'sqlite://', 'SECRET_KEY': 'k',"
              " 'PORTAL_LOOKUP_KEY': 'k', 'PORTAL_PROFILE': 'jiamusi'})\n"
              "print('started')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "started" in done.stdout, done.stderr[-2000:]


def test_the_dummy_hash_costs_what_a_real_one_costs():
    """Unknown names are answered after a verification as expensive as a real account's."""
    from argon2 import PasswordHasher

    from portal.security import verify_password
    from portal.services.staff import DUMMY_HASH

    # portal.security hashes staff passwords with Argon2's defaults (tests here use a light one)
    assert not PasswordHasher().check_needs_rehash(DUMMY_HASH)
    assert not verify_password(DUMMY_HASH, "") and not verify_password(DUMMY_HASH, "password")
