"""/track: follow a filing with its receipt number and query code; reply to 补正; download evidence."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from portal import clock
from portal.attachments import send_attachment
from portal.extensions import db
from portal.models import Attachment, Submission
from portal.rules.workflow import SubmissionState
from portal.services import party_access, submissions, uploads
from portal.services.calendar import load_calendar
from portal.submit import access, bureaus, files
from portal.submit.forms import ReplyForm, TrackLoginForm
from portal.submit.presenters import due_info, history, material_requests


def track_login():
    form = TrackLoginForm()
    failed = False
    if form.validate_on_submit():
        found = party_access.find_submission(db.session, form.receipt_no.data, form.query_code.data)
        if found is not None:
            access.remember_track(found)
            return redirect(url_for("submit.track", receipt_no=found.receipt_no))
        failed = True
    form.query_code.data = ""
    status = 200 if request.method == "GET" else 422
    return render_template("submit/track_login.html", form=form, failed=failed), status


def track_logout():
    access.forget_track()
    return redirect(url_for("submit.track_login"))


def _tracked(receipt_no: str, lock: bool = False) -> Submission | None:
    query = sa.select(Submission).where(Submission.receipt_no == party_access.clean_reference(receipt_no))
    if lock:  # a double-clicked reply waits for the first and then sees its new state
        query = query.with_for_update()
    submission = db.session.execute(query).scalar_one_or_none()
    if submission is None or not access.may_track(submission):
        return None
    return submission


def _page(submission: Submission, form: ReplyForm, status: int = 200, upload_error: str | None = None,
          problem: str | None = None):
    calendar = load_calendar(db.session)
    today = clock.today()
    return render_template(
        "submit/track.html", submission=submission, form=form,
        profile=bureaus.submission_profile(submission), bureau=bureaus.of_submission(submission),
        several_bureaus=bureaus.several(),
        today=today,
        due=due_info(submission, calendar, today), history=history(submission),
        requests=material_requests(submission), upload_error=upload_error, problem=problem,
        accept=uploads.ACCEPT, limits=files.limits(),
    ), status


def track(receipt_no: str):
    submission = _tracked(receipt_no)
    if submission is None:
        return redirect(url_for("submit.track_login"))
    return _page(submission, ReplyForm())


def track_reply(receipt_no: str):
    submission = _tracked(receipt_no, lock=True)
    if submission is None:
        return redirect(url_for("submit.track_login"))
    form = ReplyForm()
    if submission.state is not SubmissionState.AWAITING_MATERIAL:
        flash(_("Your reply was already received, or no material is being asked for now."))
        return redirect(url_for("submit.track", receipt_no=submission.receipt_no))
    if not form.validate_on_submit():
        return _page(submission, form, 422)
    chosen = files.selected("files")
    text = (form.body.data or "").strip()
    if not text and not chosen:
        return _page(submission, form, 422, problem=_("Write a reply or attach at least one file."))
    try:
        staged = files.stage(chosen)
    except uploads.UploadError as error:
        return _page(submission, form, 422, upload_error=files.error_message(error))
    profile, today = bureaus.submission_profile(submission), clock.today()
    with files.committing(staged):
        submissions.reply_material(db.session, submission, text, today, profile,
                                   load_calendar(db.session), staged)
    flash(_("Thank you. Your reply was received and the review continues."))
    return redirect(url_for("submit.track", receipt_no=submission.receipt_no))


def track_file(receipt_no: str, attachment_id: int):
    submission = _tracked(receipt_no)
    if submission is None:
        abort(404)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.submission_id != submission.id:
        abort(404)
    return send_attachment(attachment)
