"""Forms of the report import and export pages (Flask-WTF: every POST carries a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectField
from wtforms.validators import DataRequired, Optional

from portal.admin.forms import options


class UploadForm(FlaskForm):
    file = FileField(_l("Report file (CSV or XLSX)"),
                     validators=[FileRequired(message=_l("Choose the file to upload."))])
    ground = SelectField(_l("Ground for rows without a ground code"), choices=[],
                         validators=[Optional()], validate_choice=True)


class BatchForm(FlaskForm):
    """Commit or discard a staged batch: the CSRF token is the whole form."""


class ExportForm(FlaskForm):
    period = SelectField(_l("Period"), choices=[], validators=[DataRequired()])
    file_format = RadioField(_l("File format"), default="xlsx",
                             choices=options({"xlsx": _l("Excel (XLSX)"),
                                              "csv": _l("CSV (opens in Excel)")}),
                             validators=[DataRequired()])
