"""API clients of the integration API (admins): create with scopes (token shown once), revoke."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from portal import clock
from portal.admin import scoping
from portal.admin.access import role_required
from portal.admin.forms import options
from portal.extensions import db
from portal.models import ApiClient, Role, StaffUser
from portal.services import integration as service

bp = Blueprint("integration", __name__, url_prefix="/integration")

SCOPE_LABELS = {
    "cases:write": _l("Open cases from business records (cases:write)"),
    "status:read": _l("Ask for the warning on a unit or person (status:read)"),
    "changes:read": _l("Follow the case events (changes:read)"),
    "webhooks:manage": _l("Receive the case events at its own addresses (webhooks:manage)"),
    "watchlists:manage": _l("Keep watchlists of codes and read their alerts (watchlists:manage)"),
}


def _at_least_one(form, field) -> None:
    # Not DataRequired: it would mark every checkbox "required" in the HTML.
    if not field.data:
        raise StopValidation(_l("Choose at least one permission."))


class ClientForm(FlaskForm):
    name = StringField(_l("Name of the system"), validators=[
        DataRequired(message=_l("This field is required.")), Length(max=60)])
    scopes = SelectMultipleField(
        _l("Permissions"), choices=options((s, SCOPE_LABELS[s]) for s in service.SCOPES),
        validators=[_at_least_one],
        option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))


def _error(code: str) -> str:
    return {
        "invalid_name": _("Names have 2 to 60 characters: lower-case letters, digits, dots, "
                          "hyphens and underscores, starting with a letter or digit."),
        "name_taken": _("An API client of this name exists already (also when revoked)."),
        "invalid_scopes": _("Choose at least one permission."),
    }.get(code, _("The change could not be made."))


def _list(form: ClientForm | None = None, status: int = 200):
    clients = db.session.execute(
        scoping.current().filter(sa.select(ApiClient), ApiClient.jurisdiction)
        .order_by(ApiClient.revoked_at.is_not(None), ApiClient.name)
    ).scalars().all()
    creators = dict(db.session.execute(
        sa.select(StaffUser.id, StaffUser.display_name).where(
            StaffUser.id.in_({c.created_by_id for c in clients if c.created_by_id}))).all())
    return render_template("admin/integration/index.html", clients=clients, creators=creators,
                           form=form or ClientForm(), scope_labels=SCOPE_LABELS,
                           local=clock.local, jurisdiction_choices=scoping.jurisdiction_choices(),
                           working=scoping.home_code()), status


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    return _list()


@bp.post("/")
@role_required(Role.ADMIN)
def create():
    form = ClientForm()
    if not form.validate_on_submit():
        return _list(form, 400)
    code = scoping.working_code()      # a client acts for one bureau the admin works for
    try:
        client, token = service.create_client(db.session, current_user, form.name.data,
                                              form.scopes.data, clock.now(), jurisdiction=code)
    except service.IntegrationError as exc:
        db.session.rollback()
        getattr(form, exc.field or "name").errors = [_error(exc.code)]
        return _list(form, 400)
    db.session.commit()
    return render_template("admin/integration/token_shown.html", client=client, token=token,
                           scope_labels=SCOPE_LABELS)


@bp.post("/<int:client_id>/revoke")
@role_required(Role.ADMIN)
def revoke(client_id: int):
    client = db.session.get(ApiClient, client_id)
    if client is None:
        abort(404)
    scoping.guard(client.jurisdiction, "api_client", client.name, write=True)
    if service.revoke_client(db.session, current_user, client, clock.now()):
        db.session.commit()
        flash(_("The token of %(name)s no longer works.", name=client.name), "info")
    else:
        flash(_("%(name)s was revoked before.", name=client.name), "info")
    return redirect(url_for(".index"))
