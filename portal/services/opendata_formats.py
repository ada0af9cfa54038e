"""Open-data exports of the public projection: CSV, XLSX and JSON, written to files.

Rows are read in id-ordered chunks (keyset pagination, ``CHUNK`` rows per
query, plain column tuples so nothing accumulates in the session) and written
out as they come, so memory stays flat at any size. CSV is UTF-8 with a
byte-order mark so that Excel opens it as UTF-8; its header row is translated.
JSON uses the stable machine field names of :mod:`portal.services.serializers`.
XLSX is written by openpyxl in write-only mode. :mod:`portal.services.opendata_files`
builds the files once per publication version and serves them.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from portal import clock, labels
from portal.models import PublicationWithdrawal, PublishedEntry, RemovalNotice
from portal.services import serializers
from portal.services.public_queries import LISTED, notice_public, within

CHUNK = 2000
XLSX_MAX_ROWS = 1_048_575          # Excel: 1,048,576 rows per sheet, one of them the header
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

_ENTRY_FIELDS = (
    "id", "public_id", "name", "subject_kind", "code_display", "ground_code", "ground_text",
    "ground_text_en", "severity", "listed_on", "term_start", "term_last_day", "leaves_list_on",
    "department",
    "under_objection", "profile", "jurisdiction",
)
_REMOVAL_FIELDS = (
    "id", "public_id", "profile", "name", "subject_kind", "code_display", "ground_code",
    "ground_text", "listed_on", "removed_on", "reason", "department", "entry_public_id",
    "jurisdiction",
)

# Column (machine field of the JSON row, translated header). Dates stay ISO in CSV.
_COMMON_HEAD = [
    ("public_id", _l("Public ID")),
    ("name", _l("Party name")),
    ("subject_kind", _l("Subject kind")),
    ("code", _l("Code (identity card numbers masked)")),
    ("ground_code", _l("Ground code")),
    ("ground_text", _l("Ground")),
]
ENTRY_COLUMNS = _COMMON_HEAD + [
    ("severity", _l("Severity")),
    ("listed_on", _l("Date of the listing decision")),
    ("term_start", _l("Term start")),
    ("term_last_day", labels.TERM_LAST_DAY),
    ("leaves_list_on", labels.LEAVES_LIST_ON),
    ("department", _l("Deciding department")),
    ("under_objection", _l("Under objection")),
    ("url", _l("Entry page")),
    ("jurisdiction", _l("Jurisdiction code")),
]
REMOVAL_COLUMNS = _COMMON_HEAD + [
    ("listed_on", _l("Date of the listing decision")),
    ("removed_on", _l("Date of removal")),
    ("reason", _l("Reason code")),
    ("reason_text", _l("Reason for removal")),
    ("department", _l("Deciding department")),
    ("entry_url", _l("Entry page")),
    ("jurisdiction", _l("Jurisdiction code")),
]
#: Records no longer published (Order 36): the deletions a copy of the list must apply.
_WITHDRAWAL_FIELDS = ("id", "topic", "public_id", "withdrawn_on", "reason", "jurisdiction")
WITHDRAWAL_COLUMNS = [
    ("public_id", _l("Public ID")),
    ("type", _l("Kind of record")),
    ("withdrawn_on", _l("No longer published since")),
    ("reason", _l("Reason code")),
    ("reason_text", _l("Reason")),
    ("jurisdiction", _l("Jurisdiction code")),
]
_DATE_FIELDS = {"listed_on", "term_start", "term_last_day", "leaves_list_on", "removed_on", "withdrawn_on"}
_WIDTHS = {"public_id": 14, "name": 36, "code": 22, "ground_text": 48, "department": 28,
           "url": 40, "entry_url": 40, "reason_text": 24}


@dataclass(frozen=True)
class Scope:
    """Which jurisdictions an export file holds: ``code`` (None: the whole portal), the codes
    of it and those below it (None: all), the one profile they follow (None: several)."""

    code: str | None
    codes: frozenset[str] | None
    profile: str | None


@dataclass(frozen=True)
class Dataset:
    name: str
    sheet_title: object
    columns: list
    model: type
    fields: tuple
    where: Callable[[], object]


DATASETS = {
    "entries": Dataset("entries", _l("Current list"), ENTRY_COLUMNS, PublishedEntry,
                       _ENTRY_FIELDS, lambda: LISTED),
    "removals": Dataset("removals", _l("Removals"), REMOVAL_COLUMNS, RemovalNotice,
                        _REMOVAL_FIELDS, notice_public),
    "withdrawals": Dataset("withdrawals", _l("No longer published"), WITHDRAWAL_COLUMNS,
                           PublicationWithdrawal, _WITHDRAWAL_FIELDS, sa.true),
}


def iter_rows(session: Session, dataset: Dataset, chunk: int | None = None,
              codes=None) -> Iterator[list]:
    """Chunks of rows in id order: ``WHERE id > last ORDER BY id LIMIT chunk`` (keyset); of
    the jurisdictions ``codes`` (None: all)."""
    chunk = chunk or CHUNK
    model = dataset.model
    stmt = sa.select(*(getattr(model, f) for f in dataset.fields)).where(
        dataset.where(), within(model.jurisdiction, codes))
    last = 0
    while True:
        rows = session.execute(stmt.where(model.id > last).order_by(model.id).limit(chunk)).all()
        if rows:
            yield rows
        if len(rows) < chunk:
            return
        last = rows[-1].id


class Rows:
    """Turns projection rows into JSON dicts and translated spreadsheet cells."""

    def __init__(self, dataset: Dataset, language: str) -> None:
        self.dataset = dataset
        self.language = language
        self.urls = serializers.Urls()
        self.reasons = serializers.translated(
            labels.WITHDRAWAL_REASONS if dataset.name == "withdrawals" else labels.REMOVAL_REASONS)
        self.kinds = kinds = serializers.translated(labels.SUBJECT_KINDS)[language]
        self.severities = severities = serializers.translated(labels.SEVERITIES)[language]
        with force_locale(language):
            self.headers = [str(title) for _field, title in dataset.columns]
            self.sheet_title = str(dataset.sheet_title)[:31]
            self.yes_no = str(_l("Yes")), str(_l("No"))
        yes_no = {True: self.yes_no[0], False: self.yes_no[1]}
        english = language == "en"
        self._display = {
            "subject_kind": lambda v, d: kinds.get(v, v),
            "severity": lambda v, d: severities.get(v, v),
            "under_objection": lambda v, d: yes_no[bool(v)],
            "ground_text": lambda v, d: d["ground_text_en"] if english else v,
            "reason_text": lambda v, d: d["reason_text_en"] if english else v,
        }

    def record(self, row) -> dict:
        if self.dataset.name == "entries":
            return serializers.entry_summary(row, self.urls)
        if self.dataset.name == "withdrawals":
            return {"public_id": row.public_id, "type": row.topic,
                    "withdrawn_on": serializers.iso(row.withdrawn_on), "reason": row.reason,
                    "reason_text": self.reasons["zh_CN"].get(row.reason, row.reason),
                    "reason_text_en": self.reasons["en"].get(row.reason, row.reason),
                    "jurisdiction": row.jurisdiction}
        return serializers.removal_summary(row, self.urls, self.reasons)

    def cells(self, record: dict) -> list:
        out = []
        for field, _title in self.dataset.columns:
            value = record[field]
            show = self._display.get(field)
            out.append(show(value, record) if show else ("" if value is None else value))
        return out

    def texts(self, chunk) -> list[list]:
        """CSV rows of a chunk: the spreadsheet cells, formula-neutralised."""
        return [[neutralise(c) for c in self.cells(self.record(row))] for row in chunk]


def neutralise(value):
    """Spreadsheet formula injection: a text cell never starts with = + - @ (OWASP)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --------------------------------------------------------------------------
# Writers: each writes the whole export into a binary file (``opendata_files`` builds them)
# --------------------------------------------------------------------------

def csv_header(rows: Rows) -> bytes:
    """The byte-order mark (Excel then opens the file as UTF-8) and the translated header row."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(rows.headers)
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


def write_csv(out: BinaryIO, session: Session, dataset: Dataset, language: str,
              codes=None) -> None:
    """Cell by cell through the csv module (the entries use :mod:`opendata_csv`)."""
    rows = Rows(dataset, language)
    out.write(csv_header(rows))
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=False)
    try:
        writer = csv.writer(text)
        for chunk in iter_rows(session, dataset, codes=codes):
            writer.writerows(rows.texts(chunk))
        text.flush()
    finally:
        text.detach()


def write_json(out: BinaryIO, session: Session, dataset: Dataset, language: str,
               version: int, scope: Scope | None = None) -> None:
    """``scope``: the jurisdiction the file is of (None: the whole portal, whose profile is
    named when it has one); every record names its own jurisdiction (and an entry its
    profile)."""
    rows = Rows(dataset, language)
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    scope = scope or Scope(None, None, current_app.config["PORTAL_PROFILE"])
    head = {
        "dataset": dataset.name,
        "generated_at": serializers.iso(clock.now()),
        "publication_version": version,
        "jurisdiction": scope.code,
        "profile": scope.profile,
    }
    out.write((dumps(head)[:-1] + ',"data":[').encode("utf-8"))
    count = 0
    for chunk in iter_rows(session, dataset, codes=scope.codes):
        parts = []
        for row in chunk:
            parts.append(("," if count else "") + "\n" + dumps(rows.record(row)))
            count += 1
        out.write("".join(parts).encode("utf-8"))
    out.write(f'\n],"count":{count}}}\n'.encode())


def write_xlsx(out: BinaryIO, session: Session, dataset: Dataset, language: str,
               codes=None) -> None:
    """The workbook, written row by row (openpyxl's write-only mode).

    A sheet holds at most ``XLSX_MAX_ROWS`` data rows (Excel's limit is 1,048,576
    rows including the header); further rows continue on "<title> (2)" and so on.
    """
    rows = Rows(dataset, language)
    workbook = Workbook(write_only=True)
    sheet, sheets, used = None, 0, XLSX_MAX_ROWS
    for chunk in iter_rows(session, dataset, codes=codes):
        for row in chunk:
            if used == XLSX_MAX_ROWS:
                sheets += 1
                sheet, used = _new_sheet(workbook, dataset, rows, sheets), 0
            sheet.append([_xlsx_cell(sheet, field, value) for (field, _t), value
                          in zip(dataset.columns, rows.cells(rows.record(row)))])
            used += 1
    if sheet is None:
        _new_sheet(workbook, dataset, rows, 1)
    workbook.save(out)


def _new_sheet(workbook, dataset: Dataset, rows: Rows, number: int):
    title = rows.sheet_title if number == 1 else f"{rows.sheet_title[:25]} ({number})"
    sheet = workbook.create_sheet(title)
    for index, (field, _title) in enumerate(dataset.columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(field, 16)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for text in rows.headers:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    return sheet


def _xlsx_cell(sheet, field: str, value):
    if field in _DATE_FIELDS and value:
        return dt.date.fromisoformat(value)
    if isinstance(value, str) and value.startswith("="):
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"          # text, never a formula
        return cell
    return value
