"""Sign-in (password, then TOTP or first enrolment), sign-out and password change."""
from __future__ import annotations

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user
from markupsafe import Markup, escape

from portal import clock, ratelimit
from portal.admin import access
from portal.admin.forms import CodeForm, LoginForm, PasswordForm
from portal.admin.messages import staff_error
from portal.extensions import db, limiter
from portal.models import StaffUser
from portal.services import staff as staff_service

bp = Blueprint("auth", __name__)

PENDING = "staff_pending"      # {"uid", "at", "next", "secret"?} between the two steps
PENDING_SECONDS = 300


def _login_limit() -> str:
    return current_app.config.get("PORTAL_LOGIN_RATE_LIMIT", "20 per minute")


def _failed_message(result) -> str:
    # The same words for a wrong name, a wrong password and a locked account: no user enumeration.
    return _("The user name or password is wrong, or the account is locked for %(minutes)s minutes "
             "after %(n)s failed attempts.",
             minutes=int(staff_service.LOCKOUT.total_seconds() // 60),
             n=staff_service.MAX_FAILED_LOGINS)


def _pending_user() -> StaffUser | None:
    pending = session.get(PENDING)
    if not pending or clock.now().timestamp() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop(PENDING, None)
        return None
    user = db.session.get(StaffUser, pending["uid"])
    return user if user is not None and user.active else None


def _finish(user: StaffUser, target: str | None):
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    access.touch_session()
    return redirect(access.safe_next(target))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@access.public
def login():
    if current_user.is_authenticated:
        return redirect(access.safe_next(request.args.get("next")))
    form = LoginForm()
    target = request.args.get("next")
    if form.validate_on_submit():
        result = staff_service.authenticate(db.session, form.username.data, form.password.data,
                                            clock.now(), source=ratelimit.client_key())
        db.session.commit()
        if result.ok:
            return _finish(result.user, target)
        if result.status in ("needs_totp", "needs_enrolment"):
            session[PENDING] = {"uid": result.user.id, "at": clock.now().timestamp(),
                                "next": access.safe_next(target)}
            step = "totp" if result.status == "needs_totp" else "enrol"
            return redirect(url_for(f"admin.auth.{step}"))
        flash(_failed_message(result), "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@access.public
def totp():
    user = _pending_user()
    if user is None or not user.totp_secret:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("admin.auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        result = staff_service.verify_second_factor(db.session, user, form.code.data, clock.now(),
                                                    source=ratelimit.client_key())
        db.session.commit()
        if result.ok:
            return _finish(user, session.get(PENDING, {}).get("next"))
        if result.status == "locked":
            session.pop(PENDING, None)
            flash(_failed_message(result), "error")
            return redirect(url_for("admin.auth.login"))
        flash(_("The code is wrong or has expired. Enter the code your app shows now."), "error")
        return render_template("admin/totp.html", form=form,
                               issuer=staff_service.totp_issuer(db.session, user)), 401
    return render_template("admin/totp.html", form=form,
                           issuer=staff_service.totp_issuer(db.session, user))


@bp.route("/login/enrol", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@access.public
def enrol():
    """First sign-in of a role that needs a second factor: set up the authenticator app."""
    user = _pending_user()
    if user is None or user.totp_secret:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("admin.auth.login"))
    pending = session[PENDING]
    if "secret" not in pending:
        pending["secret"] = staff_service.new_totp_secret()
        session[PENDING] = pending
    secret = pending["secret"]
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        result = staff_service.enrol_second_factor(db.session, user, secret, form.code.data,
                                                   clock.now(), source=ratelimit.client_key())
        db.session.commit()
        if result.ok:
            flash(_("Your authenticator app is set up. It is needed at every sign-in."), "info")
            return _finish(user, pending.get("next"))
        if result.status == "locked":
            session.pop(PENDING, None)
            flash(_failed_message(result), "error")
            return redirect(url_for("admin.auth.login"))
        flash(_("The code is wrong or has expired. Enter the code your app shows now."), "error")
        status = 401
    issuer = staff_service.totp_issuer(db.session, user)
    uri = staff_service.provisioning_uri(user, secret, issuer=issuer)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("admin/enrol.html", form=form, uri=uri, secret=grouped, issuer=issuer,
                           qr=qr_svg(uri, _("QR code to scan with the authenticator app")),
                           user=user), status


def qr_svg(uri: str, label: str) -> Markup:
    """The setup link as a QR code drawn in inline SVG (no image request, nothing external)."""
    svg = segno.make(uri, error="m", micro=False).svg_inline(
        omitsize=True, border=4, dark="#000", light="#fff", title=label, svgclass="qr-code")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="%s" ' % escape(label), 1))


@bp.post("/logout")
@access.role_required()
def logout():
    access.end_session("user")
    flash(_("You have signed out."), "info")
    return redirect(url_for("admin.auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@access.role_required()
def password():
    form = PasswordForm()
    target = request.args.get("next")
    forced = current_user.must_change_password
    if form.validate_on_submit():
        try:
            staff_service.change_password(db.session, current_user, form.current.data,
                                          form.new.data)
        except staff_service.StaffError as exc:
            db.session.commit()          # a wrong current password is audited
            flash(staff_error(exc.code), "error")
            return render_template("admin/password.html", form=form, forced=forced,
                                   min_length=staff_service.MIN_PASSWORD_LENGTH), 400
        db.session.commit()
        # Every other session of the account has ended; this one goes on with the new version.
        login_user(current_user._get_current_object())
        flash(_("Your password has been changed."), "info")
        return redirect(access.safe_next(target) if target else url_for("admin.queues.cases"))
    return render_template("admin/password.html", form=form, forced=forced,
                           min_length=staff_service.MIN_PASSWORD_LENGTH)
