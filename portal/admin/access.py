"""Who may open which page and take which step: checked on the server for every request.

* :func:`role_required` marks a view with the roles that may open it; the
  blueprint refuses (403) any admin view that carries no mark at all, so a
  forgotten decorator fails closed.
* :func:`enforce_session` logs a staff member out after 30 idle minutes and
  when the account was deactivated, and keeps a user whose password is a
  temporary one (set by an admin) on the password page until it is changed.
* :func:`may_read_complainant` is the one check for a named complainant's identity
  (name, phone, e-mail); :func:`filer_identity` applies it and audits each reading.
* Which step of a case, a filing, a finding or the red list a user may take is not
  answered here: the services answer it (``portal.services.case_steps``, ``filing_steps``,
  ``grade_steps``) and enforce the same answer, so the pages offer exactly what succeeds.
"""
from __future__ import annotations

import datetime as dt
from functools import wraps

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal import clock, labels
from portal.extensions import db
from portal.models import Role, Submission
from portal.rules.workflow import SubmissionKind
from portal.services import audit
from portal.services.permissions import CASE_ROLES
from portal.services import staff as staff_service

IDLE_LIMIT = dt.timedelta(minutes=30)
#: However active, a staff session ends after a working day; the cookie lives as long, so
#: that the server sees an idle session come back and records its end (an expired cookie
#: would vanish without an audit event).
SESSION_LIMIT = dt.timedelta(hours=12)
SEEN_KEY = "staff_seen"
SINCE_KEY = "staff_since"
#: CASE_ROLES: the roles that handle cases and submissions (the admin manages accounts and
#: the calendar), as the services name them.
#: Roles that handle complaints: the only ones that read a named complainant's identity.
COMPLAINANT_READERS = CASE_ROLES
ALL_ROLES = tuple(Role)
#: What opens while the password is a temporary one: the page that changes it and the exit
#: (static files are served outside the back-office blueprint and never reach the check).
PASSWORD_CHANGE_OPEN = frozenset({"admin.auth.password", "admin.auth.logout", "static"})


def may_read_complainant(role: Role) -> bool:
    """May staff of ``role`` read who filed a complaint (the admin may not)?"""
    return role in COMPLAINANT_READERS


def filer_identity(submission: Submission) -> dict | None:
    """Name, phone and e-mail of the filer, for the signed-in staff member; None: not shown.

    A party's own filing (defence, objection, ...) names the listed party and is shown to
    all staff. A named complainant is shown only to the roles that handle complaints, and
    each reading is audited (who read whose filing; never the identity itself).
    """
    identity = {"name": submission.filer_name, "contact": submission.filer_contact,
                "email": submission.filer_email}
    if submission.kind is not SubmissionKind.COMPLAINT:
        return identity
    if submission.anonymous or not any(identity.values()):
        return None
    if not may_read_complainant(current_user.role):
        return None
    audit.record(db.session, audit.Actor.staff(current_user), "submission.read_filer_identity",
                 "submission", submission.receipt_no, {"role": current_user.role.value})
    db.session.commit()
    return identity


def denied(reason: str | None = None):
    return render_template("admin/denied.html", reason=reason), 403


def safe_next(target: str | None) -> str:
    """Only back-office paths: never an open redirect."""
    if target and target.startswith("/admin") and not target.startswith("//"):
        return target
    return url_for("admin.queues.home")


def role_required(*roles: Role):
    """Let signed-in staff with one of ``roles`` (default: any role) through; else 403 / login."""
    allowed = frozenset(roles or ALL_ROLES)

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return redirect(url_for("admin.auth.login", next=request.full_path.rstrip("?")))
            if current_user.role not in allowed:
                return denied(_("Your role (%(role)s) may not open this page.",
                                role=labels.label(labels.ROLES, current_user.role)))
            return view(*args, **kwargs)

        wrapped.admin_roles = allowed
        return wrapped

    return decorate


def public(view):
    """Mark a view that needs no login (the login steps)."""
    view.admin_public = True
    return view


def end_session(reason: str) -> None:
    user = current_user._get_current_object()
    staff_service.record_logout(db.session, user, reason)
    db.session.commit()
    logout_user()
    for key in list(session.keys()):
        if key != "lang":
            session.pop(key)


def enforce_session():
    """``before_request`` of the back office: fail closed, idle timeout, deactivated accounts."""
    # Load the user from this request's session: requests that share an application
    # context (tests, CLI rendering) must not inherit the previous request's user.
    g.pop("_login_user", None)
    g.pop("_staff_scope", None)         # nor the previous request's scope (portal.admin.scoping)
    g.pop("_jurisdictions", None)
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and not (getattr(view, "admin_roles", None)
                                 or getattr(view, "admin_public", False)):
        return denied()
    if not current_user.is_authenticated:
        return None
    now = clock.now().timestamp()
    seen = session.get(SEEN_KEY)
    if not current_user.active:
        end_session("deactivated")
        flash(_("Your account has been deactivated."), "error")
        return redirect(url_for("admin.auth.login"))
    since = session.get(SINCE_KEY)
    if since is None or now - float(since) > SESSION_LIMIT.total_seconds():
        end_session("session_limit")
        flash(_("Your session has ended after %(hours)s hours. Please sign in again.",
                hours=int(SESSION_LIMIT.total_seconds() // 3600)), "info")
        return redirect(url_for("admin.auth.login"))
    if seen is None or now - float(seen) > IDLE_LIMIT.total_seconds():
        end_session("idle_timeout")
        flash(_("You were signed out after %(minutes)s minutes without activity.",
                minutes=int(IDLE_LIMIT.total_seconds() // 60)), "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("admin.auth.login", next=target))
    session[SEEN_KEY] = now
    if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_OPEN:
        flash(_("Your password was set by an administrator and is temporary. "
                "Please choose a new password before you continue."), "info")
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for("admin.auth.password", next=safe_next(target) if target else None))
    return None


def touch_session() -> None:
    """Start the idle clock at login."""
    session.permanent = True
    session[SEEN_KEY] = session[SINCE_KEY] = clock.now().timestamp()
