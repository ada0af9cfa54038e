"""Jurisdictions (admins): the bureaus on this portal, their rules, departments and contacts.

A jurisdiction is data: its code (in public URLs), names, the authority that decides its
listings, the profile its cases follow, the bureau above it, its departments and its public
contact. Saving goes through ``services.jurisdictions.save`` (audited; public pages follow at
once, their caches are keyed by the publication version).

An admin configures the jurisdictions they read (``services.scope``: their own and those below
them): a city's admin its city and counties, the province's every city. A new jurisdiction is
placed below one of those; one at the top of the tree only by an admin who reads them all.
Any other attempt is refused and audited (``admin.scoping``).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.admin import scoping
from portal.admin.access import role_required
from portal.admin.forms import options
from portal.extensions import db
from portal.models import Jurisdiction, Role
from portal.rules.profiles import available_profiles, load_profile
from portal.services import jurisdictions as service

bp = Blueprint("jurisdictions", __name__, url_prefix="/jurisdictions")

REQUIRED = _l("This field is required.")


class JurisdictionForm(FlaskForm):
    code = StringField(_l("Code (in web addresses)"), validators=[DataRequired(REQUIRED),
                                                                  Length(max=20)])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(REQUIRED),
                                                            Length(max=100)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=200)])
    authority_zh = StringField(_l("Deciding authority (Chinese)"),
                               validators=[DataRequired(REQUIRED), Length(max=200)])
    authority_en = StringField(_l("Deciding authority (English)"), validators=[Length(max=300)])
    profile = SelectField(_l("Rules (profile)"), choices=[])
    parent_code = SelectField(_l("Bureau above"), choices=[])
    departments = TextAreaField(
        _l("Departments, one per line: Chinese name | English name (the first is the default)"),
        validators=[Length(max=4000)])
    contact_zh = StringField(_l("Public contact (Chinese)"), validators=[Length(max=200)])
    contact_en = StringField(_l("Public contact (English)"), validators=[Length(max=300)])
    position = IntegerField(_l("Position in lists"), default=0,
                            validators=[Optional(), NumberRange(min=0, max=9999)])
    active = BooleanField(_l("Active (shown on the public site and offered to staff)"),
                          default=True)


def _form(row: Jurisdiction | None = None) -> JurisdictionForm:
    form = JurisdictionForm(obj=row) if request.method == "GET" and row else JurisdictionForm()
    form.profile.choices = options((code, f"{load_profile(code).name.get('zh')} ({code})")
                                   for code in available_profiles())
    mine = scoping.current()
    rows = db.session.query(Jurisdiction).order_by(Jurisdiction.position, Jurisdiction.code)
    form.parent_code.choices = options({"": _("— none (top of the tree) —")}, [
        (j.code, f"{j.name_zh} ({j.code})") for j in rows
        if (row is None or j.code != row.code) and mine.can_read(j.code)])
    if request.method == "GET" and row is not None:
        form.parent_code.data = row.parent_code or ""
        form.departments.data = "\n".join(
            " | ".join(filter(None, (d.get("zh", ""), d.get("en", ""))))
            for d in row.departments or [])
    return form


def departments_from_text(text: str) -> list[dict]:
    """``中文 | English`` per line; blank lines skipped; duplicates (by Chinese name) once."""
    found, seen = [], set()
    for line in (text or "").splitlines():
        zh, _sep, en = line.partition("|")
        zh, en = zh.strip(), en.strip()
        if zh and zh not in seen:
            seen.add(zh)
            found.append({"zh": zh[:120], "en": en[:200]})
    return found


def _values(form: JurisdictionForm) -> dict:
    return {"name_zh": form.name_zh.data.strip(), "name_en": (form.name_en.data or "").strip(),
            "authority_zh": form.authority_zh.data.strip(),
            "authority_en": (form.authority_en.data or "").strip(),
            "profile": form.profile.data, "parent_code": form.parent_code.data or None,
            "departments": departments_from_text(form.departments.data),
            "contact_zh": (form.contact_zh.data or "").strip(),
            "contact_en": (form.contact_en.data or "").strip(),
            "position": form.position.data or 0, "active": bool(form.active.data)}


def _error(exc: service.JurisdictionError) -> str:
    return {
        "bad_code": _("A code has 2 to 20 characters: lower-case letters, digits and hyphens, "
                      "starting with a letter."),
        "name_required": _("This field is required."),
        "unknown_profile": _("There is no such profile."),
        "parent_cycle": _("A jurisdiction cannot lie below itself."),
        "unknown_jurisdiction": _("There is no such jurisdiction."),
    }.get(exc.code, _("The jurisdiction could not be saved."))


def _page(form, row=None, status: int = 200):
    directory, mine = service.directory(db.session), scoping.current()
    shown = [j for j in directory.items if mine.can_read(j.code)]
    counts = service.member_counts(db.session)
    return render_template("admin/jurisdictions.html", form=form, row=row, shown=shown,
                           directory=directory, counts=counts), status


def _reads_all() -> bool:
    mine = scoping.current()
    return all(mine.can_read(j.code) for j in service.directory(db.session).items)


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    return _page(_form())


@bp.get("/<code>")
@role_required(Role.ADMIN)
def edit(code: str):
    row = db.session.get(Jurisdiction, code)
    if row is None:
        abort(404)
    scoping.guard(code, "jurisdiction", code)
    return _page(_form(row), row)


@bp.post("/")
@role_required(Role.ADMIN)
def save():
    code = (request.form.get("code") or "").strip()
    row = db.session.get(Jurisdiction, code) if code else None
    if row is not None:
        scoping.guard(code, "jurisdiction", code, write=False)
    parent = (request.form.get("parent_code") or "").strip()
    if parent and db.session.get(Jurisdiction, parent) is not None:
        scoping.guard(parent, "jurisdiction", parent)
    elif row is None and not parent and not _reads_all():
        scoping.refuse("jurisdiction", code[:20], None, write=True)
    form = _form(row)
    if not form.validate_on_submit():
        return _page(form, row, 400)
    try:
        values = _values(form)
        service.save(db.session, current_user, code, values)
        if row is None and not values["parent_code"]:
            # a new bureau at the top: its creator (who reads every other) keeps reading all
            user = current_user._get_current_object()
            service.set_memberships(db.session, user, user,
                                    [*service.memberships(db.session, user), code])
    except service.JurisdictionError as exc:
        db.session.rollback()
        (form.code if exc.code == "bad_code" else form.parent_code
         if exc.code in ("parent_cycle", "unknown_jurisdiction") else form.profile
         if exc.code == "unknown_profile" else form.name_zh).errors = [_error(exc)]
        return _page(form, row, 400)
    db.session.commit()
    flash(_("Jurisdiction %(code)s saved.", code=code), "success")
    return redirect(url_for(".edit", code=code))
