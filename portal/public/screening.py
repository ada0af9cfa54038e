"""/screen: batch screening of a file of counterparties (名单批量核查).

Anyone may upload a CSV or XLSX file of up to 10,000 rows — a name, a code, or both
per row. The upload is read at once (a file that cannot be read is answered on the
form), queued sealed and screened by the workers in chunks; its page at a secret
address (``/screen/<token>``) shows a progress bar, then a summary, the matched rows and
the result files (CSV with a BOM, XLSX). The address is the only key to the results:
nobody else, staff included, can open them, and they are deleted when the retention
ends (``PORTAL_SCREENING_RETENTION_HOURS``) or when the uploader deletes them.

Uploads are rate-limited per client address; the pages are ``no-store`` and send no
referrer, so the address does not leak through links. Full ID numbers in the file are
never shown back: results hold the masked code.
"""
from __future__ import annotations

import datetime as dt
import io
from urllib.parse import quote

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import NotFound
from wtforms import StringField

from portal import clock
from portal import public_scope as jurisdiction
from portal.extensions import db, limiter
from portal.models import BatchStatus
from portal.public import certificates as certificates_view
from portal.public import check
from portal.services import screening, screening_batches, screening_files
from portal.services.certificates import Subject
from portal.services.report_files import FileProblem, to_csv, to_xlsx
from portal.web import _error_page, no_store

DEFAULT_LIMIT = "10 per hour"
SHOWN_MATCHES = 500
THRESHOLD_RANGE = (screening.MIN_THRESHOLD, 1.0)


class ScreenForm(FlaskForm):
    file = FileField(_l("File of names and codes (CSV or XLSX)"))
    threshold = StringField(_l("Minimum name score"))


def _rate_limit() -> str:
    return current_app.config.get("PORTAL_SCREEN_RATE_LIMIT", DEFAULT_LIMIT)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/screen", "screen", limiter.limit(_rate_limit, methods=["POST"])(upload),
                    methods=["GET", "POST"])
    bp.add_url_rule("/screen/<string:token>", "screen_batch", batch_page)
    bp.add_url_rule("/screen/<string:token>/progress", "screen_progress", progress)
    bp.add_url_rule("/screen/<string:token>/results.<string:kind>", "screen_results", results)
    bp.add_url_rule("/screen/<string:token>/delete", "screen_delete", delete, methods=["POST"])
    bp.add_url_rule("/screen/<string:token>/certificate", "screen_certificate",
                    limiter.limit(check._rate_limit, methods=["POST"])(certificate),
                    methods=["POST"])
    bp.url_value_preprocessor(_limit_body)
    check.answers_errors("public.screen", _too_many, _csrf_failed)
    for endpoint in ("public.screen_delete", "public.screen_certificate"):
        check.answers_errors(endpoint, _error_page, _stale_form)


def _limit_body(endpoint, values):
    # Refuse an oversized upload before it is parsed (CSRF reads the form first).
    if endpoint == "public.screen":
        request.max_content_length = screening_files.MAX_BYTES + 64 * 1024


def _private(response):
    return no_store(response, secret_address=True)


def _hours() -> int:
    return int(screening_batches.retention(current_app.config).total_seconds() // 3600)


def _page(form: ScreenForm, status: int = 200, **context):
    return _private(make_response(render_template(
        "public/screen.html", form=form, max_rows=screening_files.MAX_ROWS,
        max_mb=screening_files.MAX_BYTES // (1024 * 1024), hours=_hours(),
        default_threshold=screening.DEFAULT_THRESHOLD, **context), status))


def file_problem(problem: FileProblem) -> str:
    messages = {
        "empty": _("The file is empty."),
        "too_large": _("The file is larger than %(mb)s MB.",
                       mb=screening_files.MAX_BYTES // (1024 * 1024)),
        "xls": _("This is an old Excel file (.xls). Please save it as .xlsx or CSV and "
                 "upload it again."),
        "encoding": _("The text of this file cannot be read. Please save it as UTF-8 CSV or "
                      "as .xlsx."),
        "too_many_rows": _("The file has more than %(n)s rows. Please split it.",
                           n=screening_files.MAX_ROWS),
        "too_many_cells": _("The workbook has more than %(n)s cells. Please keep only the "
                            "columns of names and codes (or save it as CSV) and upload it "
                            "again.", n=screening_files.MAX_CELLS),
        "no_rows": _("The file holds no names or codes."),
    }
    return messages.get(problem.code, _("This file is not a CSV or XLSX table."))


def parse_threshold(raw: str | None) -> float:
    text = (raw or "").strip().replace("，", ".").replace(",", ".")
    if not text:
        return screening.DEFAULT_THRESHOLD
    try:
        value = float(text[:10])
    except ValueError:
        value = -1.0
    low, high = THRESHOLD_RANGE
    if not low <= value <= high:
        raise ValueError(_("The minimum score is a number between %(low)s and %(high)s.",
                           low=low, high=high))
    return value


def upload():
    form = ScreenForm()
    if request.method == "GET":
        return _page(form)
    if not form.validate_on_submit():
        return _csrf_failed(None)
    try:
        threshold = parse_threshold(form.threshold.data)
    except ValueError as problem:
        return _page(form, status=422, threshold_error=str(problem))
    storage = form.file.data
    if storage is None or not getattr(storage, "filename", ""):
        return _page(form, status=422, error=_("Please choose a CSV or XLSX file."))
    raw = storage.read(screening_files.MAX_BYTES + 1)
    try:
        records = screening_files.read_records(raw, storage.filename)
    except FileProblem as problem:
        return _page(form, status=422, error=file_problem(problem))
    requested = jurisdiction.requested_code()
    codes = jurisdiction.scope().codes if requested is not None else None
    batch, token = screening_batches.create(
        db.session, current_app.config["SECRET_KEY"], records,
        filename=storage.filename, threshold=threshold, jurisdiction=requested, codes=codes,
        now=clock.now(), keep=screening_batches.retention(current_app.config))
    db.session.commit()
    return _private(redirect(url_for("public.screen_batch", token=token, jurisdiction=None), 303))


def _batch(token: str):
    batch = screening_batches.by_token(db.session, token, clock.now())
    if batch is None:
        abort(404)
    if not screening_batches.readable(db.session, current_app.config["SECRET_KEY"], batch):
        db.session.commit()       # sealed under a key since changed: shown as not screened
    return batch


def _place(code: str) -> str:
    info = jurisdiction.current_directory().get(code)
    return info.name(get_locale()) if info else code


def _ground(match: dict) -> str:
    """The ground in the reader's language, as the entry publishes it."""
    ground = match.get("ground") or {}
    english = str(get_locale()).startswith("en")
    return (ground.get("en") if english else None) or ground.get("zh_CN") or ""


def _entry_url(match: dict) -> str | None:
    if not match.get("public"):
        return None
    return url_for("public.entry", public_id=match["public_id"], _external=True,
                   jurisdiction=None)


def _error_text(record: dict) -> str | None:
    """The code's error in the reader's language (stored as its machine reason)."""
    reason = record.get("error_reason")
    if reason and ":" in reason:
        return str(screening.code_error(*reason.split(":", 1)))
    return record.get("error")


def _batch_context(batch, token: str) -> dict:
    shown, more = [], 0
    if batch.status is BatchStatus.DONE:
        for record in screening_batches.results(db.session, current_app.config["SECRET_KEY"],
                                                batch):
            if record["matches"] or record["error"]:
                if len(shown) < SHOWN_MATCHES:
                    # the row's button posts its row number: good as long as the results
                    record["certifiable"] = _subject(record) is not None
                    record["error"] = _error_text(record)
                    shown.append(record)
                else:
                    more += 1
    return {
        "batch": batch, "token": token, "progress": screening_batches.progress(batch),
        "shown": shown, "more": more, "hours": _hours(), "place": _place, "ground": _ground,
        "reason": screening.reason_label, "outcome": screening_files.outcome,
        "expires_at": clock.local(batch.expires_at), "finished": clock.local(batch.finished_at),
        "day": dt.date.fromisoformat,
    }


def batch_page(token: str):
    return _private(make_response(render_template(
        "public/screen_batch.html", **_batch_context(_batch(token), token))))


def progress(token: str):
    return _private(jsonify(screening_batches.progress(_batch(token)).as_json()))


def results(token: str, kind: str):
    if kind not in ("csv", "xlsx"):
        abort(404)
    batch = _batch(token)
    if batch.status is not BatchStatus.DONE:
        abort(404)
    records = ({**r, "error": _error_text(r)} for r in screening_batches.results(
        db.session, current_app.config["SECRET_KEY"], batch))
    lines = screening_files.result_lines(
        records, reason=lambda code: str(screening.reason_label(code)), ground=_ground,
        place=_place, entry_url=_entry_url)
    header = screening_files.result_header()
    if kind == "csv":
        data, mimetype = to_csv(header, lines), "text/csv"
    else:
        data = to_xlsx(header, lines, title=_("Screening results"))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    name = f"screening-{batch.created_at:%Y%m%d-%H%M}.{kind}"
    response = send_file(io.BytesIO(data), mimetype=mimetype, as_attachment=True,
                         download_name=name)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return _private(response)


def _form_expired(batch, token: str):
    """A form of the results page sent without a valid form token (the page was left open
    longer than the token lives): the page again, saying so."""
    return _private(make_response(render_template(
        "public/screen_batch.html", **_batch_context(batch, token),
        form_error=_("The form has expired. Please try again.")), 400))


def delete(token: str):
    batch = _batch(token)
    if not FlaskForm().validate_on_submit():
        return _form_expired(batch, token)
    screening_batches.delete(db.session, batch)
    db.session.commit()
    return _page(ScreenForm(formdata=None), deleted=True)


def _subject(record: dict) -> Subject | None:
    found = record.get("subject")
    if not found:
        return None
    return Subject(kind=found["kind"], masked=record["code"], code_hash=found["hash"])


def certificate(token: str):
    """A query certificate of one row's code, as /check answers it now (today's answer).
    The row is asked by its number in the uploaded file."""
    batch = _batch(token)
    if not FlaskForm().validate_on_submit():
        return _form_expired(batch, token)
    row = request.form.get("row", "").strip()
    # digits as typed, full-width ones too; "²" is a digit to str.isdigit but no number
    if batch.status is not BatchStatus.DONE or not row.isdecimal() or len(row) > 7:
        abort(404)
    record = next((r for r in screening_batches.results(
        db.session, current_app.config["SECRET_KEY"], batch) if r["row"] == int(row)), None)
    subject = _subject(record) if record else None
    if subject is None:
        return _private(make_response(render_template(
            "public/screen_batch.html", **_batch_context(batch, token),
            certificate_error=_("Row %(row)s of the file has no valid unified social credit "
                                "code or resident ID number: a certificate answers for a code.",
                                row=row[:7])), 422))
    return certificates_view.issued(subject, batch.jurisdiction, codes=(
        batch.codes.split(",") if batch.codes is not None else None))


def _stale_form(error):
    token = (request.view_args or {}).get("token", "")
    batch = screening_batches.by_token(db.session, token, clock.now())
    if batch is None:
        return _error_page(NotFound())
    return _form_expired(batch, token)


def _too_many(error):
    return _page(ScreenForm(formdata=None), status=429, too_many=True)


def _csrf_failed(error):
    return _page(ScreenForm(formdata=None), status=400,
                 error=_("The form has expired. Please choose the file again."))
