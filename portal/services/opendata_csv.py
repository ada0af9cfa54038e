"""The CSV of the current list, formatted by the database: one finished line per row.

Formatting a million rows cell by cell in Python (labels, dates, URLs, the
formula guard, the csv module's quoting) took several times as long as reading
them.  Here one SQL expression per column does the same work — translated
labels as ``CASE``, ISO dates as text, the entry URL, a leading ``'`` before
``= + - @`` and every text cell quoted with its quotes doubled (RFC 4180) —
and Python only joins the lines.  The columns and values are those of
:data:`portal.services.opendata_formats.ENTRY_COLUMNS` (the generic path, kept
for XLSX and JSON, is the reference the tests compare with).
"""
from __future__ import annotations

from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import PublishedEntry as E
from portal.services import opendata_formats as formats
from portal.services.public_queries import within

#: The formula guard of :func:`opendata_formats.neutralise`, as first characters.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _text(value):
    """A quoted CSV text cell (NULL as empty), formula-guarded."""
    value = sa.func.coalesce(value, "")
    guarded = sa.case((sa.func.substr(value, 1, 1).in_(_FORMULA_STARTS), "'" + value), else_=value)
    return '"' + sa.func.replace(guarded, '"', '""', type_=sa.String) + '"'


def _label(column, table: dict[str, str]):
    """A translated label (the code itself when the table does not know it), quoted."""
    return _text(sa.case(*((column == key, text) for key, text in table.items()), else_=column))


def _date(column):
    return sa.func.coalesce(sa.cast(column, sa.String), "")


def _line(rows: formats.Rows, english: bool):
    ground = (sa.case((sa.func.coalesce(E.ground_text_en, "") == "", E.ground_text),
                      else_=E.ground_text_en) if english else E.ground_text)
    yes, no = rows.yes_no
    url = rows.urls.entry("\x00").split("\x00")
    cells = {
        "public_id": _text(E.public_id),
        "name": _text(E.name),
        "subject_kind": _label(E.subject_kind, rows.kinds),
        "code": _text(E.code_display),
        "ground_code": _text(E.ground_code),
        "ground_text": _text(ground),
        "severity": _label(E.severity, rows.severities),
        "listed_on": _date(E.listed_on),
        "term_start": _date(E.term_start),
        "term_last_day": _date(E.term_last_day),
        "leaves_list_on": _date(E.leaves_list_on),
        "department": _text(E.department),
        "under_objection": _text(sa.case((E.under_objection.is_(True), yes), else_=no)),
        "url": _text(url[0] + E.public_id + url[1]),
        "jurisdiction": _text(E.jurisdiction),
    }
    line = None
    for field, _title in formats.ENTRY_COLUMNS:
        line = cells[field] if line is None else line + "," + cells[field]
    return line.label("line")


def write_entries(out: BinaryIO, session: Session, language: str, codes=None) -> None:
    """The entries CSV (BOM, translated header row, one line per listed entry in id order) of
    the jurisdictions ``codes`` (None: all)."""
    rows = formats.Rows(formats.DATASETS["entries"], language)
    out.write(formats.csv_header(rows))
    stmt = sa.select(E.id, _line(rows, language == "en")).where(
        formats.DATASETS["entries"].where(), within(E.jurisdiction, codes))
    connection = session.connection()       # Core rows: no ORM result processing per row
    last = 0
    while True:
        chunk = connection.execute(stmt.where(E.id > last).order_by(E.id).limit(formats.CHUNK)).all()
        if chunk:
            out.write(("\r\n".join(line for _id, line in chunk) + "\r\n").encode("utf-8"))
        if len(chunk) < formats.CHUNK:
            return
        last = chunk[-1][0]
