"""The case page and each step of the listing procedure (one service call per step)."""
from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock, labels, threshold_messages
from portal.admin import access, case_panels, forms, queries, scoping, subject_form
from portal.admin.access import CASE_ROLES, role_required
from portal.admin.messages import step_error, step_reason
from portal.admin.timeline import case_timeline
from portal.extensions import db
from portal.models import (
    Case,
    CaseOrigin,
    PersonRole,
    RelatedPerson,
    Role,
    StaffUser,
    Submission,
)
from portal.rules import terms
from portal.rules.identifiers import mask_ric
from portal.rules.profiles import load_profile
from portal.rules.workflow import (
    InvalidTransition,
    RemovalReason,
    SubmissionKind,
    SubmissionState,
)
from portal.services import assignments, audit, case_steps, cases, subjects
from portal.services import letters as register
from portal.services.audit import Actor
from portal.services.calendar import load_calendar
from portal.services.permissions import FORBIDDEN, Verdict

bp = Blueprint("cases", __name__, url_prefix="/cases")

#: step -> its form
STEP_FORMS = {
    "pre_notice": forms.PreNoticeForm,
    "defence": forms.DefenceForm,
    "review": forms.ReviewForm,
    "propose": forms.ProposeForm,
    "approve": forms.ApproveForm,
    "send_back": forms.ReasonForm,
    "drop": forms.ReasonForm,
    "publish": forms.PublishForm,
    "share": forms.ShareForm,
    "remove": forms.RemoveForm,
}


def _case(case_id: int, *, write: bool = False) -> Case:
    """The case, if the signed-in member of staff may read it (``write``: change it)."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    scoping.guard(case.jurisdiction, "case", case.case_no, write=write)
    return case


def _assign_form(assignee_id: int | None, jurisdiction: str) -> forms.AssignForm:
    form = forms.AssignForm(prefix="assign")
    form.assignee.choices = forms.options({"": _("Nobody")}, [
        (str(u.id), f"{u.display_name} ({labels.label(labels.ROLES, u.role)})")
        for u in queries.handlers(db.session, scoping.members_of(jurisdiction))])
    if not form.is_submitted():
        form.assignee.data = str(assignee_id or "")
    return form


def _render(case: Case, *, revealed: dict | None = None, step_forms: dict | None = None,
            refused: dict | None = None, status: int = 200):
    """The case page; ``refused``: a step just refused (its name, why, and the form with what
    the user typed, shown again so nothing typed is lost)."""
    profile = load_profile(case.profile)
    calendar = load_calendar(db.session)
    today = clock.today()
    locale = str(get_locale())
    subject = case.subject
    # A bureau above reads its counties' cases but takes no step in them (谁认定、谁负责).
    verdicts = case_steps.steps_for(current_user._get_current_object(), case, today) \
        if scoping.may_write(case.jurisdiction) else []
    steps = [{"name": v.step, "allowed": v.allowed, "reason": None if v.allowed else step_reason(v)}
             for v in verdicts]
    step_forms = step_forms or {}
    for step in verdicts:
        if step.allowed and step.step not in step_forms:
            step_forms[step.step] = STEP_FORMS[step.step](prefix=step.step, formdata=None)
    names = queries.staff_names(db.session, [case.prepared_by_id, case.approved_by_id,
                                             case.assignee_id])
    ground = profile.ground(case.ground)
    return render_template(
        "admin/case.html", case=case, subject=subject, profile=profile, ground=ground,
        timeline=case_timeline(case, profile, calendar, today, locale), steps=steps,
        step_forms=step_forms, refused=refused, names=names, trail=queries.case_trail(db.session, case),
        revealed=revealed or {}, mask_ric=mask_ric, can_reveal=current_user.role in CASE_ROLES,
        local=clock.local,
        assign_form=_assign_form(case.assignee_id, case.jurisdiction), locale=locale, today=today,
        may_change=scoping.may_write(case.jurisdiction),
        jurisdiction_name=scoping.label(case.jurisdiction),
        decided_validity=terms.profile_warning(profile, case.decided_on) if case.decided_on
        else None,
        filings=case_panels.filings(db.session, case, today, calendar,
                                    bool(profile.supplement_pauses_clock)),
        clocks=case_panels.clocks(db.session, case, profile, calendar, today),
    ), status


#: A complaint can open a case while it is being examined or once it is upheld.
COMPLAINT_OPENS_CASE = (SubmissionState.UNDER_REVIEW, SubmissionState.GRANTED)


def _source_complaint() -> Submission | None:
    """``?complaint=<id>``: the complaint this case is opened from (SPEC §4 step 1, §6)."""
    raw = request.args.get("complaint", "")
    if not raw:
        return None
    found = db.session.get(Submission, int(raw)) if raw.isdigit() else None
    if (found is None or found.kind is not SubmissionKind.COMPLAINT
            or found.state not in COMPLAINT_OPENS_CASE):
        abort(404)
    scoping.guard(found.jurisdiction, "submission", found.receipt_no, write=True)
    return found


def _new_case_jurisdiction(complaint: Submission | None):
    """The bureau a new case is opened under: the complaint's, the one the form names (a
    writable one; another is refused and audited), or the only one the user works for."""
    choices = scoping.jurisdiction_choices()
    if complaint is not None:
        return complaint.jurisdiction, choices
    raw = (request.form if request.method == "POST" else request.args).get("jurisdiction") or ""
    if raw and raw not in {code for code, _name in choices}:
        scoping.guard(raw, "jurisdiction", raw, write=True)
    return (raw or (choices[0][0] if choices else None)), choices


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.CLERK, Role.REVIEWER)
def new():
    """Open a case: the subject (validated identifiers) and the ground, facts and origin, under
    the rules of the jurisdiction it is opened in."""
    complaint = _source_complaint()
    code, choices = _new_case_jurisdiction(complaint)
    info = scoping.directory().get(code)
    if info is None and scoping.current().everything:
        info = scoping.home()           # a single city's portal: every filing is its own
    if info is None:
        return access.denied(_("You do not work for any bureau: an administrator adds you to "
                               "one before you can open cases."))
    profile, locale = info.rules, str(get_locale())
    form = forms.CaseForm()
    form.ground.choices = subject_form.ground_choices(profile, locale)
    if not form.is_submitted() and complaint is not None:
        # The reported party only: the complainant's identity never enters a case.
        form.origin.data, form.name.data = CaseOrigin.REPORT.value, complaint.reported_name or ""
    if not form.is_submitted():
        form.department.data = (info.department_names("zh") or [profile.authority.zh])[0]
        form.department_contact.data = info.contact_zh
    if form.validate_on_submit() and not subject_form.below_threshold(form, profile):
        key = current_app.config["PORTAL_LOOKUP_KEY"]
        try:
            subject, created = subjects.register_subject(
                db.session, current_user, key, subject_form.subject_input(form))
            case = cases.open_case(
                db.session, current_user, profile, subject,
                replace(subject_form.case_input(form, info.contact_zh), jurisdiction=info.code),
                clock.today())
        except subjects.SubjectError as exc:
            db.session.rollback()
            subject_form.attach_error(form, exc)
        except cases.BelowThreshold as exc:
            db.session.rollback()
            subject_form.attach_threshold(form, exc.shortfall)
        except cases.CaseError:
            db.session.rollback()
            form.ground.errors = [_("This ground does not apply to this kind of subject.")]
        except cases.PermissionDenied as exc:
            db.session.rollback()
            return access.denied(step_error(exc))
        else:
            if complaint is not None:
                audit.record(db.session, Actor.staff(current_user), "complaint.case", "submission",
                             complaint.receipt_no, {"case": case.case_no})
            db.session.commit()
            flash(_("Case %(no)s has been opened.", no=case.case_no), "info")
            if not created:
                flash(_("A subject with this code was already registered; its stored details "
                        "were used."), "info")
            return redirect(url_for(".show", case_id=case.id))
    status = 400 if form.is_submitted() else 200
    thresholds = [(g.code, threshold_messages.requirement(g.threshold))
                  for g in profile.grounds if g.threshold is not None]
    return render_template("admin/case_new.html", form=form, profile=profile,
                           complaint=complaint, thresholds=thresholds, jurisdiction=info,
                           jurisdiction_choices=choices if complaint is None else [],
                           departments=info.department_names("zh")), status


@bp.get("/<int:case_id>")
@role_required()
def show(case_id: int):
    return _render(_case(case_id))


#: step -> (its date field, the case date it cannot precede)
DATE_ORDER = {
    "pre_notice": ("served_on", "opened_on"),
    "defence": ("received_on", "pre_notice_served_on"),
    "approve": ("decided_on", "pre_notice_served_on"),
    "publish": ("published_on", "decided_on"),
    "share": ("shared_on", "decided_on"),
    "remove": ("removed_on", "decided_on"),
}


def _date_in_order(name: str, case: Case, form) -> bool:
    """A typing slip (2025 for 2026) would give nonsense deadlines: dates follow the procedure."""
    if name not in DATE_ORDER:
        return True
    field_name, earlier = DATE_ORDER[name]
    field, floor = getattr(form, field_name), getattr(case, earlier)
    if floor is not None and field.data is not None and field.data < floor:
        field.errors = list(field.errors or []) + [
            _("The date cannot lie before %(date)s, the date of the previous step.",
              date=floor.isoformat())]
        return False
    return True


def _run_step(name: str, case: Case, form, key: str):
    """Call the service of step ``name``; returns an access code when the step issues one."""
    profile = load_profile(case.profile)
    session, user = db.session, current_user._get_current_object()
    if name == "pre_notice":
        return cases.serve_pre_notice(session, user, case, profile, load_calendar(session),
                                      form.served_on.data)
    if name == "defence":
        cases.record_defence(session, Actor.staff(user), case, form.received_on.data)
    elif name == "review":
        cases.complete_review(session, user, case, clock.today(), form.note.data or "")
    elif name == "propose":
        cases.propose_listing(session, user, case)
    elif name == "approve":
        return cases.approve_listing(session, user, case, profile, load_calendar(session),
                                     form.decided_on.data)
    elif name == "send_back":
        cases.send_back(session, user, case, form.reason.data)
    elif name == "drop":
        cases.drop_case(session, user, case, form.reason.data)
    elif name == "publish":
        cases.publish_case(session, user, case, profile, key, form.published_on.data)
    elif name == "share":
        cases.mark_shared(session, user, case, form.shared_on.data)
    elif name == "remove":
        cases.remove_case(session, user, case, profile, key, RemovalReason(form.reason.data),
                          form.removed_on.data, form.note.data or "")
    return None


def _done_message(name: str) -> str:
    return {
        "defence": _("The defence has been recorded."),
        "review": _("The review is complete."),
        "propose": _("The listing has been proposed for approval."),
        "send_back": _("The proposal has been sent back."),
        "drop": _("The case has been dropped."),
        "publish": _("The listing is published on the portal."),
        "share": _("The upload to the sharing platform has been recorded."),
        "remove": _("The subject has been removed from the list."),
    }.get(name, _("Done."))


def status_of(verdict: Verdict | None) -> int:
    """403 for who the user is, 409 for the state or the time of the record."""
    return 403 if verdict is not None and verdict.refusal == FORBIDDEN else 409


def _refused(case: Case, name: str, form, message: str, status: int):
    """The case page again, with the refusal and what the user typed (nothing is lost)."""
    return _render(case, step_forms={name: form},
                   refused={"name": name, "message": message,
                            "kept": forms.typed_values(form)}, status=status)


@bp.post("/<int:case_id>/step/<name>")
@role_required(*CASE_ROLES)
def step(case_id: int, name: str):
    if name not in STEP_FORMS:
        abort(404)
    case = _case(case_id, write=True)
    form = STEP_FORMS[name](prefix=name)
    valid = form.validate_on_submit()    # binds what was typed, kept on every refusal
    verdict = case_steps.check(current_user._get_current_object(), case, name, clock.today())
    if not verdict.allowed:
        return _refused(case, name, form, step_reason(verdict), status_of(verdict))
    if not (valid and _date_in_order(name, case, form)):
        flash(_("Please correct the marked fields."), "error")
        return _render(case, step_forms={name: form}, status=400)
    try:
        code = _run_step(name, case, form, current_app.config["PORTAL_LOOKUP_KEY"])
        register.issue_with_step(db.session, current_user._get_current_object(), case,
                                 load_profile(case.profile), name, clock.today())
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return _refused(case, name, form, step_error(exc), 403)
    except (cases.NotYet, InvalidTransition) as exc:
        db.session.rollback()
        return _refused(case, name, form, step_error(exc), 409)
    except cases.CaseError as exc:
        db.session.rollback()
        return _refused(case, name, form, step_error(exc), 400)
    db.session.commit()
    if code is not None:
        # Shown once: only a hash is stored. The page is not cached (no-store).
        return render_template("admin/access_code.html", case=case, code=code, step=name)
    flash(_done_message(name), "info")
    return redirect(url_for(".show", case_id=case.id))


@bp.post("/<int:case_id>/assign")
@role_required(*CASE_ROLES)
def assign(case_id: int):
    case = _case(case_id, write=True)
    form = _assign_form(case.assignee_id, case.jurisdiction)
    if not form.validate_on_submit():
        flash(_("Please choose a member of staff."), "error")
        return redirect(url_for(".show", case_id=case.id))
    assignee = db.session.get(StaffUser, int(form.assignee.data)) if form.assignee.data else None
    try:
        changed = assignments.assign_case(db.session, current_user, case, assignee)
    except cases.PermissionDenied:
        db.session.rollback()
        return access.denied(_("Work can only be assigned to an active member of staff."))
    db.session.commit()
    if changed:
        flash(_("The case is now handled by %(name)s.", name=assignee.display_name)
              if assignee else _("The case is now unassigned."), "info")
    back = request.form.get("back") or ""
    return redirect(back if back.startswith("/admin/") else url_for(".show", case_id=case.id))


@bp.post("/<int:case_id>/reveal")
@role_required(*CASE_ROLES)
def reveal(case_id: int):
    """Show one full ID number on this response only; every reveal is audited."""
    case = _case(case_id)
    form = forms.RevealForm()
    if not form.validate_on_submit():
        abort(400)
    subject, target = case.subject, form.target.data
    if target == "subject" and subject.id_number:
        number, person = subject.id_number, None
    elif target.startswith("person-") and target[7:].isdigit():
        person = db.session.get(RelatedPerson, int(target[7:]))
        if person is None or person.subject_id != subject.id or not person.id_number:
            abort(404)
        number = person.id_number
    else:
        abort(404)
    audit.record(db.session, Actor.staff(current_user), "subject.reveal_id", "subject", subject.id, {
        "case": case.case_no,
        "whose": "subject" if person is None else (
            "legal_representative" if person.role is PersonRole.LEGAL_REPRESENTATIVE
            else "responsible"),
        "person": None if person is None else person.id,
    })
    db.session.commit()
    return _render(case, revealed={target: number})
