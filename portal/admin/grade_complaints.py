"""Complaint outcomes and grades (Zhengzhou §三 ¶3): views of the ``admin.grades`` blueprint.

A verified (granted) complaint about a unit: the deciding staff member records
the behaviour found, which raises the unit's grade. A complaint found false:
its named complainant goes on the personal blacklist (the profile's
false-complaint ground); an anonymous complaint identifies nobody. The
complainant's identity is shown to staff only and never reaches the reported
unit's findings (the service refuses facts that name the complainant).
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from portal import clock
from portal.admin import access, scoping, subject_form
from portal.admin import grade_forms as gf
from portal.admin.access import CASE_ROLES, role_required
from portal.admin.messages import step_error
from portal.extensions import db
from portal.models import FindingSource, Subject, SubjectKind, Submission
from portal.rules import grades as rules
from portal.rules import identifiers, thresholds
from portal.rules.workflow import SubmissionKind, SubmissionState
from portal.services import cases, grade_steps, grades, subjects

RECORDERS = grade_steps.COMPLAINT_ROLES


def panel(submission: Submission) -> dict | None:
    """What the filing page shows about grades for a complaint (None: nothing to show)."""
    profile = scoping.profile_of(submission.jurisdiction)
    if submission.kind is not SubmissionKind.COMPLAINT or not rules.grading_enabled(profile):
        return None
    return {
        "findings": grades.findings_for_submission(db.session, submission.id),
        "granted": submission.state is SubmissionState.GRANTED,
        "rejected": submission.state is SubmissionState.REJECTED,
        "identifiable": not submission.anonymous and bool((submission.filer_name or "").strip()),
    }


def _complaint(submission_id: int, *, write: bool = False) -> Submission:
    found = db.session.get(Submission, submission_id)
    if found is None or found.kind is not SubmissionKind.COMPLAINT:
        abort(404)
    scoping.guard(found.jurisdiction, "submission", found.receipt_no, write=write)
    return found


def _unit_choices(profile, locale: str) -> list[SelectChoice]:
    return gf.code_choices(profile, "organisation", locale)


def _render(sub: Submission, *, finding_form=None, false_form=None, status: int = 200):
    profile = scoping.profile_of(sub.jurisdiction)
    info = panel(sub)
    if info is None:
        abort(404)
    if finding_form is None:
        finding_form = gf.ComplaintFindingForm(prefix="unit", formdata=None)
        finding_form.code_of_unit.data = (sub.details or {}).get("reported_code", "")
    finding_form.code.choices = _unit_choices(profile, str(get_locale()))
    return render_template(
        "admin/grades/complaint.html", submission=sub, profile=profile, info=info,
        filer=access.filer_identity(sub),
        finding_form=finding_form,
        false_form=false_form or gf.FalseComplaintForm(prefix="false", formdata=None),
        can_record=(grade_steps.can_record(current_user._get_current_object(),
                                           FindingSource.COMPLAINT).allowed
                    and scoping.may_write(sub.jurisdiction)), gf=gf,
        ground=profile.ground(profile.grading.false_complaint_ground)
        if profile.grading.false_complaint_ground else None, locale=str(get_locale())), status


@role_required(*CASE_ROLES)
def page(submission_id: int):
    return _render(_complaint(submission_id))


def _find_unit(code: str) -> Subject | None:
    normal = identifiers.normalise(code or "")
    if not normal:
        return None
    return db.session.execute(sa.select(Subject).where(
        Subject.kind == SubjectKind.ORGANISATION,
        sa.or_(Subject.uscc == normal, Subject.org_code == normal, Subject.reg_no == normal))
        .limit(1)).scalar()


@role_required(*RECORDERS)
def record(submission_id: int):
    sub = _complaint(submission_id, write=True)
    profile = scoping.profile_of(sub.jurisdiction)
    form = gf.ComplaintFindingForm(prefix="unit")
    form.code.choices = _unit_choices(profile, str(get_locale()))
    if not form.validate_on_submit():
        return _render(sub, finding_form=form, status=400)
    unit = _find_unit(form.code_of_unit.data)
    if unit is None:
        form.code_of_unit.errors = [_("No unit with this code is registered: register it first.")]
        return _render(sub, finding_form=form, status=400)
    if gf.refuse_finding(form, profile, unit):
        return _render(sub, finding_form=form, status=400)
    try:
        finding = grades.record_complaint_finding(
            db.session, current_user._get_current_object(), profile, sub, unit, form.code.data,
            form.facts.data, form.found_on.data, clock.today(), form.document_no.data,
            thresholds.Figures(amount=form.amount.data, months=form.months.data))
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except grades.GradeError as exc:
        db.session.rollback()
        target = form.facts if exc.code == "reporter_named" else form.code
        target.errors = [gf.grade_error(exc.code)]
        return _render(sub, finding_form=form, status=400)
    db.session.commit()
    flash(_("Finding %(no)s has been recorded against %(name)s.", no=finding.finding_no,
            name=unit.name), "info")
    return redirect(url_for(".complaint", submission_id=sub.id))


@role_required(*RECORDERS)
def false(submission_id: int):
    sub = _complaint(submission_id, write=True)
    profile = scoping.profile_of(sub.jurisdiction)
    form = gf.FalseComplaintForm(prefix="false")
    if not form.validate_on_submit():
        return _render(sub, false_form=form, status=400)
    try:
        finding = grades.record_false_complaint(
            db.session, current_user._get_current_object(), profile,
            current_app.config["PORTAL_LOOKUP_KEY"], sub, form.id_number.data, form.facts.data,
            form.found_on.data, clock.today(), form.document_no.data)
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except subjects.SubjectError as exc:
        db.session.rollback()
        subject_form.attach_error(form, exc)
        return _render(sub, false_form=form, status=400)
    except grades.GradeError as exc:
        db.session.rollback()
        form.facts.errors = [gf.grade_error(exc.code)]
        return _render(sub, false_form=form, status=400)
    db.session.commit()
    flash(_("The complainant has been put on the personal blacklist (finding %(no)s).",
            no=finding.finding_no), "info")
    return redirect(url_for(".complaint", submission_id=sub.id))
