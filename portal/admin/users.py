"""Staff accounts (admins): create, change role, deactivate, reset password or authenticator."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import clock
from portal.admin import forms, scoping
from portal.admin.access import role_required
from portal.admin.grade_forms import EmptyForm
from portal.admin.messages import staff_error
from portal.extensions import db
from portal.models import Role, StaffJurisdiction, StaffUser
from portal.services import jurisdictions
from portal.services import staff as staff_service

bp = Blueprint("users", __name__, url_prefix="/users")


def _user(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


#: The headings of the groups the desk links to (``?show=``).
GROUP_TITLES = {
    "locked": _l("Accounts locked after failed sign-ins"),
    "inactive": _l("Deactivated accounts"),
    "first_password": _l("Accounts still on their first password"),
}


def _list(form=None, status: int = 200):
    now = clock.now()
    show = request.args.get("show")
    group = staff_service.account_group(show, now) if show else None
    if show and group is None:
        show = None                   # an unknown group: every account, as without one
    query = sa.select(StaffUser).order_by(StaffUser.active.desc(), StaffUser.username)
    users = db.session.execute(query.where(group) if group is not None else query
                               ).scalars().all()
    locked = {u.id for u in users if staff_service.is_locked(u, now)}
    works_for: dict[int, list[str]] = {}
    for staff_id, code in db.session.execute(
            sa.select(StaffJurisdiction.staff_id, StaffJurisdiction.jurisdiction_code)
            .order_by(StaffJurisdiction.jurisdiction_code)):
        works_for.setdefault(staff_id, []).append(code)
    return render_template("admin/users.html", users=users, form=form or forms.UserForm(),
                           role_form=forms.RoleForm(formdata=None), locked=locked,
                           needs_second=staff_service.needs_second_factor, works_for=works_for,
                           jurisdiction_choices=scoping.jurisdiction_choices(),
                           show=show, group_title=GROUP_TITLES.get(show)), status


def _chosen_codes() -> list[str]:
    """The jurisdictions a form names; each must be one the admin works for (else refused and
    audited: an admin grants only the work of their own bureaus)."""
    codes = [code for code in dict.fromkeys(request.form.getlist("jurisdiction")) if code]
    for code in codes:
        scoping.guard(code, "jurisdiction", code, write=True)
    return codes


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    return _list()


def _shown_once(user: StaffUser, password: str):
    return render_template("admin/password_shown.html", user=user, password=password)


@bp.post("/")
@role_required(Role.ADMIN)
def create():
    form = forms.UserForm()
    if not form.validate_on_submit():
        return _list(form, 400)
    # none named: a single city's account works for it; else for the admin's first bureau
    codes = _chosen_codes() or ([] if scoping.current().everything
                                else [code for code, _name in scoping.jurisdiction_choices()][:1])
    try:
        user, password = staff_service.create_user(
            db.session, current_user, form.username.data, form.display_name.data,
            Role(form.role.data), codes)
    except staff_service.StaffError as exc:
        db.session.rollback()
        form.username.errors = [staff_error(exc.code)]
        return _list(form, 400)
    db.session.commit()
    return _shown_once(user, password)


def _run(user_id: int, operation):
    user = _user(user_id)
    try:
        result = operation(user)
    except staff_service.StaffError as exc:
        db.session.rollback()
        flash(staff_error(exc.code), "error")
        return redirect(url_for(".index"))
    db.session.commit()
    return user, result


@bp.post("/<int:user_id>/role")
@role_required(Role.ADMIN)
def role(user_id: int):
    form = forms.RoleForm()
    if not form.validate_on_submit():
        abort(400)
    done = _run(user_id, lambda u: staff_service.change_role(db.session, current_user, u,
                                                             Role(form.role.data)))
    if isinstance(done, tuple):
        flash(_("The role of %(name)s has been changed.", name=done[0].display_name), "info")
        return redirect(url_for(".index"))
    return done


@bp.post("/<int:user_id>/active/<int:value>")
@role_required(Role.ADMIN)
def active(user_id: int, value: int):
    done = _run(user_id, lambda u: staff_service.set_active(db.session, current_user, u,
                                                            bool(value)))
    if isinstance(done, tuple):
        flash(_("%(name)s can sign in again.", name=done[0].display_name) if value else
              _("%(name)s can no longer sign in.", name=done[0].display_name), "info")
        return redirect(url_for(".index"))
    return done


@bp.post("/<int:user_id>/jurisdictions")
@role_required(Role.ADMIN)
def works_for(user_id: int):
    """The bureaus an account works for: the admin sets those among their own (audited)."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    user, chosen = _user(user_id), _chosen_codes()
    mine = scoping.current()
    kept = [code for code in jurisdictions.memberships(db.session, user)
            if not mine.can_write(code)]
    try:
        jurisdictions.set_memberships(db.session, current_user, user, [*kept, *chosen])
    except jurisdictions.JurisdictionError:
        db.session.rollback()
        abort(400)
    db.session.commit()
    flash(_("%(name)s now works for: %(list)s.", name=user.display_name,
            list=_(", ").join(scoping.label(c) for c in [*kept, *chosen]) or _("no bureau")),
          "info")
    return redirect(url_for(".index"))


@bp.post("/<int:user_id>/password")
@role_required(Role.ADMIN)
def reset_password(user_id: int):
    done = _run(user_id, lambda u: staff_service.reset_password(db.session, current_user, u))
    return _shown_once(*done) if isinstance(done, tuple) else done


@bp.post("/<int:user_id>/totp")
@role_required(Role.ADMIN)
def reset_totp(user_id: int):
    done = _run(user_id, lambda u: staff_service.reset_second_factor(db.session, current_user, u))
    if isinstance(done, tuple):
        flash(_("%(name)s sets up a new authenticator app at the next sign-in.",
                name=done[0].display_name), "info")
        return redirect(url_for(".index"))
    return done


@bp.post("/<int:user_id>/unlock")
@role_required(Role.ADMIN)
def unlock(user_id: int):
    done = _run(user_id, lambda u: staff_service.unlock(db.session, current_user, u))
    if isinstance(done, tuple):
        flash(_("%(name)s can sign in again.", name=done[0].display_name), "info")
        return redirect(url_for(".index"))
    return done
