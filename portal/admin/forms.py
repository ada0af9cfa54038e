"""Back-office forms (Flask-WTF: every POST carries a CSRF token)."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from portal import clock, labels
from portal.admin import queries
from portal.models import CaseOrigin

REQUIRED = _l("This field is required.")
ALL = _l("All")


def options(*groups: Mapping | Iterable[tuple]) -> list[SelectChoice]:
    """The choices of a select or radio field, in order: each group is a mapping of value to
    label or a sequence of (value, label) pairs (WTForms 3.3 deprecates bare tuples)."""
    out = []
    for group in groups:
        pairs = group.items() if isinstance(group, Mapping) else group
        out += [SelectChoice(value, label) for value, label in pairs]
    return out


def _required():
    return DataRequired(message=REQUIRED)


def not_in_future(form, field) -> None:
    if field.data is not None and field.data > clock.today():
        raise ValidationError(_l("The date cannot lie in the future."))


def typed_values(form) -> list[tuple[str, str]]:
    """What the user typed in ``form``, as (label, text) pairs: shown again with a refusal so
    nothing typed is lost (a date the browser sent that did not parse: as it was sent)."""
    out = []
    for field in form:
        if field.type in ("CSRFTokenField", "HiddenField", "SubmitField", "FileField",
                          "BooleanField"):
            continue
        if field.type in ("RadioField", "SelectField"):
            value = dict((str(k), str(v)) for k, v, *_rest in field.iter_choices()
                         ).get(str(field.data), "") if field.data and field.choices else ""
        elif field.raw_data:
            value = " ".join(str(v) for v in field.raw_data)
        else:
            value = "" if field.data in (None, False) else str(field.data)
        if value.strip():
            out.append((str(field.label.text), value))
    return out


#: the days a filter or a record can name (day_start() of year 1 or 9999 overflows)
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def plausible_day(form, field) -> None:
    if field.data is not None and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(_l("Enter a date between %(first)s and %(last)s.",
                                 first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat()))


class AmountField(DecimalField):
    """A decimal of yuan: "NaN", "sNaN" and "Infinity" are no amount (WTForms takes them)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(AMOUNT_MESSAGE) from None
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(AMOUNT_MESSAGE)


AMOUNT_MESSAGE = _l("The amount must be a number of yuan from 0 with at most two decimals.")


def _day(label):
    return DateField(label, validators=[_required(), not_in_future, plausible_day],
                     default=lambda: clock.today())


# --------------------------------------------------------------------------
# Sign-in and account
# --------------------------------------------------------------------------

class LoginForm(FlaskForm):
    username = StringField(_l("User name"), validators=[_required(), Length(max=60)])
    password = PasswordField(_l("Password"), validators=[_required(), Length(max=200)])


class CodeForm(FlaskForm):
    code = StringField(_l("Six-digit code from the authenticator app"),
                       validators=[_required(), Length(max=12)])


class PasswordForm(FlaskForm):
    current = PasswordField(_l("Current password"), validators=[_required(), Length(max=200)])
    new = PasswordField(_l("New password"), validators=[_required(), Length(max=200)])
    confirm = PasswordField(_l("New password again"), validators=[_required(), Length(max=200)])

    def validate_confirm(self, field) -> None:
        if field.data != self.new.data:
            raise ValidationError(_l("The two new passwords differ."))


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------

class CaseForm(FlaskForm):
    kind = RadioField(_l("Kind of subject"), default="organisation", validators=[_required()],
                      choices=options({"organisation": _l("Organisation"), "person": _l("Individual")}))
    name = StringField(_l("Name"), validators=[_required(), Length(max=200)])
    uscc = StringField(_l("Unified social credit code"), validators=[Length(max=40)])
    org_code = StringField(_l("Organisation code (old records)"), validators=[Length(max=20)])
    reg_no = StringField(_l("Business registration number (old records)"),
                         validators=[Length(max=30)])
    legal_rep_name = StringField(_l("Legal representative or person in charge"),
                                 validators=[Length(max=100)])
    legal_rep_id = StringField(_l("ID number of the legal representative"),
                               validators=[Length(max=40)])
    resp1_name = StringField(_l("Responsible person"), validators=[Length(max=100)])
    resp1_id = StringField(_l("ID number of the responsible person"), validators=[Length(max=40)])
    resp2_name = StringField(_l("Second responsible person"), validators=[Length(max=100)])
    resp2_id = StringField(_l("ID number of the second responsible person"),
                           validators=[Length(max=40)])
    id_number = StringField(_l("Resident ID number"), validators=[Length(max=40)])
    address = StringField(_l("Address"), validators=[Length(max=300)])
    unit_kind = SelectField(_l("Kind of unit"), default="",
                            choices=options({"": _l("Not stated (an ordinary employer)")},
                                            labels.UNIT_KINDS))
    ground = SelectField(_l("Ground"), validators=[_required()], choices=[])
    origin = SelectField(_l("Origin of the case"), default=CaseOrigin.INSPECTION.value,
                         choices=options(labels.CASE_ORIGINS))
    facts = TextAreaField(_l("Facts"), validators=[_required(), Length(max=5000)])
    reasons = TextAreaField(_l("Reasons"), validators=[Length(max=5000)])
    document_no = StringField(_l("Document number"), validators=[Length(max=60)])
    amount = AmountField(_l("Amount involved (yuan)"), places=2,
                          validators=[Optional(), NumberRange(min=0, max=999999999999)])
    months = IntegerField(_l("Months (of arrears, of benefits drawn …)"),
                          validators=[Optional(), NumberRange(min=0, max=1200)])
    person_times = IntegerField(_l("Person-times"),
                                validators=[Optional(), NumberRange(min=0, max=10**7)])
    alternative_met = BooleanField(_l("Below the figures, but the alternative the ground names is "
                                      "established (e.g. not returned despite an order)"))
    department = StringField(_l("Deciding department"), validators=[Length(max=120)])
    department_contact = StringField(_l("Contact"), validators=[Length(max=120)])


class PreNoticeForm(FlaskForm):
    served_on = _day(_l("Served on"))


class DefenceForm(FlaskForm):
    received_on = _day(_l("Received on"))


class ReviewForm(FlaskForm):
    note = TextAreaField(_l("Review note"), validators=[Length(max=2000)])


class ProposeForm(FlaskForm):
    pass


class ApproveForm(FlaskForm):
    decided_on = _day(_l("Date of decision"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[_required(), Length(max=2000)])


class PublishForm(FlaskForm):
    published_on = _day(_l("Published on"))


class ShareForm(FlaskForm):
    shared_on = _day(_l("Uploaded on"))


class RemoveForm(FlaskForm):
    reason = SelectField(_l("Reason for removal"), validators=[_required()],
                         choices=options(labels.REMOVAL_REASONS))
    removed_on = _day(_l("Removed on"))
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class AssignForm(FlaskForm):
    assignee = SelectField(_l("Handled by"), choices=[], validate_choice=True)


class RevealForm(FlaskForm):
    target = StringField(validators=[_required(), Length(max=40)])


# --------------------------------------------------------------------------
# Submissions
# --------------------------------------------------------------------------

class MaterialForm(FlaskForm):
    note = TextAreaField(_l("What is missing (the party sees this note)"),
                         validators=[_required(), Length(max=2000)])


class DecideForm(FlaskForm):
    outcome = RadioField(_l("Outcome"), validators=[_required()],
                         choices=options({"granted": _l("Granted"), "rejected": _l("Rejected")}))
    reasons = TextAreaField(_l("Reasons (the party sees them)"),
                            validators=[_required(), Length(max=5000)])
    # An upheld objection (Shanghai art. 9): what is published from now on
    objection_outcome = RadioField(
        _l("If the objection is upheld"), validate_choice=False, default="",
        choices=options({"corrected": _l("The listing stands with corrected facts or reasons"),
                         "fell": _l("The listing itself fell: withdraw the entry")}))
    corrected_facts = TextAreaField(_l("Corrected facts (published in place of the contested text)"),
                                    validators=[Length(max=5000)])
    corrected_reasons = TextAreaField(_l("Corrected reasons (leave empty to keep them)"),
                                      validators=[Length(max=5000)])


# --------------------------------------------------------------------------
# Filters (GET, no CSRF)
# --------------------------------------------------------------------------

class _GetForm(FlaskForm):
    class Meta:
        csrf = False


#: The ``step`` filter of the case queue (``queries.READY_STEPS``): what the user may do now.
READY_LABELS = {"review": _l("Review (the defence came in, or its window closed)"),
                "approve": _l("Signature (proposals you did not prepare)")}


class CaseFilterForm(_GetForm):
    kind = SelectField(_l("Kind of subject"), choices=[], validate_choice=False)
    state = SelectField(_l("State"), choices=[], validate_choice=False)
    step = SelectField(_l("Ready for"), choices=[], validate_choice=False)
    assignee = SelectField(_l("Handled by"), choices=[], validate_choice=False)


class SubmissionFilterForm(_GetForm):
    kind = SelectField(_l("Kind of filing"), validate_choice=False,
                       choices=options({"": ALL,
                                        queries.ENDS_LISTING: _l("Any that may end a listing early")},
                                       labels.SUBMISSION_KINDS))
    state = SelectField(_l("State"), validate_choice=False,
                        choices=options({"": ALL}, labels.SUBMISSION_STATES,
                                        {queries.REPLIED: _l("Under review, more material received")}))
    assignee = SelectField(_l("Handled by"), choices=[], validate_choice=False)


class AuditFilterForm(_GetForm):
    actor = StringField(_l("Actor"), validators=[Optional(), Length(max=100)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=60)])
    entity_type = StringField(_l("Entity type"), validators=[Optional(), Length(max=30)])
    entity_id = StringField(_l("Entity"), validators=[Optional(), Length(max=60)])
    date_from = DateField(_l("From"), validators=[Optional(), plausible_day])
    date_to = DateField(_l("To"), validators=[Optional(), plausible_day])


# --------------------------------------------------------------------------
# Calendar and users (admin)
# --------------------------------------------------------------------------

class DayForm(FlaskForm):
    day = DateField(_l("Date"), validators=[_required()])
    is_workday = SelectField(_l("Kind of day"), choices=options({
        "0": _l("Day off (holiday)"), "1": _l("Working day (make-up day)")}))
    note = StringField(_l("Note"), validators=[Length(max=100)])


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file (date,is_workday,note)"))
    text = TextAreaField(_l("or paste the lines here"), validators=[Length(max=20000)])


class UserForm(FlaskForm):
    username = StringField(_l("User name"), validators=[_required(), Length(min=2, max=60)])
    display_name = StringField(_l("Full name"), validators=[_required(), Length(max=100)])
    role = SelectField(_l("Role"), choices=options(labels.ROLES))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=options(labels.ROLES))
