"""Translated messages for the report import: file problems, refusals, row problems.

One wording for ``/admin/imports`` and the ``import-report`` command.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import ngettext

from portal import labels, threshold_messages
from portal.identifier_messages import identifier_error
from portal.rules import thresholds
from portal.rules.profiles import load_profile
from portal.services.report_files import HEADER_SEARCH_ROWS
from portal.services.report_format import ReportFormat


def column_name(fmt: ReportFormat, key: str, locale: str) -> str:
    col = fmt.column(key)
    return col.label.get(locale) if col is not None else key


def file_problem(code: str, params: dict, fmt: ReportFormat, locale: str) -> str:
    if code == "missing_columns":
        names = _(", ").join(column_name(fmt, k, locale) for k in params.get("columns", ()))
        if "ground" in params.get("columns", ()):
            return _("These columns are missing: %(names)s. (Without a ground code column, choose "
                     "the ground for the whole file on the form.)", names=names)
        return _("These columns are missing: %(names)s.", names=names)
    return {
        "empty": _("The file is empty."),
        "too_large": _("The file is larger than %(mb)s MB. Split the report into several files.",
                       mb=params.get("max_mb")),
        "too_many_rows": _("The file has more than %(max)s rows. Split the report into several "
                           "files.", max=params.get("max")),
        "encoding": _("The file is neither UTF-8 nor GB18030 text. Save it from Excel as "
                      "“CSV UTF-8” or as XLSX."),
        "not_a_table": _("The file cannot be read as a CSV or XLSX table."),
        "too_many_cells": _("The workbook holds more than %(max)s cells in one sheet: far more "
                            "than a report. Keep only the report's table and save it again.",
                            max=params.get("max")),
        "xls": _("Old Excel files (.xls) cannot be read. Save the file as XLSX or CSV."),
        "no_header": _("No header row with the column names of the template was found in the "
                       "first %(rows)s rows. Use the blank template.",
                       rows=params.get("rows") or HEADER_SEARCH_ROWS),
        "duplicate_header": _("Line %(line)s: a column appears twice in the header.",
                              line=params.get("line")),
        "no_rows": _("The file has a header row but no data rows."),
    }.get(code, _("The file cannot be imported."))


def import_problem(code: str, params: dict) -> str:
    return {
        "already_imported": _("This file was already imported (batch %(batch)s, %(date)s): the same "
                              "file cannot open cases twice.", batch=params.get("batch"),
                              date=params.get("date")),
        "unknown_ground": _("The profile has no ground %(ground)s.", ground=params.get("ground")),
        "has_errors": ngettext("Nothing was imported: %(num)d row has problems. Correct the file "
                               "and upload it again.", "Nothing was imported: %(num)d rows have "
                               "problems. Correct the file and upload it again.",
                               int(params.get("rows") or 0)),
        "discarded": _("This upload was discarded."),
        "not_staged": _("This upload can no longer be changed."),
        "not_found": _("There is no such upload."),
        "profile": _("This upload was checked against another profile (%(profile)s).",
                     profile=params.get("profile")),
        "row": _("Line %(line)s could not be imported; nothing was imported.",
                 line=params.get("line")),
    }.get(code, _("The import was refused."))


def _threshold_message(params: dict) -> str:
    """The ground's threshold and the row's figures, worded as on the case form."""
    ground = load_profile(params["profile"]).ground(params["ground"])
    figures = thresholds.Figures(
        amount=Decimal(params["amount"]) if params.get("amount") else None,
        months=params.get("months"))
    short = thresholds.shortfall(ground, figures)
    if short is None:
        return _("The figures do not reach the ground's threshold.")
    return threshold_messages.refusal(short)


def row_error(code: str, params: dict, fmt: ReportFormat, locale: str) -> str:
    column = column_name(fmt, params.get("column", ""), locale)
    if code == "threshold":
        return _threshold_message(params)
    if code == "identifier":
        return _("%(column)s: %(problem)s", column=column,
                 problem=identifier_error(params.get("kind", ""), params.get("reason", "")))
    messages = {
        "required": _("%(column)s: this field is required.", column=column),
        "required_unit": _("%(column)s: required when the subject is a unit.", column=column),
        "too_long": _("%(column)s: at most %(max)s characters.", column=column, max=params.get("max")),
        "number_cell": _("%(column)s: the number was stored as a number in Excel and has lost "
                         "digits. Format the column as text and enter it again.", column=column),
        "code_mismatch": _("%(column)s: does not match the unified social credit code of the same "
                           "row (its characters 9–17 are the organisation code).", column=column),
        "code_length": _("%(column)s: a unified social credit code or an ID number has 18 "
                         "characters, an organisation code 9.", column=column),
        "date": _("%(column)s: not a date. Write for example 2026-03-05, 2026/3/5 or "
                  "2026年3月5日.", column=column),
        "future_date": _("%(column)s: the date lies in the future.", column=column),
        "amount": _("%(column)s: not an amount. Write for example 35000, ¥35,000.00 or 3.5万元.",
                    column=column),
        "arrears": _("%(column)s: write the months and the amount, for example "
                     "“12个月，35000元”.", column=column),
        "integer": _("%(column)s: write a whole number.", column=column),
        "no_ground": _("No ground: fill in the ground code or choose a ground for the whole file."),
        "unknown_ground": _("%(column)s: the profile has no ground %(ground)s.", column=column,
                            ground=params.get("ground")),
        "ground_kind": _("Ground %(ground)s does not apply to this kind of subject (%(kind)s).",
                         ground=params.get("ground"),
                         kind=labels.label(labels.SUBJECT_KINDS, params.get("kind", ""))),
        "duplicate": _("The same subject and ground as line %(line)s.", line=params.get("line")),
        "ric_in_text": _("%(column)s: a resident ID number must not appear in free text: it would "
                         "be published.", column=column),
        "open_case": _("This subject already has an open case on this ground: %(case_no)s.",
                       case_no=params.get("case_no")),
    }
    return messages.get(code, _("This row cannot be imported."))


def row_warning(code: str, params: dict) -> str:
    if code == "existing_subject":
        if params.get("name"):
            return _("The subject is already on record as “%(name)s”: that record is used.",
                     name=params["name"])
        return _("The subject is already on record: that record is used.")
    return ""
