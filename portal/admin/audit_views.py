"""The audit viewer (admins): filters, pages, and a check of the hash chain."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from portal import clock
from portal.admin import audit_text, forms, queries, scoping
from portal.admin.access import role_required
from portal.extensions import db
from portal.models import Role
from portal.services import anchors, audit
from portal.services.audit import Actor

bp = Blueprint("audit", __name__, url_prefix="/audit")


def _utc_midnight(day: dt.date) -> dt.datetime:
    """The start of the bureau's ``day``, as UTC."""
    return clock.day_start(day)


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    form = forms.AuditFilterForm(request.args)
    form.validate()
    filters = {name: (getattr(form, name).data or "").strip()
               for name in ("actor", "action", "entity_type", "entity_id")}
    since = _utc_midnight(form.date_from.data) if form.date_from.data and not form.date_from.errors \
        else None
    until = _utc_midnight(form.date_to.data + dt.timedelta(days=1)) \
        if form.date_to.data and not form.date_to.errors else None
    page = queries.audit_page(db.session, scope=scoping.current(), since=since, until=until,
                              page=max(1, request.args.get("page", 1, type=int) or 1), **filters)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/audit.html", form=form, page=page, args=args,
                           local=clock.local, result=None)


@bp.post("/verify")
@role_required(Role.ADMIN)
def verify():
    problems = anchors.verify_all(db.session, current_app.config)   # the chain and its anchors
    audit.record(db.session, Actor.staff(current_user), "audit.verify", "audit", "chain",
                 {"problems": len(problems)})
    db.session.commit()
    form = forms.AuditFilterForm(formdata=None)
    page = queries.audit_page(db.session, scope=scoping.current(), page=1)
    return render_template("admin/audit.html", form=form, page=page, args={},
                           local=clock.local, result=problems)


@bp.app_template_global("audit_described")
def audit_described(events):
    """The events of an audit table, each with its sentence in the request's language."""
    return audit_text.described(db.session, events)
