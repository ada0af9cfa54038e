"""Organisations' accounts (admins): the accounts registered at /watch, newest first or
found by name or address, and closing or reopening one with a reason (audited).

What an organisation watches is its own business: the page shows how many watchlists,
codes and webhooks it has, never which. Who may: ``permissions.may_manage_subscribers``;
the service checks it again and the page offers the forms by the same answer.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock
from portal.admin.access import role_required
from portal.admin.forms import ReasonForm
from portal.extensions import db
from portal.models import Subscriber
from portal.services import subscriber_accounts
from portal.services.permissions import SUBSCRIBER_ROLES, may_manage_subscribers

bp = Blueprint("organisations", __name__, url_prefix="/organisations")


def _subscriber(subscriber_id: int) -> Subscriber:
    found = db.session.get(Subscriber, subscriber_id)
    if found is None:
        abort(404)
    return found


@bp.get("/")
@role_required(*SUBSCRIBER_ROLES)
def index():
    query = (request.args.get("q") or "").strip()[:subscriber_accounts.QUERY_LENGTH]
    rows, more = subscriber_accounts.accounts(db.session, query)
    return render_template("admin/organisations/index.html", rows=rows, more=more, query=query,
                           listed=subscriber_accounts.LISTED, local=clock.local)


def _page(subscriber: Subscriber, form: ReasonForm | None = None, status: int = 200):
    return render_template(
        "admin/organisations/account.html",
        row=subscriber_accounts.account(db.session, subscriber), form=form or ReasonForm(),
        may_manage=may_manage_subscribers(current_user), local=clock.local), status


@bp.get("/<int:subscriber_id>")
@role_required(*SUBSCRIBER_ROLES)
def account(subscriber_id: int):
    return _page(_subscriber(subscriber_id))


def _change(subscriber_id: int, transition, done: str):
    subscriber = _subscriber(subscriber_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(subscriber, form, 400)
    try:
        transition(db.session, current_user, subscriber, form.reason.data)
    except subscriber_accounts.AccountError as refused:
        db.session.rollback()
        if refused.code == "no_reason":
            form.reason.errors = [_("Please give the reason.")]
            return _page(subscriber, form, 400)
        flash(_("The account of %(name)s is already closed.", name=subscriber.name)
              if refused.code == "already_closed" else
              _("The account of %(name)s is already open.", name=subscriber.name), "info")
        return redirect(url_for(".index"))
    db.session.commit()
    flash(done(subscriber.name), "success")
    return redirect(url_for(".index"))


@bp.post("/<int:subscriber_id>/close")
@role_required(*SUBSCRIBER_ROLES)
def close(subscriber_id: int):
    return _change(subscriber_id, subscriber_accounts.close, lambda name: _(
        "The account of %(name)s is closed: it is signed out and can no longer "
        "sign in; its feeds, e-mail and webhooks have stopped.", name=name))


@bp.post("/<int:subscriber_id>/reopen")
@role_required(*SUBSCRIBER_ROLES)
def reopen(subscriber_id: int):
    return _change(subscriber_id, subscriber_accounts.reopen, lambda name: _(
        "The account of %(name)s is open again: it can sign in, and its feeds, "
        "e-mail and webhooks resume.", name=name))
