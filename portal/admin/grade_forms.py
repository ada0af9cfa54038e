"""Forms, labels and messages of the grade and red-list pages (Flask-WTF: CSRF on every POST)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, Optional

from portal import labels, threshold_messages
from portal.admin.forms import REQUIRED, CaseForm, _day, options
from portal.rules import grades as rules
from portal.rules import thresholds

FINDING_SOURCES = {
    "inspection": _l("Inspection or audit"),
    "case": _l("Listing case"),
    "complaint": _l("Verified complaint"),
    "false_complaint": _l("Complaint found false"),
}
FINDING_STATUSES = {
    "live": _l("Counts"),
    "withdrawn": _l("Withdrawn"),
    "annulled": _l("Annulled"),
}
UNIT_TYPES = {
    "employer": _l("Employer"),
    "medical_institution": _l("Agreement medical institution or retail pharmacy"),
    "person": _l("Individual"),
}
PROPOSAL_STATES = {
    "proposed": _l("Awaiting decision"),
    "admitted": _l("Admitted"),
    "refused": _l("Refused"),
}
REDLIST_REMOVAL_REASONS = {
    "criteria_no_longer_met": _l("Criteria no longer met"),
    "dishonest_conduct": _l("Dishonest conduct found"),
    "unit_request": _l("At the unit's request"),
    "admitted_in_error": _l("Admitted in error"),
    "listing_decision": _l("Listing decision (automatic)"),
}
OBSTACLES = {
    "listed": _l("The unit is on the dishonesty list."),
    "open_case": _l("A listing case about the unit is open."),
    "live_finding": _l("A finding of dishonest conduct still counts against the unit."),
    "on_red_list": _l("The unit is already on the red list."),
    "pending": _l("A red-list proposal for the unit is awaiting decision."),
    "criteria": _l("Not every applicable criterion is met."),
}


def grade_error(code: str) -> str:
    return {
        "no_grading": _("This profile has no catalogue of graded behaviours."),
        "unknown_behaviour": _("This behaviour does not apply to this subject."),
        "unit_kind": _("This behaviour does not apply to this kind of unit."),
        "threshold": _("The figures do not reach the behaviour's threshold."),
        "future": _("The date cannot lie in the future."),
        "facts_required": _("Describe the facts found."),
        "complaint_not_verified": _("Only a complaint that was verified (granted) can raise the "
                                    "reported unit's grade."),
        "complaint_not_rejected": _("Only a complaint that was rejected can be found false."),
        "not_a_unit": _("The reported party must be a registered unit."),
        "not_a_person": _("A false complaint is recorded against a person."),
        "reporter_named": _("The facts must not name or identify the complainant: the reported "
                            "party may see them."),
        "already_recorded": _("This behaviour has already been recorded for this complaint."),
        "anonymous": _("The complaint was anonymous: its complainant cannot be identified."),
        "reason_required": _("State the reason."),
        "not_live": _("The finding no longer counts."),
        "case_opened": _("A listing case has already been opened from this finding."),
        "no_ground": _("Only serious conduct with a listing ground leads to the blacklist."),
        "case_required": _("Name the listing case about this subject."),
        "complaint_required": _("Name the complaint."),
        "complaint_source": _("A complaint is recorded from the complaint's page."),
    }.get(code, _("The step could not be taken."))


def unit_mismatch(profile, subject, code: str) -> str | None:
    """Why behaviour ``code`` cannot be found against ``subject`` (None: it can) — the same
    rule (``rules.fits``) that ``services.grades.record_finding`` enforces."""
    item = rules.catalogue_item(profile, subject.kind.value, code)
    if item is None or rules.fits(item, subject.kind.value, subject.unit_kind):
        return None
    applies = _(", ").join(labels.label(labels.UNIT_KINDS, u) for u in labels.UNIT_KINDS
                          if u in item.units)
    return _("%(code)s applies only to: %(units)s. This unit is recorded as: %(kind)s. If that is "
             "wrong, correct the kind of unit first.", code=item.code, units=applies,
             kind=labels.label(labels.UNIT_KINDS, rules.unit_kind_of(subject.kind.value,
                                                                     subject.unit_kind)))


def redlist_error(code: str) -> str:
    return {
        "no_red_list": _("This profile has no red list."),
        "not_a_unit": _("Only units can be admitted to the red list."),
        "unit_type": _("Choose the type of unit."),
        "basis_required": _("Give the evidence for the criteria."),
        "decided": _("The proposal has already been decided."),
        "reason_required": _("State the reason."),
        "reason": _("Choose a reason."),
        "removed": _("The unit has already left the red list."),
    }.get(code, _("The step could not be taken."))


def code_choices(profile, kind: str, locale: str) -> list[SelectChoice]:
    """The catalogue for a subject kind as select options: code, grade and the start of the text."""
    out = []
    for item in rules.catalogue(profile, kind):
        text = item.text.get(locale)
        short = text if len(text) <= 70 else text[:69] + "…"
        out.append((item.code, f"{item.code} [{labels.label(labels.SEVERITIES, item.grade)}] {short}"))
    return options(out)


def _required():
    return DataRequired(message=REQUIRED)


class _GetForm(FlaskForm):
    class Meta:
        csrf = False


class LookupForm(_GetForm):
    q = StringField(_l("Name or code of the unit or person"), validators=[Optional(), Length(max=200)])


class SubjectForm(FlaskForm):
    """The subject fields of the new-case form (``subject_form.subject_input`` reads them)."""

    kind = CaseForm.kind
    name = CaseForm.name
    uscc = CaseForm.uscc
    org_code = CaseForm.org_code
    reg_no = CaseForm.reg_no
    legal_rep_name = CaseForm.legal_rep_name
    legal_rep_id = CaseForm.legal_rep_id
    resp1_name = CaseForm.resp1_name
    resp1_id = CaseForm.resp1_id
    resp2_name = CaseForm.resp2_name
    resp2_id = CaseForm.resp2_id
    id_number = CaseForm.id_number
    address = CaseForm.address
    unit_kind = CaseForm.unit_kind


def threshold_problem(profile, subject, code: str, amount, months) -> str | None:
    """The behaviour's threshold (Zhengzhou arrears by years) against the finding's figures, worded
    as on the case form (None: reached) — the rule ``record_finding`` enforces."""
    item = rules.catalogue_item(profile, subject.kind.value, code)
    short = item and thresholds.shortfall(item, thresholds.Figures(amount=amount, months=months))
    return threshold_messages.refusal(short) if short else None


def refuse_finding(form, profile, subject) -> bool:
    """Ask the rules ``record_finding`` enforces (the unit's kind, the behaviour's threshold);
    put the refusal on its field and return True when the finding does not fit."""
    mismatch = unit_mismatch(profile, subject, form.code.data)
    if mismatch:
        form.code.errors = [mismatch]
        return True
    short = threshold_problem(profile, subject, form.code.data, form.amount.data, form.months.data)
    if short:
        form.months.errors = [short]
        return True
    return False


class FindingForm(FlaskForm):
    code = SelectField(_l("Behaviour found"), validators=[_required()], choices=[])
    found_on = _day(_l("Found on"))
    amount = CaseForm.amount
    months = CaseForm.months
    source = SelectField(_l("Source"), validators=[_required()],
                         choices=options({"inspection": FINDING_SOURCES["inspection"],
                                          "case": FINDING_SOURCES["case"]}))
    case_no = StringField(_l("Case number (when found in a listing case)"), validators=[Length(max=40)])
    document_no = StringField(_l("Document number"), validators=[Length(max=60)])
    facts = TextAreaField(_l("Facts found"), validators=[_required(), Length(max=5000)])


class EndFindingForm(FlaskForm):
    action = RadioField(_l("What happened"), default="withdraw", validators=[_required()],
                        choices=options({"withdraw": _l("Withdrawn by the bureau"),
                                         "annul": _l("Annulled by reconsideration or a court")}))
    reason = TextAreaField(_l("Reason"), validators=[_required(), Length(max=2000)])


class EmptyForm(FlaskForm):
    pass


class UnitKindForm(FlaskForm):
    unit_kind = SelectField(_l("Kind of unit"), validators=[_required()],
                            choices=options(labels.UNIT_KINDS))


class FindingCaseForm(FlaskForm):
    """Open the listing case of a serious finding, with the figures its ground's threshold needs."""

    amount = CaseForm.amount
    months = CaseForm.months
    person_times = CaseForm.person_times
    alternative_met = CaseForm.alternative_met


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class ProposalForm(FlaskForm):
    unit_type = RadioField(_l("Type of unit"), default="employer", validators=[_required()],
                           choices=options({"employer": UNIT_TYPES["employer"],
                                            "medical_institution": UNIT_TYPES["medical_institution"]}))
    criteria = _Checkboxes(_l("Criteria met"), choices=[])
    basis = TextAreaField(_l("Evidence for the criteria"), validators=[_required(), Length(max=5000)])


class AdmitForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class RefuseForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[_required(), Length(max=2000)])


class RemoveEntryForm(FlaskForm):
    reason = SelectField(_l("Reason for removal"), validators=[_required()], choices=[])
    note = TextAreaField(_l("Note (internal)"), validators=[_required(), Length(max=2000)])


class ComplaintFindingForm(FlaskForm):
    code_of_unit = StringField(_l("Unified social credit code of the reported unit"),
                               validators=[_required(), Length(max=40)])
    code = SelectField(_l("Behaviour found"), validators=[_required()], choices=[])
    found_on = _day(_l("Found on"))
    amount = CaseForm.amount
    months = CaseForm.months
    document_no = StringField(_l("Document number"), validators=[Length(max=60)])
    facts = TextAreaField(_l("Facts found (do not name the complainant)"),
                          validators=[_required(), Length(max=5000)])


class FalseComplaintForm(FlaskForm):
    id_number = StringField(_l("Resident ID number of the complainant"),
                            validators=[_required(), Length(max=40)])
    found_on = _day(_l("Found on"))
    document_no = StringField(_l("Document number"), validators=[Length(max=60)])
    facts = TextAreaField(_l("Why the complaint is false"), validators=[_required(), Length(max=5000)])


# --------------------------------------------------------------------------
# The credit score and its score → grade table (Zhengzhou §三 ¶1)
# --------------------------------------------------------------------------

SCORE_SOURCES = {
    "finding": _l("Finding"),
    "complaint": _l("Complaint outcome"),
    "red_list": _l("Red-list criterion"),
}
COMPLAINT_OUTCOMES = {
    "verified": _l("Complaint about the unit verified"),
    "found_false": _l("Complaint found false"),
}
DECAYS = {
    "linear": _l("in full on the day the finding was made, then less each day, and nothing "
                 "from the day it no longer counts"),
    "none": _l("in full for as long as the finding counts"),
}
TABLE_STATES = {
    "proposed": _l("Awaiting decision"),
    "in_force": _l("In force"),
    "rejected": _l("Rejected"),
    "superseded": _l("Superseded"),
}


def score_table_error(code: str) -> str:
    return {
        "no_score": _("The rules of this bureau define no credit score."),
        "format": _("Write one band per line: the grade, a space and the minimum score "
                    "(for example: A 90)."),
        "too_few": _("A table needs at least two bands."),
        "too_many": _("A table has at most ten bands."),
        "grade": _("A grade is one to ten characters without spaces."),
        "score": _("A minimum score is a number between -1000 and 1000."),
        "duplicate_grade": _("Each grade may appear only once."),
        "duplicate_score": _("Two bands cannot have the same minimum score."),
        "note_required": _("Give the reason for the proposed table."),
        "reason_required": _("State the reason."),
        "decided": _("The proposal has already been decided."),
    }.get(code, _("The step could not be taken."))


class ScoreTableForm(FlaskForm):
    bands = TextAreaField(_l("Bands: one per line, the grade and the minimum score"),
                          validators=[_required(), Length(max=500)])
    note = TextAreaField(_l("Reason for the table"), validators=[_required(), Length(max=2000)])


class ApproveTableForm(FlaskForm):
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class RejectTableForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[_required(), Length(max=2000)])
