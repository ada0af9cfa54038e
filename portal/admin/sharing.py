"""Uploads to the credit-information sharing platform: what is pending, the file, the record.

Clerks and approvers see the listings and removals still to be uploaded,
with the working days left; they export the chosen records as CSV or XLSX
(audited: the file carries full identifiers for the platform), and then
record the date the platform accepted them.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from portal import clock
from portal.admin import queries, scoping
from portal.admin.access import role_required
from portal.admin.forms import _day, options
from portal.extensions import db
from portal.web import format_day
from portal.rules.workflow import InvalidTransition
from portal.services import cases, report_files, sharing
from portal.services.calendar import load_calendar

bp = Blueprint("sharing", __name__, url_prefix="/sharing")
ROLES = sharing.ROLES


class ExportForm(FlaskForm):
    kind = HiddenField()
    fmt = SelectField(_l("File format"), choices=options({"xlsx": "XLSX", "csv": "CSV"}))
    language = SelectField(_l("Headings"), choices=options({"zh": _l("Chinese"),
                                                            "en": _l("English")}))


class MarkForm(FlaskForm):
    kind = HiddenField()
    uploaded_on = _day(_l("Accepted by the platform on"))


def _chosen_ids() -> list[int]:
    return [int(v) for v in request.form.getlist("case") if v.isdigit()]


@bp.get("/")
@role_required(*ROLES)
def index():
    calendar, today = load_calendar(db.session), clock.today()
    groups = []
    for kind in sharing.KINDS:
        rows = [(p.case, queries.due_of(p.due_on, "sharing", today, calendar, p.provisional))
                for p in sharing.pending(db.session, kind, calendar, within=scoping.current())]
        groups.append((kind, rows, ExportForm(formdata=None, kind=kind),
                       MarkForm(formdata=None, kind=kind)))
    return render_template("admin/sharing.html", groups=groups, today=today,
                           columns=sharing.COLUMNS, profile=scoping.home_profile())


def _selection(form, *, marking: bool = False) -> tuple[str, list, list] | None:
    """The kind, the chosen records still pending and (``marking``) those already recorded
    as uploaded; ``None`` (with a message) when the choice holds anything else."""
    kind = form.kind.data
    if kind not in sharing.KINDS:
        abort(400)
    try:
        if marking:
            chosen, done = sharing.select_to_mark(db.session, kind, _chosen_ids())
        else:
            chosen, done = sharing.select(db.session, kind, _chosen_ids()), []
    except sharing.SharingError:
        flash(_("Choose one or more records that are still to be uploaded."), "error")
        return None
    for case in chosen + done:
        scoping.guard(case.jurisdiction, "case", case.case_no, write=True)
    return kind, chosen, done


@bp.post("/export")
@role_required(*ROLES)
def export():
    form = ExportForm()
    if not form.validate_on_submit():
        abort(400)
    picked = _selection(form)
    if picked is None:
        return redirect(url_for(".index"))
    kind, chosen, _done = picked
    english = form.language.data == "en"
    rows = sharing.export(db.session, current_user, kind, chosen, form.fmt.data, english)
    db.session.commit()
    headings = [en if english else zh for _key, zh, en in sharing.COLUMNS]
    keys = [key for key, _zh, _en in sharing.COLUMNS]
    name = f"sharing-{kind}-{clock.today():%Y%m%d}.{form.fmt.data}"
    table = [[row[k] for k in keys] for row in rows]
    if form.fmt.data == "csv":
        body, mimetype = report_files.to_csv(headings, table), "text/csv; charset=utf-8"
    else:
        body = report_files.to_xlsx(headings, table, title=_("Listings")
                                    if kind == sharing.LISTINGS else _("Removals"))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/mark")
@role_required(*ROLES)
def mark():
    form = MarkForm()
    if not form.validate_on_submit():
        flash(_("Please give the date on which the platform accepted the records."), "error")
        return redirect(url_for(".index"))
    picked = _selection(form, marking=True)
    if picked is None:
        return redirect(url_for(".index"))
    kind, chosen, done = picked
    try:
        count = sharing.mark_uploaded(db.session, current_user, kind, chosen,
                                      form.uploaded_on.data) if chosen else 0
    except sharing.SharingError:
        db.session.rollback()
        flash(_("The upload cannot lie before the decision or removal it reports."), "error")
        return redirect(url_for(".index"))
    except (cases.CaseError, InvalidTransition):
        db.session.rollback()   # the case changed since the page was shown
        flash(_("Choose one or more records that are still to be uploaded."), "error")
        return redirect(url_for(".index"))
    db.session.commit()
    if count:
        flash(_("%(num)s records are recorded as uploaded.", num=count), "info")
    if done:
        flash(_("Already recorded as uploaded, left as they were: %(records)s.", records="; ".join(
            f"{case.case_no} ({format_day(sharing.uploaded_on(case, kind))})" for case in done)), "info")
    return redirect(url_for(".index"))
