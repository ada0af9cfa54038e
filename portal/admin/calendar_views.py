"""The holiday calendar (admins): enter or import a year, confirm it, see what moved."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock
from portal.admin import forms, scoping
from portal.admin.access import role_required
from portal.admin.messages import calendar_error
from portal.extensions import db
from portal.models import CalendarYear, Role
from portal.rules.calendar import statutory_holidays
from portal.rules.profiles import load_profile
from portal.services import holidays
from portal.services.calendar import load_calendar

bp = Blueprint("calendar", __name__, url_prefix="/calendar")
MAX_CSV_BYTES = 200_000


def _year() -> int:
    year = request.values.get("year", type=int) or clock.today().year + 1
    return min(max(year, 2000), 2100)


def _render(year: int, day_form=None, import_form=None, status: int = 200):
    calendar = load_calendar(db.session)
    today = clock.today()
    years = [(y, calendar.year_source(y)) for y in range(today.year - 1, today.year + 4)]
    confirmed = db.session.get(CalendarYear, year)
    return render_template(
        "admin/calendar.html", year=year, years=years, source=calendar.year_source(year),
        editable=holidays.editable(calendar, year), overrides=holidays.year_overrides(db.session, year),
        statutory=statutory_holidays(year), missing=holidays.missing_statutory(db.session, year),
        confirmed=confirmed, day_form=day_form or forms.DayForm(formdata=None),
        import_form=import_form or forms.ImportForm(formdata=None), calendar=calendar,
    ), status


@bp.get("/")
@role_required(Role.ADMIN)
def index():
    return _render(_year())


def _back(year: int):
    return redirect(url_for(".index", year=year))


@bp.post("/day")
@role_required(Role.ADMIN)
def set_day():
    form = forms.DayForm()
    year = _year()
    if not form.validate_on_submit():
        return _render(year, day_form=form, status=400)
    try:
        moved = holidays.set_day(db.session, current_user, holidays.DayRow(
            form.day.data, form.is_workday.data == "1", (form.note.data or "").strip()),
            (load_profile, scoping.home_profile()))
    except holidays.CalendarError as exc:
        db.session.rollback()
        flash(calendar_error(exc.code, exc.detail), "error")
        return _back(form.day.data.year)
    db.session.commit()
    flash(_("%(day)s has been saved.", day=form.day.data.isoformat()), "info")
    if moved:
        flash(_("%(n)s stored or published dates moved with this day; each change is in the "
                "audit log.", n=len(moved)), "info")
    return _back(form.day.data.year)


@bp.post("/day/<day>/delete")
@role_required(Role.ADMIN)
def delete_day(day: str):
    try:
        parsed = dt.date.fromisoformat(day)
        holidays.delete_day(db.session, current_user, parsed, (load_profile, scoping.home_profile()))
    except ValueError as exc:
        db.session.rollback()
        flash(calendar_error(getattr(exc, "code", ""), getattr(exc, "detail", None)), "error")
        return _back(_year())
    db.session.commit()
    return _back(parsed.year)


@bp.post("/import")
@role_required(Role.ADMIN)
def import_csv():
    form = forms.ImportForm()
    year = _year()
    if not form.validate_on_submit():
        return _render(year, import_form=form, status=400)
    upload = form.file.data
    text = form.text.data or ""
    if upload and getattr(upload, "filename", ""):
        raw = upload.read(MAX_CSV_BYTES + 1)
        if len(raw) > MAX_CSV_BYTES:
            flash(_("The file is too large for a calendar."), "error")
            return _back(year)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="replace")
    try:
        rows = holidays.parse_csv(text)
        count = holidays.import_year(db.session, current_user, year, rows,
                                     (load_profile, scoping.home_profile()))
    except holidays.CalendarError as exc:
        db.session.rollback()
        flash(calendar_error(exc.code, exc.detail), "error")
        return _back(year)
    db.session.commit()
    flash(_("%(n)s days of %(year)s have been imported.", n=count, year=year), "info")
    return _back(year)


@bp.post("/prefill")
@role_required(Role.ADMIN)
def prefill():
    year = _year()
    try:
        added = holidays.prefill_statutory(db.session, current_user, year)
    except holidays.CalendarError as exc:
        db.session.rollback()
        flash(calendar_error(exc.code, exc.detail), "error")
        return _back(year)
    db.session.commit()
    flash(_("%(n)s statutory holidays have been entered as days off. Add the make-up working "
            "days and the bridging days of the State Council notice.", n=added), "info")
    return _back(year)


@bp.post("/confirm")
@role_required(Role.ADMIN)
def confirm():
    year = _year()
    try:
        changes = holidays.confirm_year(db.session, current_user, year, load_profile,
                                        scoping.home_profile())
    except holidays.CalendarError as exc:
        db.session.rollback()
        flash(calendar_error(exc.code, exc.detail), "error")
        return _back(year)
    db.session.commit()
    return render_template("admin/calendar_confirmed.html", year=year, changes=changes)
