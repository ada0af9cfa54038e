"""Findings of catalogue behaviours (认定) and the grades they give (Zhengzhou §三, §四).

One function per state change, each audited; they flush, the caller commits.

* :func:`record_finding` — a clerk records that a subject committed a behaviour
  of the profile's catalogue; a serious finding removes the unit from the red
  list in the same transaction.
* :func:`record_complaint_finding` — the behaviour found when a complaint about
  a unit was verified (granted): the finding links the complaint. Whoever may
  decide complaints (clerk, reviewer, approver) records it.
* :func:`record_false_complaint` — a complaint found false puts a named
  complainant on the personal blacklist (the profile's false-complaint ground).
* :func:`withdraw_finding` / :func:`annul_finding` — the finding stops counting.
* :func:`open_case_from_finding` — a serious finding opens the listing case on
  the ground of the same code (only serious conduct leads to the blacklist).

The grade is never stored: :func:`standing_of` derives it with
``portal.rules.grades.standing``. Complainants stay confidential: a finding
against the reported unit may not name the complainant in its facts, because
facts can reach a listing case and its public entry.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import (
    Case,
    CaseOrigin,
    FindingSource,
    FindingStatus,
    GradeFinding,
    StaffUser,
    Subject,
    SubjectKind,
    Submission,
)
from portal.rules import grades as rules
from portal.rules import thresholds
from portal.rules.profiles import Profile
from portal.rules.workflow import SubmissionKind, SubmissionState
from portal.services import audit, cases, grade_steps, numbering, rules_of, scope, subjects
from portal.services.permissions import Verdict, require


def _enforce(verdict: Verdict, user: StaffUser | None):
    """The actor of an allowed step; ``PermissionDenied`` (who) or :class:`GradeError`
    (``not_live``, ``case_opened``: the finding's state)."""
    actor = require(verdict, user)
    if not verdict.allowed:
        raise GradeError(verdict.reason)
    return actor

ORIGIN_OF = {FindingSource.INSPECTION: CaseOrigin.INSPECTION, FindingSource.CASE: CaseOrigin.INSPECTION,
             FindingSource.COMPLAINT: CaseOrigin.REPORT, FindingSource.FALSE_COMPLAINT: CaseOrigin.REPORT}


class GradeError(ValueError):
    """The step is not possible with these data (``code`` says why)."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


@dataclass(frozen=True)
class FindingInput:
    code: str                 # behaviour (or, for persons, personal-blacklist ground) code
    found_on: dt.date
    facts: str
    source: FindingSource = FindingSource.INSPECTION
    document_no: str | None = None
    case: Case | None = None
    submission: Submission | None = None
    amount: Decimal | None = None      # figures the behaviour's threshold needs
    months: int | None = None
    #: The bureau recording it (``None``: its complaint's or case's, else the profile's).
    jurisdiction: str | None = None

    @property
    def figures(self) -> thresholds.Figures:
        return thresholds.Figures(amount=self.amount, months=self.months)

    def jurisdiction_for(self, profile: Profile) -> str:
        if self.jurisdiction:
            return self.jurisdiction
        if self.submission is not None and self.submission.jurisdiction:
            return self.submission.jurisdiction
        if self.case is not None:
            return self.case.jurisdiction
        return profile.code


# --------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------

def findings_of(session: Session, subject_id: int) -> list[GradeFinding]:
    return list(session.execute(
        sa.select(GradeFinding).where(GradeFinding.subject_id == subject_id)
        .order_by(GradeFinding.found_on.desc(), GradeFinding.id.desc())).scalars())


def findings_for_submission(session: Session, submission_id: int) -> list[GradeFinding]:
    return list(session.execute(
        sa.select(GradeFinding).where(GradeFinding.submission_id == submission_id)
        .order_by(GradeFinding.id)).scalars())


def standing_of(session: Session, profile: Profile, subject: Subject, today: dt.date) -> rules.Standing:
    return rules.standing(findings_of(session, subject.id), today, profile)


def _next_no(session: Session, profile: Profile, year: int) -> str:
    return numbering.next_number(session, GradeFinding.finding_no,
                                 f"{profile.code.upper()[:3]}-F{year}-")


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------

def _check_source(profile: Profile, subject: Subject, data: FindingInput) -> None:
    sub = data.submission
    if data.source in (FindingSource.COMPLAINT, FindingSource.FALSE_COMPLAINT):
        if sub is None or sub.kind is not SubmissionKind.COMPLAINT:
            raise GradeError("complaint_required")
    elif sub is not None:
        raise GradeError("complaint_source")
    if data.source is FindingSource.COMPLAINT:
        if sub.state is not SubmissionState.GRANTED:
            raise GradeError("complaint_not_verified")
        if subject.kind is not SubjectKind.ORGANISATION:
            raise GradeError("not_a_unit")
        facts = data.facts
        if any(v and len(v.strip()) >= 2 and v.strip() in facts
               for v in (sub.filer_name, sub.filer_contact, sub.filer_email)):
            raise GradeError("reporter_named")
    if data.source is FindingSource.FALSE_COMPLAINT:
        if sub.state is not SubmissionState.REJECTED:
            raise GradeError("complaint_not_rejected")
        if subject.kind is not SubjectKind.PERSON:
            raise GradeError("not_a_person")
        if data.code != (profile.grading.false_complaint_ground if profile.grading else None):
            raise GradeError("unknown_behaviour")
    if data.source is FindingSource.CASE:
        if data.case is None or data.case.subject_id != subject.id:
            raise GradeError("case_required")


def record_finding(session: Session, user: StaffUser | None, profile: Profile, subject: Subject,
                   data: FindingInput, today: dt.date,
                   jurisdiction: str | None = None) -> GradeFinding:
    """A finding of ``jurisdiction`` (a complaint's: the bureau it was addressed to; a case's:
    its bureau; ``None``: the one seeded from ``profile``), under that jurisdiction's profile."""
    actor = require(grade_steps.can_record(user, data.source), user)
    jurisdiction = jurisdiction or data.jurisdiction_for(profile)
    scope.require(session, user, jurisdiction)
    profile = rules_of.jurisdiction(session, jurisdiction, profile)
    if not rules.grading_enabled(profile):
        raise GradeError("no_grading")
    item = rules.catalogue_item(profile, subject.kind.value, data.code)
    if item is None:
        raise GradeError("unknown_behaviour")
    if not rules.fits(item, subject.kind.value, subject.unit_kind):
        raise GradeError("unit_kind")
    if thresholds.shortfall(item, data.figures) is not None:
        raise GradeError("threshold")
    if data.found_on > today:
        raise GradeError("future")
    facts = (data.facts or "").strip()
    if not facts:
        raise GradeError("facts_required")
    _check_source(profile, subject, data)
    if data.submission is not None and any(
            f.behaviour_code == item.code and f.status is FindingStatus.LIVE
            for f in findings_for_submission(session, data.submission.id)):
        raise GradeError("already_recorded")
    finding = GradeFinding(
        finding_no=_next_no(session, profile, today.year), profile=profile.code,
        jurisdiction=jurisdiction, subject=subject,
        behaviour_code=item.code, grade=item.grade, found_on=data.found_on, facts=facts,
        amount=data.amount, months=data.months,
        source=data.source, document_no=(data.document_no or "").strip() or None,
        submission_id=data.submission.id if data.submission else None,
        case_id=data.case.id if data.case else None, status=FindingStatus.LIVE,
        recorded_by_id=user.id if user else None)
    session.add(finding)
    session.flush()
    audit.record(session, actor, "grade.finding", "grade_finding", finding.finding_no, {
        "subject": subject.id, "behaviour": item.code, "grade": item.grade, "source": data.source.value,
        "found_on": data.found_on, "document_no": finding.document_no,
        "submission": data.submission.receipt_no if data.submission else None})
    # A red-list unit with a finding that counts is put before an approver (redlist.to_review):
    # one clerk's finding does not take a unit off the public red list.
    return finding


def record_complaint_finding(session: Session, user: StaffUser | None, profile: Profile,
                             submission: Submission, subject: Subject, code: str, facts: str,
                             found_on: dt.date, today: dt.date,
                             document_no: str | None = None,
                             figures: thresholds.Figures | None = None) -> GradeFinding:
    """The behaviour a verified complaint revealed: it raises the unit's grade."""
    profile = rules_of.submission(session, submission, profile)
    figures = figures or thresholds.Figures()
    return record_finding(session, user, profile, subject, FindingInput(
        code=code, found_on=found_on, facts=facts, source=FindingSource.COMPLAINT,
        document_no=document_no, submission=submission, amount=figures.amount,
        months=figures.months), today)


def record_false_complaint(session: Session, user: StaffUser | None, profile: Profile, key: str,
                           submission: Submission, id_number: str, facts: str, found_on: dt.date,
                           today: dt.date, document_no: str | None = None) -> GradeFinding:
    """A complaint found false: its named complainant goes on the personal blacklist.

    Anonymous complaints identify nobody and are refused. The complainant's ID
    number comes from the bureau's verification (the complaint form does not ask
    for it); the person is registered like any subject (validated, keyed hash).
    Raises ``subjects.SubjectError`` for an invalid ID number.
    """
    require(grade_steps.can_record(user, FindingSource.FALSE_COMPLAINT), user)
    scope.require(session, user, submission.jurisdiction)
    if submission.kind is not SubmissionKind.COMPLAINT:
        raise GradeError("complaint_required")
    if submission.anonymous or not (submission.filer_name or "").strip():
        raise GradeError("anonymous")
    profile = rules_of.submission(session, submission, profile)
    if profile.grading is None or profile.grading.false_complaint_ground is None:
        raise GradeError("no_grading")
    if submission.state is not SubmissionState.REJECTED:
        raise GradeError("complaint_not_rejected")
    person, _created = subjects.register_subject(session, user, key, subjects.SubjectInput(
        kind=SubjectKind.PERSON, name=submission.filer_name, id_number=id_number))
    return record_finding(session, user, profile, person, FindingInput(
        code=profile.grading.false_complaint_ground, found_on=found_on, facts=facts,
        source=FindingSource.FALSE_COMPLAINT, document_no=document_no, submission=submission), today)


def _end(session: Session, user: StaffUser | None, finding: GradeFinding, status: FindingStatus,
         reason: str, today: dt.date) -> None:
    step = "annul" if status is FindingStatus.ANNULLED else "withdraw"
    actor = require(grade_steps.check_finding(user, finding, step), user)
    scope.require(session, user, finding.jurisdiction)
    reason = (reason or "").strip()
    if not reason:
        raise GradeError("reason_required")
    _enforce(grade_steps.check_finding(user, finding, step), user)
    finding.status, finding.status_on, finding.status_reason = status, today, reason
    finding.status_by_id = user.id if user else None
    audit.record(session, actor, f"grade.finding.{status.value}", "grade_finding", finding.finding_no,
                 {"subject": finding.subject_id, "reason": reason, "on": today})
    session.flush()


def withdraw_finding(session: Session, user: StaffUser | None, finding: GradeFinding, reason: str,
                     today: dt.date) -> None:
    """The bureau takes a finding back (mistake, new facts): it no longer counts."""
    _end(session, user, finding, FindingStatus.WITHDRAWN, reason, today)


def annul_finding(session: Session, user: StaffUser | None, finding: GradeFinding, reason: str,
                  today: dt.date) -> None:
    """A finding set aside by reconsideration or a court: it no longer counts."""
    _end(session, user, finding, FindingStatus.ANNULLED, reason, today)


def open_case_from_finding(session: Session, user: StaffUser | None, profile: Profile,
                           finding: GradeFinding, today: dt.date, department: str = "",
                           department_contact: str = "",
                           figures: thresholds.Figures | None = None) -> Case:
    """Open the listing case of a serious finding, on the ground with the behaviour's code.

    ``figures``: what the ground's threshold needs (Zhengzhou ZS2: months and amount of the
    arrears); a finding records none, so they are given when the case is opened. Raises
    ``cases.BelowThreshold`` when they do not reach it."""
    _enforce(grade_steps.check_finding(user, finding, "open_case"), user)
    scope.require(session, user, finding.jurisdiction)
    profile = rules_of.own(finding, profile)
    subject = finding.subject
    ground = rules.serious_ground(profile, finding.behaviour_code, subject.kind.value)
    if ground is None:
        raise GradeError("no_ground")
    if figures is None or (figures.amount, figures.months, figures.person_times) == (None,) * 3:
        # the figures recorded with the finding (arrears: months and amount)
        figures = thresholds.Figures(amount=finding.amount, months=finding.months,
                                     alternative_met=bool(figures and figures.alternative_met))
    case = cases.open_case(session, user, profile, subject, cases.CaseInput(
        ground=ground.code, facts=finding.facts, origin=ORIGIN_OF[finding.source],
        document_no=finding.document_no, department=department,
        department_contact=department_contact, amount=figures.amount, months=figures.months,
        person_times=figures.person_times, alternative_met=figures.alternative_met,
        jurisdiction=finding.jurisdiction), today)
    finding.listing_case_id = case.id
    audit.record(session, audit.Actor.staff(user) if user else audit.SYSTEM, "grade.finding.case",
                 "grade_finding", finding.finding_no, {"case": case.case_no, "ground": ground.code})
    session.flush()
    return case
