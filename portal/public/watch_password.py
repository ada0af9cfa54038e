"""/watch/reset, /watch/reset/<token>, /watch/account: an organisation that forgot its
password asks for a one-time link (an hour) and sets a new one; a signed-in organisation
changes its password or signs out of every browser.

Asking for a link answers the same whether or not the address has an account, and is
rate-limited like signing in. Setting a password by the link, or signing out everywhere,
ends every session of the account; changing it keeps the browser that changed it.
"""
from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from portal import clock
from portal.extensions import db, limiter
from portal.public.watch_account import SID, TOKEN_MAX, _page, _rate_limit, current, private
from portal.rules.identifiers import mask_ric_numbers
from portal.services import subscriber_mail, subscribers
from portal.services.subscribers import SubscriberError

class AskResetForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=200)])


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password (at least 10 characters)"),
                             validators=[DataRequired(), Length(min=subscribers.MIN_PASSWORD,
                                                                max=200)])
    repeat = PasswordField(_l("New password again"),
                           validators=[EqualTo("password", _l("The passwords differ."))])


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])


def register_routes(bp: Blueprint) -> None:
    limited = limiter.limit(_rate_limit, methods=["POST"])
    bp.add_url_rule("/watch/reset", "watch_reset", limited(ask_reset), methods=["GET", "POST"])
    bp.add_url_rule("/watch/reset/<string:token>", "watch_reset_link", limited(reset),
                    methods=["GET", "POST"])
    bp.add_url_rule("/watch/account", "watch_account", account)
    bp.add_url_rule("/watch/account/password", "watch_change_password", limited(change_password),
                    methods=["POST"])
    bp.add_url_rule("/watch/account/sign-out-everywhere", "watch_sign_out_everywhere",
                    sign_out_everywhere, methods=["POST"])


def _to_login(done: str | None = None):
    return private(redirect(url_for("public.watch_login", done=done, jurisdiction=None), 303))


def ask_reset():
    form = AskResetForm()
    if request.method == "GET":
        return _page("public/watch_reset.html", form=form)
    valid = form.validate_on_submit()
    typed, form.email.data = form.email.data, mask_ric_numbers(form.email.data or "")
    if not valid:
        return _page("public/watch_reset.html", 422, form=form)
    found = subscribers.ask_reset(db.session, typed, clock.now())
    if found is not None:
        subscriber_mail.queue_reset(db.session, found[0], found[1], clock.now())
    db.session.commit()
    # the same page whether or not the address has an account (what was typed, masked)
    return _page("public/watch_reset.html", form=form, sent=form.email.data)


def _bad_link(problem: SubscriberError):
    message = (_("This link has expired: it works for one hour.")
               if problem.code == "link_expired"
               else _("This link is not valid: it may have been used already."))
    return _page("public/watch_reset_link.html", 404, error=message)


def reset(token: str):
    token = token[:TOKEN_MAX]
    try:
        subscribers.reset_link(db.session, token, clock.now())
    except SubscriberError as problem:
        db.session.rollback()
        return _bad_link(problem)
    form = NewPasswordForm()
    if request.method == "GET" or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 422
        return _page("public/watch_reset_link.html", status, form=form, token=token)
    try:
        subscribers.reset_password(db.session, token, form.password.data, clock.now())
    except SubscriberError as problem:
        db.session.rollback()
        return _bad_link(problem)
    db.session.commit()
    session.pop(SID, None)
    return _to_login("reset")


def _account_page(status: int = 200, form: ChangePasswordForm | None = None,
                  error: str | None = None, notice: str | None = None):
    subscriber = current()
    return _page("public/watch_account.html", status, subscriber=subscriber,
                 form=form or ChangePasswordForm(formdata=None), everywhere=FlaskForm(),
                 error=error, notice=notice)


def account():
    if current() is None:
        return _to_login()
    notice = _("Your password is changed. Your other browsers are signed out.") \
        if request.args.get("done") == "changed" else None
    return _account_page(notice=notice)


def change_password():
    subscriber = current()
    if subscriber is None:
        return _to_login()
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _account_page(422, form)
    try:
        subscribers.change_password(db.session, subscriber, form.current.data,
                                    form.password.data, session.get(SID))
    except SubscriberError:
        db.session.rollback()
        form.current.errors = [_("The current password is not right.")]
        return _account_page(422, form)
    db.session.commit()
    return private(redirect(url_for("public.watch_account", done="changed",
                                    jurisdiction=None), 303))


def sign_out_everywhere():
    subscriber = current()
    form = FlaskForm()
    if not form.validate_on_submit():
        return _account_page(400) if subscriber is not None else _to_login()
    if subscriber is not None:
        subscribers.end_sessions(db.session, subscriber)
        db.session.commit()
    session.pop(SID, None)
    return _to_login("signed_out")
