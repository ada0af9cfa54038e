"""Forms of the submit blueprint (Flask-WTF: CSRF on every form, messages translated)."""
from __future__ import annotations

import re
import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from portal import labels
from portal.input_guard import EMAIL

PHONE = re.compile(r"^[0-9+\-\s()（）转]{6,40}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
BODY_MAX = 5000

OBJECTION_CHOICES = ("identity", "facts", "term", "not_listable", "other")
COMPLAINT_CHOICES = ("fraud", "unregistered", "arrears", "service_institution", "other")


def new_token() -> str:
    return secrets.token_urlsafe(24)


def _required(message):
    return DataRequired(message=message)


class DayField(DateField):
    """A date field whose parse error is our own translated message (not WTForms' built-in one)."""

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None        # empty or blanks only: the required check says what is missing
            self.raw_data = []      # (InputRequired looks at the raw input: "   " is no input)
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(_l("Enter the date in the form YYYY-MM-DD.")) from None


class PartyLoginForm(FlaskForm):
    case_no = StringField(_l("Case number"), [_required(_l("Enter the case number printed on your letter.")),
                                              Length(max=40)])
    access_code = StringField(_l("Access code"), [_required(_l("Enter the access code printed on your letter.")),
                                                  Length(max=24)])
    identifier = StringField(_l("Unified social credit code or ID card number"),
                             [_required(_l("Enter your unified social credit code or ID card number.")),
                              Length(max=30)])


class TrackLoginForm(FlaskForm):
    receipt_no = StringField(_l("Receipt number"), [_required(_l("Enter the receipt number.")),
                                                    Length(max=40)])
    query_code = StringField(_l("Query code"), [_required(_l("Enter the query code.")), Length(max=24)])


class FilingForm(FlaskForm):
    """Fields every filing has: the one-time token, who files, how to reach them.

    ``ORDER``: the fields (and file inputs) in the order the page shows them, which the
    error summary follows.
    """

    ORDER: tuple[str, ...] = ()

    token = HiddenField()
    filer_name = StringField(_l("Your name"), [_required(_l("Enter your name.")), Length(max=100)])
    filer_contact = StringField(_l("Telephone"), [
        _required(_l("Enter a telephone number so the bureau can reach you.")), Length(max=40),
        Regexp(PHONE, message=_l("Enter a telephone number using digits only."))])
    filer_email = StringField(_l("E-mail for notifications (optional)"), [
        Optional(), Length(max=200),
        Regexp(EMAIL, message=_l("Enter a valid e-mail address, or leave the field empty."))])

    def idempotency_token(self) -> str:
        """The form's token if well-formed; a fresh one otherwise (then no double-submit guard)."""
        value = self.token.data or ""
        return value if TOKEN.match(value) else new_token()


class DefenceForm(FilingForm):
    ORDER = ("body", "files", "filer_name", "filer_contact", "filer_email")
    body = TextAreaField(_l("Your statement and defence"), [
        _required(_l("Write your statement: which facts or reasons in the pre-notice you dispute, and why.")),
        Length(max=BODY_MAX)])


class ObjectionForm(FilingForm):
    ORDER = ("category", "body", "files", "filer_name", "filer_contact", "filer_email")
    category = RadioField(_l("What is wrong?"),
                          choices=[SelectChoice(c, labels.OBJECTION_GROUNDS[c]) for c in OBJECTION_CHOICES],
                          validators=[_required(_l("Choose what is wrong with the entry."))])
    body = TextAreaField(_l("What is wrong, and what are the correct facts?"), [
        _required(_l("Describe what is wrong and what the correct facts are.")), Length(max=BODY_MAX)])


class RectificationForm(FilingForm):
    ORDER = ("rectified_on", "body", "files", "filer_name", "filer_contact", "filer_email")
    rectified_on = DayField(_l("Date the problem was put right"),
                            [InputRequired(_l("Enter the date the problem was put right."))])
    body = TextAreaField(_l("What did you do to put it right?"), [
        _required(_l("Describe what you did, for example registration done or arrears paid, and when.")),
        Length(max=BODY_MAX)])


class RepairForm(FilingForm):
    ORDER = ("body", "files", "commitment_mode", "commitment_confirm", "commitment_file", "filer_name", "filer_contact", "filer_email")
    body = TextAreaField(_l("How have you fulfilled your obligations?"), [
        _required(_l("Describe how you corrected the conduct and fulfilled your obligations.")),
        Length(max=BODY_MAX)])
    commitment_mode = RadioField(_l("How do you make the commitment?"), default="online", choices=[
        SelectChoice("online", _l("I confirm the commitment online")),
        SelectChoice("paper", _l("I upload the printed commitment, signed (and sealed for a unit)")),
    ])
    commitment_confirm = BooleanField(_l("I have read this credit commitment and make it."))


def bureau_choices(items, locale) -> list[SelectChoice]:
    """The jurisdictions a report may be addressed to (the form offers them when several)."""
    return [SelectChoice("", _l("Choose the bureau"))] + [SelectChoice(i.code, i.name(locale)) for i in items]


class ComplaintForm(FilingForm):
    ORDER = ("jurisdiction", "reported_name", "reported_code", "reported_address", "category", "body",
             "files", "anonymous", "filer_name", "filer_contact", "filer_email")
    IDENTITY = ("filer_name", "filer_contact", "filer_email")
    #: Removed by the view when the portal serves one jurisdiction.
    jurisdiction = SelectField(_l("Which bureau is the report for?"), choices=[], validate_choice=True,
                               validators=[_required(_l("Choose the bureau the report is for."))])
    anonymous = BooleanField(_l("Report anonymously"))
    reported_name = StringField(_l("Name of the unit or person you report"), [
        _required(_l("Enter the name of the unit or person you report.")), Length(max=200)])
    reported_code = StringField(_l("Their unified social credit code (if known)"),
                                [Optional(), Length(max=30)])
    reported_address = StringField(_l("Address or place (if known)"), [Optional(), Length(max=200)])
    category = RadioField(_l("What is it about?"),
                          choices=[SelectChoice(c, labels.COMPLAINT_CATEGORIES[c]) for c in COMPLAINT_CHOICES],
                          validators=[_required(_l("Choose what the report is about."))])
    body = TextAreaField(_l("What happened?"), [
        _required(_l("Describe what happened, when and where, and who was involved.")),
        Length(max=BODY_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Name and telephone are required only for a named report (see validate).
        for name in ("filer_name", "filer_contact"):
            field = getattr(self, name)
            field.validators = [v for v in field.validators if not isinstance(v, DataRequired)]
            field.validators.insert(0, Optional())
            field.flags.required = False

    def validate(self, extra_validators=None):
        if self.anonymous.data:
            # An anonymous report keeps no identity, whatever was typed (or sent) before ticking.
            for name in self.IDENTITY:
                field = getattr(self, name)
                field.data, field.raw_data = "", []
        valid = super().validate(extra_validators)
        if not self.anonymous.data:
            for field, message in (
                (self.filer_name, _l("Enter your name, or tick 'Report anonymously'.")),
                (self.filer_contact, _l("Enter a telephone number, or tick 'Report anonymously'.")),
            ):
                if not (field.data or "").strip() and not field.errors:
                    field.errors.append(message)
                    valid = False
        return valid


def error_list(form, file_errors: dict[str, str]) -> list[tuple[str | None, str]]:
    """Every error of a round, in the page's order: (id of the element to go to, message).

    A choice of options leads to its first option; a hidden field (the token) to nothing.
    """
    found: list[tuple[str | None, str]] = []
    fields = {field.name: field for field in form}
    for name in dict.fromkeys([*form.ORDER, *fields, *file_errors]):
        if name in file_errors:
            found.append((name, file_errors[name]))
            continue
        field = fields.get(name)
        if field is None or not field.errors:
            continue
        anchor = None if field.type in ("HiddenField", "CSRFTokenField") else (
            f"{field.id}-0" if field.type == "RadioField" else field.id)
        found.extend((anchor, str(message)) for message in field.errors)
    return found


class ReplyForm(FlaskForm):
    body = TextAreaField(_l("Your reply"), [Optional(), Length(max=BODY_MAX)])
