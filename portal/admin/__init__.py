"""The back office at /admin: staff sign-in, case workflow, queues, audit, holiday calendar,
outgoing mail, webhooks, organisations' accounts.

Each feature is a child blueprint of ``admin`` (endpoints ``admin.<feature>.<view>``).
Every view is marked with the roles that may open it (:func:`access.role_required`);
an unmarked view is refused, sessions end after 30 idle minutes, and no page is cached.
"""
from __future__ import annotations

from flask import Blueprint

from portal.admin import (
    access,
    audit_views,
    auth,
    calendar_views,
    cases,
    finder,
    grades,
    imports,
    integration,
    jurisdictions,
    letters,
    mail,
    organisations,
    queues,
    sharing,
    users,
    webhooks,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
for child in (auth.bp, queues.bp, cases.bp, audit_views.bp, calendar_views.bp, users.bp,
              sharing.bp, letters.bp, imports.bp, integration.bp, grades.bp, jurisdictions.bp,
              finder.bp, mail.bp, webhooks.bp, organisations.bp):
    bp.register_blueprint(child)

bp.before_request(access.enforce_session)


@bp.after_request
def no_store(response):
    # Staff pages carry personal data and one-time codes: never cached, never framed.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


@bp.context_processor
def profile_validity():
    """Warn on every back-office page when the rules of a jurisdiction the user works for are
    not in force today (Shanghai's measures were valid 2018-08-01 to 2023-07-31): decisions
    need a basis. Lists that mix jurisdictions name each row's (``jurisdiction_label``)."""
    from flask_login import current_user

    from portal import clock
    from portal.admin import scoping
    from portal.rules import terms

    found = {"profile_validity": None, "validity_profile": None,
             "several_jurisdictions": False, "jurisdiction_label": scoping.label}
    if not current_user.is_authenticated:
        return found
    mine = scoping.current()
    found["several_jurisdictions"] = scoping.several()
    for code in sorted(mine.writable):
        profile = scoping.profile_of(code)
        warning = terms.profile_warning(profile, clock.today())
        if warning:
            found.update(profile_validity=warning, validity_profile=profile)
            break
    return found


@bp.record_once
def _configure(state) -> None:
    from portal.extensions import login_manager

    app = state.app
    app.config["PERMANENT_SESSION_LIFETIME"] = access.SESSION_LIMIT
    login_manager.login_view = "admin.auth.login"
    login_manager.session_protection = "strong"
