"""/watch/register, /watch/verify/<token>, /watch/login, /watch/logout: the accounts of
registered organisations (订阅单位), apart from staff and from the party area.

Registering sends a link that verifies the e-mail address; until it is opened the account
cannot sign in (alerts go to a verified address only). A signed-in browser holds a random
token in its session; the server keeps its SHA-256 (``portal.services.subscribers``), so
signing out ends it for every copy of the cookie. Forms carry CSRF tokens and the
sign-in and registration are rate-limited per address.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from portal import clock
from portal.extensions import db, limiter
from portal.input_guard import EMAIL
from portal.models import Subscriber
from portal.services import notifications, subscriber_mail, subscribers
from portal.services.subscribers import SubscriberError
from portal.web import no_store

SID = "watch_sid"
DEFAULT_LIMIT = "10 per hour"
#: the longest link token looked up (they are 43 characters)
TOKEN_MAX = 100


class RegisterForm(FlaskForm):
    name = StringField(_l("Name of the organisation"),
                       validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=200),
                                                         Regexp(EMAIL, message=_l(
                                                             "Enter a valid e-mail address."))])
    password = PasswordField(_l("Password (at least 10 characters)"),
                             validators=[DataRequired(), Length(min=subscribers.MIN_PASSWORD,
                                                                max=200)])
    repeat = PasswordField(_l("Password again"),
                           validators=[EqualTo("password", _l("The passwords differ."))])


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def _rate_limit() -> str:
    return current_app.config.get("PORTAL_WATCH_ACCOUNT_RATE_LIMIT", DEFAULT_LIMIT)


def register_routes(bp: Blueprint) -> None:
    limited = limiter.limit(_rate_limit, methods=["POST"])
    bp.add_url_rule("/watch/register", "watch_register", limited(register),
                    methods=["GET", "POST"])
    bp.add_url_rule("/watch/verify/<string:token>", "watch_verify", verify)
    bp.add_url_rule("/watch/login", "watch_login", limited(login), methods=["GET", "POST"])
    bp.add_url_rule("/watch/logout", "watch_logout", logout, methods=["POST"])


def private(response):
    return no_store(response, secret_address=True)


def current() -> Subscriber | None:
    """The signed-in organisation of this request (looked up once)."""
    key = "portal.subscriber"
    if key not in request.environ:
        request.environ[key] = subscribers.session_of(db.session, session.get(SID), clock.now())
    return request.environ[key]


def _page(template: str, status: int = 200, **context):
    return private(current_app.make_response((render_template(template, **context), status)))


def register():
    form = RegisterForm()
    mail = notifications.configured()
    if request.method == "POST" and mail and form.validate_on_submit():
        locale = "en" if str(get_locale()).startswith("en") else "zh_CN"
        try:
            subscriber, token = subscribers.register(db.session, form.name.data, form.email.data,
                                                     form.password.data, locale, clock.now())
        except SubscriberError as problem:
            if problem.code != "email_taken":
                form.password.errors = [_("Please choose a longer password.")]
                return _page("public/watch_register.html", 422, form=form, mail=mail)
            # the same answer as a new account: the form does not tell who has registered
            db.session.rollback()
            return _page("public/watch_registered.html", email=form.email.data)
        subscriber_mail.queue_verification(db.session, subscriber, token, clock.now())
        db.session.commit()
        return _page("public/watch_registered.html", email=subscriber.email)
    status = 422 if request.method == "POST" else 200
    return _page("public/watch_register.html", status, form=form, mail=mail)


def verify(token: str):
    try:
        subscribers.verify(db.session, token[:TOKEN_MAX], clock.now())
    except SubscriberError as problem:
        db.session.rollback()
        message = (_("This link has expired. Please sign in to ask for a new one.")
                   if problem.code == "link_expired" else _("This link is not valid."))
        return _page("public/watch_login.html", 404, form=LoginForm(), error=message)
    db.session.commit()
    return _page("public/watch_login.html", form=LoginForm(),
                 notice=_("Your e-mail address is confirmed. You can sign in now."))


#: what the sign-in page says after ``?done=…`` (a fixed sentence: nothing of the address)
DONE = {
    "reset": _l("Your new password is set and every browser is signed out. Please sign in."),
    "signed_out": _l("You are signed out of every browser."),
}


def login():
    form = LoginForm()
    if request.method == "GET":
        notice = DONE.get(request.args.get("done", ""))
        return _page("public/watch_login.html", form=form, notice=notice)
    if not form.validate_on_submit():
        return _page("public/watch_login.html", 422, form=form)
    try:
        subscriber = subscribers.authenticate(db.session, form.email.data, form.password.data,
                                              clock.now())
    except SubscriberError as problem:
        db.session.rollback()
        if problem.code == "not_verified":
            _resend(form.email.data)
            error = _("Please confirm your e-mail address first: we have sent the link again.")
        elif problem.code == "inactive":        # only said to the one who knows the password
            error = _("The bureau has closed this account. If you think this is a mistake, "
                      "please contact the bureau.")
        else:
            error = _("The e-mail address or the password is not right.")
        return _page("public/watch_login.html", 401, form=form, error=error)
    subscribers.close_session(db.session, session.get(SID))
    token = subscribers.open_session(db.session, subscriber, clock.now())
    db.session.commit()
    session[SID] = token
    return private(redirect(url_for("public.watch_home", jurisdiction=None), 303))


def _resend(email: str) -> None:
    row = db.session.scalar(db.select(Subscriber).where(
        Subscriber.email == subscribers.normal_email(email)))
    if row is None or row.verified or not notifications.configured():
        return
    token = subscribers.new_verification(db.session, row, clock.now())
    subscriber_mail.queue_verification(db.session, row, token, clock.now())
    db.session.commit()


def logout():
    form = FlaskForm()
    if form.validate_on_submit():
        subscribers.close_session(db.session, session.get(SID))
        db.session.commit()
        session.pop(SID, None)
    return private(redirect(url_for("public.watch_login", jurisdiction=None), 303))
