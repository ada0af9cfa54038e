"""Credit grades in the back office (Zhengzhou §三, §四): subjects, findings, their grade.

``/admin/grades``: look up a unit or person; its page shows the grade derived
from the findings that still count, the history of findings, and the steps:
record a finding (clerk, reviewer), withdraw or annul one (reviewer,
approver), open the listing case of a serious finding (clerk, reviewer),
propose the unit for the red list (clerk, reviewer). The red-list queue
(:mod:`portal.admin.grade_redlist`) and the complaint outcomes
(:mod:`portal.admin.grade_complaints`) are views of this blueprint too.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock, threshold_messages
from portal.admin import access, grade_complaints, grade_redlist, grade_scores, scoping, subject_form
from portal.admin import forms as admin_forms
from portal.admin import grade_forms as gf
from portal.admin.access import CASE_ROLES, role_required
from portal.admin.messages import step_error
from portal.extensions import db
from portal.models import Case, FindingSource, GradeFinding, Subject, SubjectKind
from portal.rules import grades as rules
from portal.rules import identifiers, thresholds
from portal.rules.identifiers import mask_ric
from portal.rules.profiles import load_profile
from portal.security import lookup_hash
from portal.services import cases, grade_steps, grades, redlist, subjects

bp = Blueprint("grades", __name__, url_prefix="/grades")
#: who may open the pages of these steps (each step itself asks ``grade_steps``)
RECORDERS = grade_steps.RECORD_ROLES
ENDERS = grade_steps.END_ROLES


def _subject(subject_id: int) -> Subject:
    found = db.session.get(Subject, subject_id)
    if found is None:
        abort(404)
    return found


def standings(profile, subject_ids: list[int], today) -> dict[int, rules.Standing]:
    """The grade of each subject today (one query for all their findings)."""
    found: dict[int, list] = {i: [] for i in subject_ids}
    if subject_ids:
        for f in db.session.execute(scoping.current().filter(sa.select(GradeFinding).where(
                GradeFinding.subject_id.in_(subject_ids)), GradeFinding.jurisdiction)).scalars():
            found[f.subject_id].append(f)
    return {i: rules.standing(fs, today, profile) for i, fs in found.items()}


def _search(q: str) -> list[Subject]:
    q = q.strip()
    query = sa.select(Subject)
    normal = identifiers.normalise(q)
    match = [Subject.uscc == normal, Subject.org_code == normal, Subject.reg_no == normal,
             Subject.name.like(f"%{q}%")]
    try:                                   # a resident ID number: found by its keyed hash only
        identifiers.validate_ric(normal, today=clock.today())
    except identifiers.InvalidIdentifier:
        pass
    else:
        match.append(Subject.id_hash == lookup_hash(current_app.config["PORTAL_LOOKUP_KEY"], normal))
    query = query.where(sa.or_(*match))
    return list(db.session.execute(query.order_by(Subject.name).limit(50)).scalars())


@bp.get("/")
@role_required(*CASE_ROLES)
def index():
    profile, today = scoping.home_profile(), clock.today()
    form = gf.LookupForm(request.args)
    q = (form.q.data or "").strip() if form.validate() else ""
    found = _search(q) if q else []
    recent = list(db.session.execute(
        scoping.current().filter(sa.select(GradeFinding), GradeFinding.jurisdiction).order_by(GradeFinding.created_at.desc(), GradeFinding.id.desc())
        .limit(20)).scalars()) if not q else []
    return render_template(
        "admin/grades/index.html", form=form, q=q, found=found, recent=recent, profile=profile,
        enabled=rules.grading_enabled(profile),
        grades=standings(profile, [s.id for s in found], today), mask_ric=mask_ric,
        can_register=current_user.role in RECORDERS, gf=gf)


@bp.route("/subjects/new", methods=["GET", "POST"])
@role_required(*RECORDERS)
def new_subject():
    """Register a unit or person that no case has brought in yet."""
    form = gf.SubjectForm()
    if form.validate_on_submit():
        try:
            subject, created = subjects.register_subject(
                db.session, current_user._get_current_object(), current_app.config["PORTAL_LOOKUP_KEY"],
                subject_form.subject_input(form))
        except subjects.SubjectError as exc:
            db.session.rollback()
            subject_form.attach_error(form, exc)
        else:
            db.session.commit()
            if not created:
                flash(_("A subject with this code was already registered; its stored details "
                        "were used."), "info")
            return redirect(url_for(".subject", subject_id=subject.id))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/grades/subject_new.html", form=form), status


def _last_day(until):
    """Last day on which a finding counts (``until`` is the first day it no longer does)."""
    return until - dt.timedelta(days=1) if until else None


def _render(subject: Subject, *, finding_form=None, proposal_form=None, refused=None,
            status: int = 200):
    profile, today, locale = scoping.home_profile(), clock.today(), str(get_locale())
    mine = scoping.current()
    # a subject is in the one register of all bureaus; its findings are each bureau's own
    findings = [f for f in grades.findings_of(db.session, subject.id)
                if mine.can_read(f.jurisdiction)]
    standing = rules.standing(findings, today, profile)
    kind = subject.kind.value
    user = current_user._get_current_object()
    if finding_form is None:
        finding_form = gf.FindingForm(prefix="finding", formdata=None)
    finding_form.code.choices = gf.code_choices(profile, kind, locale)
    offers_red_list = bool(rules.red_list_criteria(profile)) and subject.kind is SubjectKind.ORGANISATION
    if proposal_form is None:
        proposal_form = gf.ProposalForm(prefix="proposal", formdata=None)
    grade_redlist.criteria_choices(proposal_form, profile, locale)
    obstacles = ()
    if offers_red_list:
        obstacles, _missing = redlist.obstacles(db.session, profile, subject, "employer",
                                                [c.code for c in rules.red_list_criteria(profile)], today)
    counting = {f.id for f in standing.counting}
    case_nos = dict(db.session.execute(sa.select(Case.id, Case.case_no).where(Case.id.in_(
        [f.listing_case_id for f in findings if f.listing_case_id]
        + [f.case_id for f in findings if f.case_id]))).all())
    items = {i.code: i for i in rules.catalogue(profile, kind)}
    score = grade_scores.subject_score(subject)
    return render_template(
        "admin/grades/subject.html", subject=subject, profile=profile, standing=standing,
        score=score, score_texts=grade_scores.contribution_texts(
            load_profile(score.profile) if score else profile, locale),
        findings=findings, counting=counting, items=items, case_nos=case_nos, locale=locale,
        enabled=rules.grading_enabled(profile), today=today, mask_ric=mask_ric,
        last_day=lambda f: _last_day(rules.counts_until(f.found_on, rules.counts_for(profile, f.grade))),
        standing_last=_last_day(standing.until), day_before=_last_day,
        serious_ground=lambda f: rules.serious_ground(profile, f.behaviour_code, kind),
        can_record=grade_steps.can_record(user).allowed,
        may_end=lambda f: grade_steps.check_finding(user, f, "withdraw").allowed,
        may_open=lambda f: grade_steps.check_finding(user, f, "open_case").allowed,
        can_propose=grade_steps.can_propose(user).allowed and offers_red_list,
        offers_red_list=offers_red_list,
        red_entries=[e for e in redlist.current_entries(db.session, today, subject.id)
                     if mine.can_read(e.jurisdiction)],
        pending=[p for p in redlist.pending_proposals(db.session, subject.id)
                 if mine.can_read(p.jurisdiction)], obstacles=obstacles,
        may_change=scoping.may_write, refused=refused,
        finding_form=finding_form, proposal_form=proposal_form,
        end_form=gf.EndFindingForm(prefix="end", formdata=None), empty_form=gf.EmptyForm(),
        case_form_for=lambda f: gf.FindingCaseForm(prefix=f"case{f.id}", formdata=None,
                                                   amount=f.amount, months=f.months), gf=gf,
        unit_kind_form=gf.UnitKindForm(prefix="unit_kind", formdata=None,
                                       unit_kind=rules.unit_kind_of(kind, subject.unit_kind)),
    ), status


@bp.get("/subjects/<int:subject_id>")
@role_required(*CASE_ROLES)
def subject(subject_id: int):
    return _render(_subject(subject_id))


@bp.post("/subjects/<int:subject_id>/findings")
@role_required(*RECORDERS)
def record(subject_id: int):
    found = _subject(subject_id)
    profile = scoping.home_profile()
    form = gf.FindingForm(prefix="finding")
    form.code.choices = gf.code_choices(profile, found.kind.value, str(get_locale()))
    if not form.validate_on_submit():
        return _render(found, finding_form=form, status=400)
    if gf.refuse_finding(form, profile, found):
        return _render(found, finding_form=form, status=400)
    source = FindingSource(form.source.data)
    case = None
    if source is FindingSource.CASE:
        case = db.session.execute(sa.select(Case).where(
            Case.case_no == (form.case_no.data or "").strip().upper(),
            scoping.current().where(Case.jurisdiction))).scalar_one_or_none()
    try:
        finding = grades.record_finding(db.session, current_user._get_current_object(), profile, found,
                                        grades.FindingInput(
                                            code=form.code.data, found_on=form.found_on.data,
                                            facts=form.facts.data, source=source, case=case,
                                            document_no=form.document_no.data,
                                            amount=form.amount.data, months=form.months.data,
                                            jurisdiction=scoping.home_code()),
                                        clock.today())
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except grades.GradeError as exc:
        db.session.rollback()
        (form.case_no if exc.code == "case_required" else form.code).errors = [gf.grade_error(exc.code)]
        return _render(found, finding_form=form, status=400)
    db.session.commit()
    flash(_("Finding %(no)s has been recorded.", no=finding.finding_no), "info")
    if finding.grade == "serious":
        flash(_("A serious finding leads to the blacklist: open the listing case from the finding."),
              "info")
    return redirect(url_for(".subject", subject_id=found.id))


@bp.post("/subjects/<int:subject_id>/unit-kind")
@role_required(*RECORDERS)
def unit_kind(subject_id: int):
    """State or correct the kind of unit the catalogue's behaviours are checked against."""
    found = _subject(subject_id)
    form = gf.UnitKindForm(prefix="unit_kind")
    if not form.validate_on_submit() or found.kind is not SubjectKind.ORGANISATION:
        abort(400)
    if subjects.set_unit_kind(db.session, current_user._get_current_object(), found,
                              form.unit_kind.data):
        db.session.commit()
        flash(_("The kind of unit has been recorded."), "info")
    return redirect(url_for(".subject", subject_id=found.id))


def _finding(finding_id: int) -> GradeFinding:
    """A finding the user may change (findings are only ever changed through this)."""
    found = db.session.get(GradeFinding, finding_id)
    if found is None:
        abort(404)
    scoping.guard(found.jurisdiction, "grade_finding", found.finding_no, write=True)
    return found


@bp.post("/findings/<int:finding_id>/end")
@role_required(*ENDERS)
def end(finding_id: int):
    finding = _finding(finding_id)
    form = gf.EndFindingForm(prefix="end")

    def refused(message: str, status: int):
        """The subject page again with why and the reason typed (nothing typed is lost)."""
        return _render(finding.subject, status=status, refused={
            "name": finding.finding_no, "message": message,
            "kept": admin_forms.typed_values(form)})

    if not form.validate_on_submit():
        return refused(_("State the reason."), 400)
    step = grades.annul_finding if form.action.data == "annul" else grades.withdraw_finding
    try:
        step(db.session, current_user._get_current_object(), finding, form.reason.data, clock.today())
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return refused(step_error(exc), 403)
    except grades.GradeError as exc:
        db.session.rollback()
        return refused(gf.grade_error(exc.code), 409 if exc.code == "not_live" else 400)
    db.session.commit()
    flash(_("The finding no longer counts towards the grade."), "info")
    return redirect(url_for(".subject", subject_id=finding.subject_id))


@bp.post("/subjects/<int:subject_id>/redlist")
@role_required(*RECORDERS)
def propose(subject_id: int):
    """Propose the unit for the red list with the criteria it meets (an approver decides)."""
    found = _subject(subject_id)
    profile = scoping.home_profile()
    form = gf.ProposalForm(prefix="proposal")
    grade_redlist.criteria_choices(form, profile, str(get_locale()))
    if not form.validate_on_submit():
        return _render(found, proposal_form=form, status=400)
    try:
        proposal = redlist.propose(db.session, current_user._get_current_object(), profile, found,
                                   form.unit_type.data, form.criteria.data or [], form.basis.data,
                                   clock.today(), jurisdiction=scoping.home_code())
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except redlist.RedListError as exc:
        db.session.rollback()
        form.criteria.errors = grade_redlist.refusal_messages(exc, profile, str(get_locale()))
        return _render(found, proposal_form=form, status=400)
    db.session.commit()
    flash(_("Red-list proposal %(no)s awaits an approver's decision.", no=proposal.proposal_no), "info")
    return redirect(url_for(".subject", subject_id=found.id))


@bp.post("/findings/<int:finding_id>/case")
@role_required(*RECORDERS)
def open_case(finding_id: int):
    finding = _finding(finding_id)
    form = gf.FindingCaseForm(prefix=f"case{finding_id}")
    if not form.validate_on_submit():
        flash(_("The figures are not valid numbers."), "error")
        return redirect(url_for(".subject", subject_id=finding.subject_id))
    figures = thresholds.Figures(amount=form.amount.data, months=form.months.data,
                                 person_times=form.person_times.data,
                                 alternative_met=bool(form.alternative_met.data))
    info = scoping.directory().get(finding.jurisdiction)
    try:
        case = grades.open_case_from_finding(
            db.session, current_user._get_current_object(), load_profile(finding.profile), finding,
            clock.today(), department_contact=info.contact_zh if info is not None
            else current_app.config.get("PORTAL_DEPARTMENT_CONTACT", ""),
            figures=figures)
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except cases.BelowThreshold as exc:
        db.session.rollback()
        flash(threshold_messages.refusal(exc.shortfall), "error")
        return redirect(url_for(".subject", subject_id=finding.subject_id))
    except (grades.GradeError, cases.CaseError) as exc:
        db.session.rollback()
        flash(gf.grade_error(getattr(exc, "code", "")), "error")
        return redirect(url_for(".subject", subject_id=finding.subject_id))
    db.session.commit()
    flash(_("Case %(no)s has been opened.", no=case.case_no), "info")
    return redirect(url_for("admin.cases.show", case_id=case.id))


bp.add_url_rule("/redlist", "redlist", grade_redlist.queue)
bp.add_url_rule("/redlist/proposals/<int:proposal_id>/admit", "admit", grade_redlist.admit,
                methods=["POST"])
bp.add_url_rule("/redlist/proposals/<int:proposal_id>/refuse", "refuse", grade_redlist.refuse,
                methods=["POST"])
bp.add_url_rule("/redlist/entries/<int:entry_id>/remove", "remove", grade_redlist.remove,
                methods=["POST"])
bp.add_url_rule("/score-table", "score_table", grade_scores.page)
bp.add_url_rule("/score-table/proposals", "propose_score_table", grade_scores.propose,
                methods=["POST"])
bp.add_url_rule("/score-table/<int:table_id>/approve", "approve_score_table",
                grade_scores.approve, methods=["POST"])
bp.add_url_rule("/score-table/<int:table_id>/reject", "reject_score_table", grade_scores.reject,
                methods=["POST"])
bp.add_url_rule("/complaints/<int:submission_id>", "complaint", grade_complaints.page)
bp.add_url_rule("/complaints/<int:submission_id>/finding", "complaint_finding",
                grade_complaints.record, methods=["POST"])
bp.add_url_rule("/complaints/<int:submission_id>/false", "false_complaint",
                grade_complaints.false, methods=["POST"])
