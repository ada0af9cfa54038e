"""Import of the periodic dishonesty report and its export for the supervising authority.

Upload → preview (every row with its problems) → commit (all rows or none).
Clerks and reviewers open cases, so they upload and commit; approvers may
look at uploads and export the report.  The report carries full ID numbers:
the export is staff-only and audited (``report.export``).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import SelectChoice

from portal import clock
from portal.admin import access, scoping
from portal.admin.access import role_required
from portal.admin.forms import options
from portal.admin.import_forms import BatchForm, ExportForm, UploadForm
from portal.admin.messages import step_error
from portal.extensions import db
from portal.import_messages import file_problem, import_problem, row_error, row_warning
from portal.models import ImportBatch, ImportStatus, Role
from portal.rules.identifiers import mask_identifier
from portal.rules.profiles import load_profile
from portal.services import cases, imports, report_export
from portal.services.calendar import load_calendar
from portal.services.report_files import FileProblem, to_csv, to_xlsx
from portal.services.report_format import report_format

bp = Blueprint("imports", __name__, url_prefix="/imports")
OPENERS = (Role.CLERK, Role.REVIEWER)
VIEWERS = (Role.CLERK, Role.REVIEWER, Role.APPROVER)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _locale() -> str:
    return str(get_locale())


def _limits() -> tuple[int, int]:
    return imports.limits(current_app.config)


def _body_limit() -> int:
    """The largest upload request: the file plus the small form fields."""
    return _limits()[0] + 64 * 1024


@bp.url_value_preprocessor
def limit_body_size(endpoint, values):
    # Refuse an oversized upload before it is parsed. A URL value preprocessor runs before
    # every before_request hook, CSRF's included, which is the first to read the form.
    if endpoint == "admin.imports.upload":
        request.max_content_length = _body_limit()


def _profile():
    """The rules of the bureau the page works for (its profile's report format)."""
    code = scoping.working_code()
    return scoping.profile_of(code) if code else scoping.home_profile()


def _too_large_page():
    max_bytes, _rows = _limits()
    return _render_index(_upload_form(False), file_problem(
        "too_large", {"max_mb": imports.megabytes(max_bytes)}, report_format(_profile()),
        _locale()), 413)


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    # Raised while the CSRF check reads the body, before the back office's session check and
    # the view's role check: run them here, and show the upload page only to those who upload.
    refused = access.enforce_session()
    if refused is not None:
        return refused
    if not current_user.is_authenticated or current_user.role not in OPENERS:
        return error
    return _too_large_page()


def _upload_form(from_request: bool = True) -> UploadForm:
    profile = _profile()
    form = UploadForm() if from_request else UploadForm(formdata=None)
    locale = _locale()
    form.ground.choices = options({"": _("— the file has a ground code column —")}, [
        (g.code, f"{g.code} · {g.text.get(locale)[:40]}") for g in profile.grounds])
    return form


def _render_index(form: UploadForm | None = None, problem: str | None = None, status: int = 200):
    profile = _profile()
    fmt = report_format(profile)
    mine = scoping.current()
    stmt = sa.select(ImportBatch).where(ImportBatch.profile == profile.code) if mine.everything \
        else mine.filter(sa.select(ImportBatch), ImportBatch.jurisdiction)
    batches = db.session.execute(stmt.order_by(ImportBatch.id.desc()).limit(20)).scalars().all()
    max_bytes, max_rows = _limits()
    return render_template(
        "admin/imports/index.html", profile=profile, fmt=fmt, form=form or _upload_form(False),
        batches=batches, problem=problem, max_mb=imports.megabytes(max_bytes),
        max_rows=max_rows, can_upload=current_user.role in OPENERS,
        jurisdiction_choices=scoping.jurisdiction_choices(), working=scoping.working_code(),
    ), status


@bp.get("/")
@role_required(*VIEWERS)
def index():
    return _render_index(_upload_form(False))


def _download(data: bytes, name: str, file_format: str) -> Response:
    mimetype = XLSX_TYPE if file_format == "xlsx" else "text/csv; charset=utf-8"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{file_format}"'
    return response


@bp.get("/template.<file_format>")
@role_required(*VIEWERS)
def template(file_format: str):
    if file_format not in ("csv", "xlsx"):
        abort(404)
    profile = _profile()
    fmt = report_format(profile)
    header = [c.label.zh for c in fmt.columns]
    if file_format == "csv":
        data = to_csv(header, [])
    else:
        notes = [("失信情形代码", "失信情形")] + [(g.code, g.text.zh) for g in profile.grounds]
        data = to_xlsx(header, [], title="失信信息报送", notes=notes, notes_title="失信情形代码")
    return _download(data, f"report-template-{profile.code}", file_format)


@bp.post("/")
@role_required(*OPENERS)
def upload():
    profile = _profile()
    max_bytes, max_rows = _limits()
    fmt = report_format(profile)
    try:        # the body limit is set by limit_body_size (the form may be read here first)
        form = _upload_form()
    except RequestEntityTooLarge:
        return _too_large_page()
    if not form.validate_on_submit():
        return _render_index(form, status=400)
    storage = form.file.data
    raw = storage.stream.read(max_bytes + 1)
    try:
        batch = imports.stage(
            db.session, current_user, profile, filename=storage.filename or "", raw=raw,
            default_ground=form.ground.data or None, key=current_app.config["PORTAL_LOOKUP_KEY"],
            today=clock.today(), max_bytes=max_bytes, max_rows=max_rows,
            jurisdiction=scoping.working_code())
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except FileProblem as exc:
        db.session.rollback()
        return _render_index(form, file_problem(exc.code, exc.params, fmt, _locale()), 400)
    except imports.ImportProblem as exc:
        db.session.rollback()
        return _render_index(form, import_problem(exc.code, exc.params), 400)
    db.session.commit()
    return redirect(url_for(".preview", batch_id=batch.id))


def _batch(batch_id: int, *, write: bool = False) -> ImportBatch:
    """A batch of a jurisdiction the user reads (``write``: works for)."""
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        abort(404)
    scoping.guard(batch.jurisdiction, "import_batch", batch.id, write=write)
    return batch


def _display_rows(batch: ImportBatch, fmt) -> list[dict]:
    """Rows for the preview: identity numbers of persons masked, problems translated."""
    locale = _locale()
    shown = []
    for row in batch.rows:
        v = row["values"]
        code = v.get("uscc") or v.get("org_code") or v.get("reg_no") or v.get("id_number")
        shown.append({
            "line": row["line"], "name": v.get("name", ""), "kind": v.get("kind"),
            "code": mask_identifier(code) if code else "",
            "rep": " ".join(x for x in (v.get("rep_name") or "",
                                        mask_identifier(v["rep_id"]) if v.get("rep_id") else "") if x),
            "ground": v.get("ground", ""), "date": v.get("date", ""),
            "document_no": v.get("document_no", ""), "amount": v.get("amount") or "",
            "case_no": row.get("case_no"),
            "errors": [row_error(code_, params, fmt, locale) for code_, params in row["errors"]],
            "warnings": [row_warning(code_, params) for code_, params in row.get("warnings", ())],
        })
    return shown


@bp.get("/<int:batch_id>")
@role_required(*VIEWERS)
def preview(batch_id: int):
    batch = _batch(batch_id)
    fmt = report_format(load_profile(batch.profile))     # the format of the batch's own rules
    return render_template("admin/imports/preview.html", batch=batch, fmt=fmt,
                           rows=_display_rows(batch, fmt), form=BatchForm(),
                           can_commit=current_user.role in OPENERS
                           and scoping.may_write(batch.jurisdiction), statuses=ImportStatus)


@bp.post("/<int:batch_id>/commit")
@role_required(*OPENERS)
def commit(batch_id: int):
    batch = _batch(batch_id, write=True)
    if not BatchForm().validate_on_submit():
        abort(400)
    try:
        result = imports.commit(db.session, current_user, batch_id, load_profile(batch.profile),
                                key=current_app.config["PORTAL_LOOKUP_KEY"], today=clock.today())
        db.session.commit()
    except imports.ImportProblem as exc:
        db.session.rollback()
        flash(import_problem(exc.code, exc.params), "error")
        return redirect(url_for(".preview", batch_id=batch_id))
    except IntegrityError:          # another copy of the file was committed at the same moment
        db.session.rollback()
        flash(import_problem("already_imported", {"batch": "", "date": ""}), "error")
        return redirect(url_for(".preview", batch_id=batch_id))
    if result.already:
        flash(_("This upload had already been imported; nothing was changed."), "info")
    elif result.conflicts:
        flash(ngettext("Nothing was imported: %(num)d row conflicts with a case opened since the "
                       "preview.", "Nothing was imported: %(num)d rows conflict with cases opened "
                       "since the preview.", result.conflicts), "error")
    else:
        flash(ngettext("%(num)d case has been opened from the report.",
                       "%(num)d cases have been opened from the report.", len(result.cases)), "info")
    return redirect(url_for(".preview", batch_id=batch_id))


@bp.post("/<int:batch_id>/discard")
@role_required(*OPENERS)
def discard(batch_id: int):
    _batch(batch_id, write=True)
    if not BatchForm().validate_on_submit():
        abort(400)
    try:
        imports.discard(db.session, current_user, batch_id)
        db.session.commit()
    except imports.ImportProblem as exc:
        db.session.rollback()
        flash(import_problem(exc.code, exc.params), "error")
        return redirect(url_for(".preview", batch_id=batch_id))
    flash(_("The upload has been discarded."), "info")
    return redirect(url_for(".index"))


# --------------------------------------------------------------------------
# The report for the supervising authority
# --------------------------------------------------------------------------

def _export_form(profile, today, formdata=None) -> ExportForm:
    form = ExportForm(formdata=formdata) if formdata is not None else ExportForm()
    form.period.choices = options((p.code, p.code)
                                  for p in report_export.recent_periods(profile, today, 12))
    return form


@bp.get("/reports")
@role_required(*VIEWERS)
def reports():
    profile = _profile()
    today = clock.today()
    period = (report_export.parse_period(request.args.get("period"), profile)
              or report_export.last_period(profile, today))
    form = _export_form(profile, today, formdata=None)
    if period.code not in {c.value for c in form.period.choices}:
        form.period.choices.insert(0, SelectChoice(period.code))
    form.period.data = period.code
    due = report_export.due_dates(profile, period, load_calendar(db.session))
    found = report_export.decided_cases(db.session, profile, period,
                                        scoping.members_of(scoping.working_code()))
    return render_template("admin/imports/reports.html", profile=profile, period=period, due=due,
                           cases=found, form=form, fmt=report_format(profile), today=today,
                           periods=report_export.recent_periods(profile, today, 12),
                           jurisdiction_choices=scoping.jurisdiction_choices(),
                           working=scoping.working_code())


@bp.post("/reports/export")
@role_required(*VIEWERS)
def export():
    profile = _profile()
    form = _export_form(profile, clock.today())
    period = report_export.parse_period(form.period.data, profile)
    if period is not None and period.code not in {c.value for c in form.period.choices}:
        form.period.choices.append(SelectChoice(period.code))
    if not form.validate_on_submit() or period is None:
        flash(_("Choose a period and a file format."), "error")
        return redirect(url_for(".reports"))
    try:
        data, _count = report_export.export(db.session, current_user, profile, period,
                                            form.file_format.data,
                                            scoping.members_of(scoping.working_code()))
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    db.session.commit()
    return _download(data, f"report-{profile.code}-{period.code}", form.file_format.data)
