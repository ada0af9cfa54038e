"""Reading and writing report files: CSV (UTF-8 with or without BOM, or GB18030) and XLSX.

Reading returns the header and the data rows (each with its line number as
Excel shows it); the header row may sit below a title row, as in
Zhengzhou's annex table.  Problems with the file as a whole raise
:class:`FileProblem` with a machine-readable ``code``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from xml.parsers import expat
from collections.abc import Iterable, Sequence

from portal.services.opendata_formats import neutralise
from portal.services.report_format import ReportFormat, cell_text, match_headers

__all__ = ["FileProblem", "read_rows", "csv_rows", "xlsx_rows", "count_cells", "to_csv",
           "to_xlsx", "HEADER_SEARCH_ROWS", "MAX_COLUMNS"]

HEADER_SEARCH_ROWS = 10     # a title and a few notes may stand above the header row
MAX_COLUMNS = 60
XLSX_MAGIC = b"PK\x03\x04"
#: A report of a few thousand rows unpacks to a few MB; far more is a "zip bomb".
MAX_UNPACKED_BYTES = 100 * 1024 * 1024
#: The longest stretch of a workbook's XML between two elements: a cell's text of 32,767
#: characters takes at most a few hundred KB.
MAX_TOKEN = 1024 * 1024
#: Formatted but empty rows at the end of a sheet are skipped, up to this many in a row.
MAX_BLANK_RUN = 1000


class FileProblem(ValueError):
    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(code)


def _decode(raw: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030 — what Excel in China writes as "CSV" —
    or UTF-16 with its BOM (Excel's "Unicode text", tab-separated)."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise FileProblem("encoding") from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise FileProblem("encoding")


def csv_rows(raw: bytes) -> Iterable[list[object]]:
    text = _decode(raw)
    if "\x00" in text:
        raise FileProblem("not_a_table")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def xlsx_rows(raw: bytes) -> Iterable[Sequence[object]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            raise FileProblem("not_a_table")
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except FileProblem:
        raise
    except Exception:   # openpyxl raises many kinds for a damaged or foreign file
        raise FileProblem("not_a_table") from None
    try:
        yield from book.worksheets[0].iter_rows(max_col=MAX_COLUMNS, values_only=True)
    except Exception:
        raise FileProblem("not_a_table") from None
    finally:
        book.close()


def count_cells(raw: bytes, limit: int) -> None:
    """Refuse a workbook that would cost the reader minutes or gigabytes: a part with more
    than ``limit`` cells or shared strings (``too_many_cells``), or a single tag, comment or
    text longer than :data:`MAX_TOKEN` (``not_a_table``: the XML parser reads such a token
    in time that grows with its square).

    Each part is parsed once, in pieces, counting its elements and stopping as soon as a
    stretch without an element grows too long."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            for info in archive.infolist():
                if info.file_size > MAX_UNPACKED_BYTES:
                    return          # refused by the reader as a whole
                with archive.open(info) as part:
                    _count_part(part, limit)
    except FileProblem:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
            NotImplementedError, RuntimeError):      # damaged, encrypted, another method
        raise FileProblem("not_a_table") from None


def _count_part(part, limit: int) -> None:
    parser = expat.ParserCreate()
    seen = {"cells": 0, "at": 0}

    def start(name, _attributes):
        seen["at"] = parser.CurrentByteIndex
        if name.rpartition(":")[2] in ("c", "si"):
            seen["cells"] += 1
            if seen["cells"] > limit:
                raise FileProblem("too_many_cells", max=limit)

    parser.StartElementHandler = start
    read = 0
    try:
        while piece := part.read(256 * 1024):
            parser.Parse(piece, False)
            read += len(piece)
            if read - seen["at"] > MAX_TOKEN:
                raise FileProblem("not_a_table")
        parser.Parse(b"", True)
    except expat.ExpatError:
        return          # not XML (an image) or broken: the reader refuses what it needs


def _blank(row: Sequence[object]) -> bool:
    return all(cell is None or cell_text(cell) == "" for cell in row)


def read_rows(fmt: ReportFormat, raw: bytes, filename: str, max_rows: int
              ) -> tuple[dict[int, str], list[str], list[tuple[int, dict]]]:
    """``(column index -> key, unknown headers, [(line, {key: raw value})])``."""
    if not raw:
        raise FileProblem("empty")
    is_xlsx = raw.startswith(XLSX_MAGIC)
    if filename.lower().endswith((".xlsx", ".xlsm")) and not is_xlsx:
        raise FileProblem("not_a_table")
    if raw.startswith(b"\xd0\xcf\x11\xe0"):       # the old binary .xls
        raise FileProblem("xls")
    if is_xlsx:                       # counted before it is opened: a small file can
        count_cells(raw, (max_rows + HEADER_SEARCH_ROWS) * MAX_COLUMNS)  # unpack to millions
    rows = iter(xlsx_rows(raw) if is_xlsx else csv_rows(raw))
    mapping: dict[int, str] = {}
    unknown: list[str] = []
    line = 0
    try:
        for line, row in enumerate(rows, start=1):
            found, unknown_here, dupes = match_headers(fmt, list(row))
            if dupes:
                raise FileProblem("duplicate_header", line=line)
            if len(found) >= 2:
                mapping, unknown = found, unknown_here
                break
            if line >= HEADER_SEARCH_ROWS:
                break
        if not mapping:
            raise FileProblem("no_header", rows=HEADER_SEARCH_ROWS)
        data: list[tuple[int, dict]] = []
        blank_run = 0
        for line, row in enumerate(rows, start=line + 1):
            if _blank(row):
                blank_run += 1
                if blank_run > MAX_BLANK_RUN:
                    break
                continue
            blank_run = 0
            if len(data) >= max_rows:
                raise FileProblem("too_many_rows", max=max_rows)
            data.append((line, {key: row[i] if i < len(row) else None
                                for i, key in mapping.items()}))
    except csv.Error:
        raise FileProblem("not_a_table") from None
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    if not data:
        raise FileProblem("no_rows")
    return mapping, unknown, data


# --------------------------------------------------------------------------
# Writing (templates and exports)
# --------------------------------------------------------------------------

def _csv_value(value: object) -> str:
    # A cell starting with = + - @ (or a tab or carriage return before one) would run as a
    # formula in Excel (CSV injection): the open data's rule.
    return neutralise("" if value is None else str(value))


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese text correctly."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(header: Sequence[str], rows: Iterable[Sequence[object]], *, title: str,
            notes: Sequence[Sequence[str]] = (), notes_title: str = "") -> bytes:
    """One sheet with the table (every text cell stored as text: ID numbers keep their digits)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([v if isinstance(v, (int, float, dt.date)) or v is None else _csv_value(v)
                      for v in row])
    for index, name in enumerate(header, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(max(10, len(str(name)) * 2), 40)
        sheet.column_dimensions[letter].number_format = "@"     # what staff type stays text
        for cell in sheet[letter]:
            if isinstance(cell.value, str) or cell.value is None:
                cell.number_format = "@"
    if notes:
        extra = book.create_sheet(notes_title[:31] or "notes")
        for note in notes:
            extra.append(list(note))
        extra.column_dimensions["A"].width = 30
        extra.column_dimensions["B"].width = 80
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
