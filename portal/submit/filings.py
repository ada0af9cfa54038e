"""The five filings: guided forms, exactly-once receipt, files committed with their rows.

Each view: sign-in check (party kinds), window check, form validation, file
staging, one service call (``submissions.file``), one commit, the receipt.
A second POST of the same form (refresh, double click) finds the first
filing by its token and shows its receipt again without the query code, also when the first
post took the files kept for the form (the second is never told to choose them again).
"""
from __future__ import annotations

import datetime as dt

from flask import render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

from portal import clock
from portal.extensions import db
from portal.rules.workflow import SubmissionKind
from portal.services import filing_windows, submissions, uploads
from portal.services.calendar import load_calendar
from portal.services.submissions import Filing, FilingRefused
from portal.submit import access, bureaus, files
from portal.submit.commitment import commitment, confirmation
from portal.submit.forms import (
    ComplaintForm,
    DefenceForm,
    ObjectionForm,
    RectificationForm,
    RepairForm,
    bureau_choices,
    error_list,
    new_token,
)
from portal.submit.party import require_party
from portal.submit.presenters import due_info

K = SubmissionKind
EARLIEST = dt.date(2000, 1, 1)


def _locale() -> str:
    """The portal's language code of this request ("zh_CN" or "en"), kept for later e-mails."""
    return "en" if str(get_locale()).startswith("en") else "zh_CN"


def receipt_page(submission, query_code: str | None, status: int = 200):
    calendar = load_calendar(db.session)
    return render_template("submit/receipt.html", submission=submission, query_code=query_code,
                           due=due_info(submission, calendar, clock.today()),
                           profile=bureaus.submission_profile(submission),
                           bureau=bureaus.of_submission(submission),
                           several_bureaus=bureaus.several()), status


def _not_open(window, case, status: int = 200):
    return render_template("submit/not_open.html", window=window, case=case, kind=window.kind,
                           profile=bureaus.case_profile(case), bureau=bureaus.of_case(case)), status


def _same_form(first, kind: K, case) -> bool:
    """``first`` (found by this form's token) is a filing of this very form."""
    return first is not None and first.kind is kind and first.case_id == (case.id if case is not None else None)


def _retry(first, token: str):
    """The same form sent again: its receipt, without the query code (shown once only)."""
    if access.owns_form_token(token):
        access.remember_track(first)
    return receipt_page(first, None)


def _refused(kind: K, window, case, token: str):
    """A POST outside its window.  When the refusal is this very form, filed by a simultaneous
    post after this one looked for its token, the browser gets that filing's receipt."""
    first = submissions.by_idempotency_key(db.session, token)
    if _same_form(first, kind, case):
        return _retry(first, token)
    return _not_open(window, case, 409)


def _file(kind: K, form, case, template: str, build, check=None, extra_files: tuple[str, ...] = (),
          bureau=None, **context):
    """The shared POST/GET handling of every filing form: under the rules of the case's
    jurisdiction, or of ``bureau`` (the one a report is addressed to).

    One round finds every error: the form's fields, ``check(form, evidence, extra, today,
    file_errors)`` (dates, required files, the commitment) and the files; the page shows each
    at its field and all of them in a summary.  Evidence files received in a round with errors
    are kept for the next (:func:`files.held`); ``extra_files`` (the signed commitment) are not.
    """
    if case is not None:
        bureau, profile = bureaus.of_case(case), bureaus.case_profile(case)
    else:
        profile = bureaus.profile_of(bureau)
    today = clock.today()
    calendar = load_calendar(db.session)
    token = form.idempotency_token()
    form.token.data = token
    if request.method == "POST":
        first = submissions.by_idempotency_key(db.session, token)
        if _same_form(first, kind, case):
            return _retry(first, token)
        if first is not None:          # a token from another form: never show that filing
            token = form.token.data = new_token()
    access.issue_form_token(token)
    window = None
    if case is not None:
        window = filing_windows.window(db.session, kind, case, profile, calendar, today)
        if not window.allowed:
            if request.method == "GET":
                return _not_open(window, case, 200)
            return _refused(kind, window, case, token)

    def form_page(status: int = 200, file_errors: dict | None = None, held=(), rechoose: str = ""):
        file_errors = file_errors or {}
        return render_template(template, form=form, case=case, profile=profile, window=window,
                               bureau=bureau, today=today, file_errors=file_errors,
                               errors=error_list(form, file_errors), held=held, rechoose=rechoose,
                               accept=uploads.ACCEPT, limits=files.limits(), **context), status

    if request.method == "GET":
        return form_page()
    valid = form.validate_on_submit()
    held_key = files.form_key(token, kind.value, case.id if case is not None else None)
    kept, lost = files.held(held_key)
    if lost:
        # a simultaneous post of this same form may have taken the file and filed it
        first = submissions.by_idempotency_key(db.session, token)
        if _same_form(first, kind, case):
            uploads.discard(kept)
            return _retry(first, token)
    chosen, chosen_extra = files.selected("files"), files.selected(*extra_files)
    file_errors: dict[str, str] = {}
    staged, refused = files.stage_each(chosen, kept=len(kept))
    if refused or lost:
        file_errors["files"] = " ".join(refused + ([files.lost_message(lost)] if lost else []))
    extra = []
    try:
        extra = files.stage(chosen_extra) if chosen_extra else []
    except uploads.UploadError as error:
        file_errors[extra_files[0]] = files.error_message(error)
    evidence = kept + staged
    try:
        if check is not None:
            check(form, evidence, extra, today, file_errors)
    except BaseException:
        uploads.discard(evidence + extra)
        raise
    if not valid or file_errors or any(field.errors for field in form):
        uploads.discard(extra)
        files.hold(held_key, evidence)
        # browsers never keep a choice: say which files must be chosen again
        rechoose = ("commitment" if chosen_extra else "") or ("files" if chosen and not staged else "")
        return form_page(422, file_errors, held=evidence, rechoose=rechoose)
    staged = evidence + extra
    try:
        filing = build(form, token, evidence, extra, today)
    except BaseException:
        uploads.discard(staged)      # never leave the staged files behind an unexpected failure
        raise
    try:
        with files.committing(staged):
            receipt = submissions.file(db.session, profile, calendar, filing, today, staged)
    except FilingRefused as refused:     # committing() rolled back and discarded the files
        return _refused(kind, refused.window, case, token)
    except IntegrityError:
        first = submissions.by_idempotency_key(db.session, token)
        if first is None:
            raise
        return _retry(first, token)
    if not receipt.created:
        uploads.discard(staged)
        db.session.commit()          # files stored in the database go with a commit
        return _retry(receipt.submission, token)
    access.remember_track(receipt.submission)
    return receipt_page(receipt.submission, receipt.query_code)


def _filer(form) -> dict:
    return {"filer_name": form.filer_name.data.strip(), "filer_contact": form.filer_contact.data.strip(),
            "filer_email": (form.filer_email.data or "").strip() or None}


def defence():
    case, login = require_party()
    if login:
        return login

    def build(form, token, evidence, extra, today):
        return Filing(kind=K.DEFENCE, body=form.body.data.strip(), case=case, idempotency_key=token,
                      details={"locale": _locale()}, **_filer(form))

    return _file(K.DEFENCE, DefenceForm(), case, "submit/defence.html", build)


def objection():
    case, login = require_party()
    if login:
        return login

    def build(form, token, evidence, extra, today):
        return Filing(kind=K.OBJECTION, body=form.body.data.strip(), case=case, idempotency_key=token,
                      category=form.category.data, details={"locale": _locale()}, **_filer(form))

    return _file(K.OBJECTION, ObjectionForm(), case, "submit/objection.html", build)


def rectification():
    case, login = require_party()
    if login:
        return login

    def check(form, evidence, extra, today, file_errors):
        done = form.rectified_on.data
        if done is not None and (done > today or done < EARLIEST):
            form.rectified_on.errors.append(_("The date the problem was put right cannot be in the future."))
        if not evidence and "files" not in file_errors:
            file_errors["files"] = _("Attach at least one document that proves it, for example a payment "
                                     "receipt or the registration certificate.")

    def build(form, token, evidence, extra, today):
        return Filing(kind=K.RECTIFICATION, body=form.body.data.strip(), case=case, idempotency_key=token,
                      details={"locale": _locale(), "rectified_on": form.rectified_on.data.isoformat()},
                      **_filer(form))

    return _file(K.RECTIFICATION, RectificationForm(), case, "submit/rectification.html", build, check)


def repair():
    case, login = require_party()
    if login:
        return login
    profile = bureaus.case_profile(case)
    text = commitment(profile, case, _locale())
    required = profile.repair.commitment_required
    form = RepairForm()
    paper = required and form.commitment_mode.data == "paper"

    def check(form, evidence, extra, today, file_errors):
        if not evidence and "files" not in file_errors:
            file_errors["files"] = _("Attach at least one document that proves your obligations are fulfilled.")
        if paper and not extra and "commitment_file" not in file_errors:
            file_errors["commitment_file"] = _("Attach the signed credit commitment, or confirm it online.")
        elif required and not paper and not form.commitment_confirm.data:
            form.commitment_confirm.errors.append(
                _("Tick the box to make the credit commitment, or upload it signed."))

    def build(form, token, evidence, extra, today):
        details = {"locale": _locale(), "obligations_fulfilled": True}
        if paper:
            details["commitment"] = {"mode": "paper", "attachment": extra[-1].stored_name,
                                     "uploaded_at": clock.now().isoformat(timespec="seconds")}
        elif required:
            details["commitment"] = confirmation(text, _locale())
        details["commitment_signed"] = "commitment" in details
        return Filing(kind=K.CREDIT_REPAIR, body=form.body.data.strip(), case=case, idempotency_key=token,
                      details=details, **_filer(form))

    return _file(K.CREDIT_REPAIR, form, case, "submit/repair.html", build, check,
                 extra_files=("commitment_file",) if paper else (),
                 commitment=text, commitment_required=required)


def complaint():
    """A report to the bureau the filer chooses (when the portal serves several); its due
    date follows that jurisdiction's rules."""
    form = ComplaintForm()
    if bureaus.several():
        form.jurisdiction.choices = bureau_choices(bureaus.active(), get_locale())
        if request.method == "GET" and not form.jurisdiction.data:
            form.jurisdiction.data = request.args.get("jurisdiction", "")
        bureau = bureaus.chosen(form.jurisdiction.data or "")
    else:
        del form.jurisdiction
        bureau = bureaus.chosen()

    def build(form, token, evidence, extra, today):
        anonymous = bool(form.anonymous.data)
        filer = {"filer_name": None, "filer_contact": None, "filer_email": None} if anonymous else _filer(form)
        details = {"locale": _locale()}
        for name in ("reported_code", "reported_address"):
            value = (getattr(form, name).data or "").strip()
            if value:
                details[name] = value
        return Filing(kind=K.COMPLAINT, body=form.body.data.strip(), anonymous=anonymous,
                      reported_name=form.reported_name.data.strip(), category=form.category.data,
                      idempotency_key=token, details=details, **filer,
                      jurisdiction=bureau.code if bureau is not None else None)

    return _file(K.COMPLAINT, form, None, "submit/complaint.html", build, bureau=bureau)
