"""Work queues (cases and submissions, by due date) and the submission page with its steps."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal import clock, labels
from portal.admin import access, desk, exchanges, forms, grade_complaints, queries, scoping
from portal.admin.access import CASE_ROLES, role_required
from portal.admin.messages import step_error, step_reason
from portal.admin.timeline import basis_label
from portal.attachments import send_attachment
from portal.extensions import db
from portal.models import Attachment, Case, Role, StaffUser, Submission
from portal.rules.profiles import load_profile
from portal.rules.workflow import (
    LISTED_STATES,
    CaseState,
    InvalidTransition,
    SubmissionKind,
    SubmissionState,
)
from portal.services import assignments, audit, case_steps, cases, filing_steps, submissions
from portal.services import letters as register
from portal.services.audit import Actor
from portal.services.calendar import load_calendar
from portal.services.permissions import FORBIDDEN

bp = Blueprint("queues", __name__)
S = SubmissionState


def _assignee_choices() -> list[SelectChoice]:
    mine = scoping.current()
    people = queries.handlers(db.session) if mine.everything else [
        u for code in sorted(mine.readable) for u in queries.handlers(db.session, code)]
    return forms.options({"": _("Everybody"), "me": _("Me"), "none": _("Nobody (unassigned)")},
                         list(dict.fromkeys((str(u.id), u.display_name) for u in people)))


def _page() -> int:
    return max(1, request.args.get("page", 1, type=int) or 1)


@bp.get("/")
@role_required()
def home():
    """What waits for the signed-in role, with counts and links, and the nearest deadlines."""
    calendar, today, scope = load_calendar(db.session), clock.today(), scoping.current()
    user = current_user._get_current_object()
    waiting = desk.waiting(db.session, scope, user, today, calendar)
    nearest = [] if user.role not in CASE_ROLES else desk.nearest(
        db.session, scope, user, today, calendar,
        lambda s: _profile_of(s).supplement_pauses_clock)
    replies = desk.replies_received(db.session, scope, user) if user.role is Role.CLERK else []
    return render_template("admin/home.html", waiting=waiting, nearest=nearest,
                           replies=replies, today=today)


@bp.get("/queue/cases", endpoint="cases")
@role_required()
def cases_queue():
    form = forms.CaseFilterForm(request.args)
    form.kind.choices = forms.options({"": _("All")}, labels.SUBJECT_KINDS)
    form.state.choices = forms.options({"": _("Open work"), "all": _("All states")},
                                       labels.CASE_STATES)
    form.assignee.choices = _assignee_choices()
    form.step.choices = forms.options({"": _("Any")}, [(step, str(forms.READY_LABELS[step]))
                                                       for step in queries.READY_STEPS])
    filters = {k: (request.args.get(k) or "") for k in ("kind", "state", "assignee", "step")}
    calendar, today = load_calendar(db.session), clock.today()
    page = queries.case_queue(db.session, scope=scoping.current(),
                              user=current_user._get_current_object(), today=today,
                              page=_page(), **filters)
    rows = []
    for case in page.items:
        on, what = queries.case_due(case)
        rows.append((case, queries.due_of(on, what, today, calendar, case.deadlines_provisional)))
    names = queries.staff_names(db.session, [c.assignee_id for c in page.items])
    return render_template("admin/queue_cases.html", form=form, page=page, rows=rows,
                           names=names, args={k: v for k, v in filters.items() if v}, today=today)


@bp.get("/queue/submissions", endpoint="submissions")
@role_required()
def submissions_queue():
    form = forms.SubmissionFilterForm(request.args)
    form.assignee.choices = _assignee_choices()
    filters = {k: (request.args.get(k) or "") for k in ("kind", "state", "assignee")}
    page = queries.submission_queue(db.session, scope=scoping.current(),
                                    user=current_user._get_current_object(), page=_page(), **filters)
    calendar, today = load_calendar(db.session), clock.today()
    # each filing's clock pauses (or not) under its own bureau's rules
    rows = [(s, queries.due_of(s.due_on, s.kind.value, today, calendar, s.due_provisional,
                               paused=bool(_profile_of(s).supplement_pauses_clock
                                           and s.paused_since)))
            for s in page.items]
    linked = {s.case_id for s in page.items if s.case_id}
    case_nos = dict(db.session.execute(
        sa.select(Case.id, Case.case_no).where(Case.id.in_(linked))).all()) if linked else {}
    names = queries.staff_names(db.session, [s.assignee_id for s in page.items])
    return render_template("admin/queue_submissions.html", form=form, page=page, rows=rows,
                           names=names, args={k: v for k, v in filters.items() if v},
                           case_nos=case_nos, today=today)


# --------------------------------------------------------------------------
# One submission
# --------------------------------------------------------------------------

def _submission(submission_id: int, *, write: bool = False) -> Submission:
    """The filing, if the signed-in member of staff may read it (``write``: handle it)."""
    found = db.session.get(Submission, submission_id)
    if found is None:
        abort(404)
    scoping.guard(found.jurisdiction, "submission", found.receipt_no, write=write)
    return found


def _profile_of(submission: Submission):
    """The rules a filing is handled under: its case's, else its bureau's (a complaint)."""
    case = db.session.get(Case, submission.case_id) if submission.case_id else None
    if case is not None:
        return load_profile(case.profile)
    return scoping.profile_of(submission.jurisdiction)


def _profile_for(submission: Submission):
    case = db.session.get(Case, submission.case_id) if submission.case_id else None
    return case, _profile_of(submission)


def _assign_form(submission: Submission) -> forms.AssignForm:
    form = forms.AssignForm(prefix="assign")
    form.assignee.choices = forms.options({"": _("Nobody")}, [
        (str(u.id), f"{u.display_name} ({labels.label(labels.ROLES, u.role)})")
        for u in queries.handlers(db.session, scoping.members_of(submission.jurisdiction))])
    if not form.is_submitted():
        form.assignee.data = str(submission.assignee_id or "")
    return form


def _decide_form(formdata=None) -> forms.DecideForm:
    kwargs = {} if formdata is not False else {"formdata": None}
    return forms.DecideForm(prefix="decide", **kwargs)


#: the outcome the decide form names -> the step it takes
OUTCOME_STEPS = {"corrected": "grant_corrected", "fell": "grant_fell"}


def _decision_step(submission: Submission, form: forms.DecideForm) -> str:
    if form.outcome.data != "granted":
        return "reject"
    if submission.kind is SubmissionKind.OBJECTION:
        return OUTCOME_STEPS.get(form.objection_outcome.data, "grant_corrected")
    return "grant"


def _offer(form: forms.DecideForm, allowed: set[str]) -> None:
    """Offer in the decide form only the outcomes the user may record now (the services refuse
    the others: a clerk cannot grant a defence, which drops the case)."""
    outcomes = {"granted": bool(allowed & {"grant", *OUTCOME_STEPS.values()}),
                "rejected": "reject" in allowed}
    form.outcome.choices = [c for c in form.outcome.choices if outcomes[c.value]]
    form.objection_outcome.choices = [c for c in form.objection_outcome.choices
                                      if OUTCOME_STEPS[c.value] in allowed]


def _step_labels(form: forms.DecideForm) -> dict[str, str]:
    outcomes = {c.value: c.label for c in form.outcome.choices}
    found = {"accept": _("Accept for review"), "request_material": _("Request more material"),
             "grant": str(outcomes["granted"]), "reject": str(outcomes["rejected"])}
    for c in form.objection_outcome.choices:
        found[OUTCOME_STEPS[c.value]] = f"{outcomes['granted']}: {c.label}"
    return found


def _render(submission: Submission, material=None, decide=None, refused: dict | None = None,
            status: int = 200):
    """The filing page; ``refused``: a step just refused, with why and what was typed."""
    case, profile = _profile_for(submission)
    calendar, today = load_calendar(db.session), clock.today()
    due = queries.due_of(submission.due_on, submission.kind.value, today, calendar,
                         submission.due_provisional,
                         paused=bool(profile.supplement_pauses_clock and submission.paused_since))
    names = queries.staff_names(db.session, [submission.assignee_id])
    user = current_user._get_current_object()
    handler = current_user.role in CASE_ROLES and scoping.may_write(submission.jurisdiction)
    verdicts = filing_steps.steps_for(user, submission, case, today, calendar) if handler else []
    allowed = {v.step for v in verdicts if v.allowed}
    decide_form = decide or _decide_form(formdata=False)
    labels_of = _step_labels(decide_form)
    _offer(decide_form, allowed)
    can_decide = bool(decide_form.outcome.choices)
    if refused is not None:
        on_page = {"request_material"} & allowed
        if can_decide:
            on_page |= {"grant", "reject", *OUTCOME_STEPS.values()}
        if refused["name"] in on_page:
            refused = dict(refused, kept=[])   # its form is on the page with what was typed
    return render_template(
        "admin/submission.html", submission=submission, case=case, profile=profile, deadline=due,
        names=names, trail=queries.submission_trail(db.session, submission),
        can_accept="accept" in allowed, can_request="request_material" in allowed,
        can_decide=can_decide, refused=refused, step_labels=labels_of,
        not_offered=[(labels_of[v.step], step_reason(v)) for v in verdicts if not v.allowed],
        can_open_case=(submission.kind is SubmissionKind.COMPLAINT
                       and submission.state in (S.UNDER_REVIEW, S.GRANTED)
                       and case_steps.can_open(user).allowed),
        material_form=material or forms.MaterialForm(prefix="material", formdata=None),
        decide_form=decide_form,
        assign_form=_assign_form(submission), handler=handler, local=clock.local,
        filer=access.filer_identity(submission),
        basis_label=basis_label, grade_panel=grade_complaints.panel(submission) if handler else None,
        **_exchanges(submission),
    ), status


def _exchanges(submission: Submission) -> dict:
    """The 补正 exchanges of the filing and the day a rectification was completed."""
    found, came_with = exchanges.exchanges(submission)
    rectified = (submission.details or {}).get("rectified_on") \
        if submission.kind is SubmissionKind.RECTIFICATION else None
    return {"exchanges": found, "came_with": came_with,
            "rectified_on": exchanges.day(rectified)}


@bp.get("/submissions/<int:submission_id>")
@role_required()
def submission(submission_id: int):
    return _render(_submission(submission_id))


class _Refusal(Exception):
    def __init__(self, verdict):
        super().__init__(verdict.reason)
        self.verdict = verdict


def _check(submission: Submission, step: str) -> Exception | None:
    """The refusal of ``step`` before anything typed is examined (None: allowed)."""
    verdict = filing_steps.check(current_user._get_current_object(), submission,
                                 db.session.get(Case, submission.case_id) if submission.case_id
                                 else None, step, clock.today(), load_calendar(db.session))
    return None if verdict.allowed else _Refusal(verdict)


def _refused(submission: Submission, exc: Exception, step: str, *, material=None, decide=None):
    """The filing page again with the refusal and what the user typed: 403 for who the user
    is, 409 for the state of the filing or its case, 400 for what was entered."""
    db.session.rollback()
    verdict = getattr(exc, "verdict", None)
    if isinstance(exc, cases.PermissionDenied):
        message, status = step_error(exc), 403
    elif verdict is not None:
        message, status = step_reason(verdict), 403 if verdict.refusal == FORBIDDEN else 409
    elif isinstance(exc, InvalidTransition):
        message, status = step_error(exc), 409
    elif isinstance(exc, submissions.SubmissionError):
        message = {
            "note_required": _("Say what material is needed."),
            "reasons_required": _("A decision states its reasons."),
            "outcome_required": _("An upheld objection states the corrected facts or reasons, "
                                  "or that the listing itself fell."),
            "case_state": _("The case is not in a state in which this decision can take effect."),
            "case_required": _("This filing is not linked to a case."),
        }.get(exc.code, _("The step could not be taken."))
        status = 409 if exc.code in ("case_state", "case_required") else 400
    else:
        message, status = step_error(exc), 400
    form = decide if decide is not None else material
    return _render(submission, material=material, decide=decide, status=status, refused={
        "name": step, "message": message, "kept": forms.typed_values(form) if form else []})


@bp.post("/submissions/<int:submission_id>/accept")
@role_required(*CASE_ROLES)
def accept(submission_id: int):
    sub = _submission(submission_id, write=True)
    _case, profile = _profile_for(sub)
    try:
        submissions.accept_for_review(db.session, current_user._get_current_object(), sub, profile,
                                      load_calendar(db.session), clock.today())
    except (cases.PermissionDenied, cases.CaseError, InvalidTransition,
            submissions.SubmissionError) as exc:
        return _refused(sub, exc, "accept")
    db.session.commit()
    flash(_("The filing is under review."), "info")
    return redirect(url_for(".submission", submission_id=sub.id))


@bp.post("/submissions/<int:submission_id>/material")
@role_required(*CASE_ROLES)
def material(submission_id: int):
    sub = _submission(submission_id, write=True)
    form = forms.MaterialForm(prefix="material")
    valid = form.validate_on_submit()
    refusal = _check(sub, "request_material")
    if refusal is not None:
        return _refused(sub, refusal, "request_material", material=form)
    if not valid:
        return _render(sub, material=form, status=400)
    _case, profile = _profile_for(sub)
    try:
        submissions.request_material(db.session, current_user._get_current_object(), sub,
                                     form.note.data, clock.today(), profile,
                                     load_calendar(db.session))
    except (cases.PermissionDenied, cases.CaseError, InvalidTransition,
            submissions.SubmissionError) as exc:
        return _refused(sub, exc, "request_material", material=form)
    db.session.commit()
    flash(_("More material has been requested; the party sees your note."), "info")
    return redirect(url_for(".submission", submission_id=sub.id))


@bp.post("/submissions/<int:submission_id>/decide")
@role_required(*CASE_ROLES)
def decide(submission_id: int):
    sub = _submission(submission_id, write=True)
    form = _decide_form()
    valid = form.validate_on_submit()
    step = _decision_step(sub, form)
    refusal = _check(sub, step)
    if refusal is not None:
        return _refused(sub, refusal, step, decide=form)
    if not valid:
        return _render(sub, decide=form, status=400)
    case, profile = _profile_for(sub)
    outcome = None
    if sub.kind is SubmissionKind.OBJECTION and form.objection_outcome.data in ("corrected", "fell"):
        outcome = submissions.ObjectionOutcome(
            listing_fell=form.objection_outcome.data == "fell",
            facts=form.corrected_facts.data or "", reasons=form.corrected_reasons.data or "")
    user = current_user._get_current_object()
    listed = case is not None and case.state in LISTED_STATES
    try:
        submissions.decide(db.session, user, sub, form.outcome.data == "granted",
                           form.reasons.data, profile, load_calendar(db.session),
                           current_app.config["PORTAL_LOOKUP_KEY"], clock.today(),
                           outcome=outcome)
        if listed and case.state is CaseState.REMOVED:
            # the removal the decision caused is an act like the removal step: its letter
            # is numbered in the register as it is taken
            register.issue_with_step(db.session, user, case, profile, "remove", clock.today())
    except (cases.PermissionDenied, cases.CaseError, InvalidTransition,
            submissions.SubmissionError) as exc:
        return _refused(sub, exc, step, decide=form)
    db.session.commit()
    flash(_("The decision has been recorded; the party sees it with its reasons."), "info")
    return redirect(url_for(".submission", submission_id=sub.id))


@bp.post("/submissions/<int:submission_id>/assign")
@role_required(*CASE_ROLES)
def assign(submission_id: int):
    sub = _submission(submission_id, write=True)
    form = _assign_form(sub)
    if not form.validate_on_submit():
        flash(_("Please choose a member of staff."), "error")
        return redirect(url_for(".submission", submission_id=sub.id))
    assignee = db.session.get(StaffUser, int(form.assignee.data)) if form.assignee.data else None
    try:
        changed = assignments.assign_submission(db.session, current_user, sub, assignee)
    except cases.PermissionDenied:
        db.session.rollback()
        return access.denied(_("Work can only be assigned to an active member of staff."))
    db.session.commit()
    if changed:
        flash(_("The filing is now handled by %(name)s.", name=assignee.display_name)
              if assignee else _("The filing is now unassigned."), "info")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/admin/") else
                    url_for(".submission", submission_id=sub.id))


@bp.get("/submissions/<int:submission_id>/files/<int:attachment_id>")
@role_required(*CASE_ROLES)
def attachment(submission_id: int, attachment_id: int):
    """Download one piece of evidence (audited: it may hold personal data)."""
    _submission(submission_id)          # another bureau's filing: refused (and audited) first
    found = db.session.get(Attachment, attachment_id)
    if found is None or found.submission_id != submission_id:
        abort(404)
    audit.record(db.session, Actor.staff(current_user), "submission.download", "submission",
                 found.submission.receipt_no, {"attachment": found.id})
    db.session.commit()
    return send_attachment(found)
