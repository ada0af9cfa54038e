"""The files of batch screening: reading an uploaded CSV/XLSX into records, writing results.

A file has one record per row: a name, a code, or both. The header row (within the
first rows) names the columns — 名称/姓名/单位名称/name and 统一社会信用代码/证件号码/
身份证号码/代码/code …; without a header, each row's cell that reads as a code is the
code and the first other cell the name. Reading reuses the report importer's decoding
(UTF-8 with or without BOM, GB18030, UTF-16; XLSX by content, zip bombs refused).

Result files (CSV with a BOM, XLSX) carry one line per match, or one line for a record
without a match, with the row number of the uploaded file: the masked code, never the
full one; cells are guarded against spreadsheet formulas.
"""
from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Sequence

from flask_babel import lazy_gettext as _l

from portal.rules import identifiers
from portal.services import report_files
from portal.services.report_files import XLSX_MAGIC, FileProblem, csv_rows, xlsx_rows
from portal.services.report_format import cell_text, header_key
from portal.services.screening import Record

__all__ = ["FileProblem", "read_records", "MAX_ROWS", "MAX_BYTES"]

MAX_ROWS = 10_000
MAX_BYTES = 8 * 1024 * 1024
HEADER_SEARCH_ROWS = 5
MAX_CELL = 200
MAX_BLANK_RUN = 1000
#: Cells in one part of a workbook (a sheet, the shared strings): 30 columns of 10,000 rows.
#: Reading costs time and memory per cell, and a workbook of a few hundred KB can unpack to
#: millions of them, so a public upload is counted before it is opened.
MAX_CELLS = 30 * MAX_ROWS
#: The longest stretch of a workbook's XML between two elements (report_files.MAX_TOKEN).
MAX_TOKEN = report_files.MAX_TOKEN

NAME_HEADERS = ("名称", "姓名", "单位名称", "企业名称", "主体名称", "公司名称", "名称或姓名",
                "单位名称或姓名", "name", "company", "companyname", "subject", "subjectname")
CODE_HEADERS = ("统一社会信用代码", "社会信用代码", "信用代码", "代码", "证件号码", "证件号",
                "身份证号", "身份证号码", "公民身份号码", "居民身份证号码", "组织机构代码",
                "注册号", "工商注册号", "code", "uscc", "id", "idnumber", "identifier",
                "creditcode", "registrationnumber")
_NAMES = {header_key(h) for h in NAME_HEADERS}
_CODES = {header_key(h) for h in CODE_HEADERS}


def _header(row: Sequence[object]) -> tuple[int | None, int | None]:
    """(name column, code column) when ``row`` is a header row, else (None, None)."""
    name = code = None
    for index, cell in enumerate(row):
        # "名称/姓名", "统一社会信用代码或身份证号码", "代码（脱敏）": any part names the column
        text = re.sub(r"[（(][^）)]*[）)]", "", cell_text(cell))
        keys = {header_key(part) for part in re.split(r"[/／|｜或、]", text)} | {header_key(text)}
        if keys & _NAMES and name is None:
            name = index
        elif keys & _CODES and code is None:
            code = index
    return name, code


def _looks_like_code(text: str) -> bool:
    return identifiers.detect(identifiers.normalise(text)) is not None


def _guess(row: Sequence[str]) -> tuple[str | None, str | None]:
    """A row without a header: the cell that reads as a code, and the first other cell."""
    code = next((cell for cell in row if cell and _looks_like_code(cell)), None)
    name = next((cell for cell in row if cell and cell is not code), None)
    return name, code


def _rows(raw: bytes, filename: str) -> Iterable[Sequence[object]]:
    if not raw:
        raise FileProblem("empty")
    if len(raw) > MAX_BYTES:
        raise FileProblem("too_large", max=MAX_BYTES)
    if raw.startswith(b"\xd0\xcf\x11\xe0"):       # the old binary .xls
        raise FileProblem("xls")
    is_xlsx = raw.startswith(XLSX_MAGIC)
    if filename.lower().endswith((".xlsx", ".xlsm")) and not is_xlsx:
        raise FileProblem("not_a_table")
    if is_xlsx:
        report_files.count_cells(raw, MAX_CELLS)
        return iter(xlsx_rows(raw))
    return iter(csv_rows(raw))


def _lines(rows: Iterable[Sequence[object]]) -> Iterator[tuple[int, list[str]]]:
    """(line, cells) of the rows that hold something; a long blank run ends the table."""
    blank_run = 0
    for line, row in enumerate(rows, start=1):
        cells = [cell_text(cell)[:MAX_CELL] for cell in row]
        if not any(cells):
            blank_run += 1
            if blank_run > MAX_BLANK_RUN:
                return
            continue
        blank_run = 0
        yield line, cells


def read_records(raw: bytes, filename: str, max_rows: int = MAX_ROWS) -> list[Record]:
    """The records of an uploaded file, each with its row number as a spreadsheet shows it.
    A header row may stand below a title within the first rows. Raises
    :class:`FileProblem` (``empty``, ``too_large``, ``xls``, ``not_a_table``, ``encoding``,
    ``too_many_rows``, ``too_many_cells``, ``no_rows``)."""
    rows = _rows(raw, filename)
    records: list[Record] = []
    try:
        lines = _lines(rows)
        first = []
        for line, cells in lines:
            first.append((line, cells))
            if len(first) >= HEADER_SEARCH_ROWS:
                break
        columns: tuple[int | None, int | None] = (None, None)
        for index, (_line, cells) in enumerate(first):
            if _header(cells) != (None, None):
                columns, first = _header(cells), first[index + 1:]
                break
        for line, cells in itertools.chain(first, lines):
            if columns != (None, None):
                name_at, code_at = columns
                name = cells[name_at] if name_at is not None and name_at < len(cells) else ""
                code = cells[code_at] if code_at is not None and code_at < len(cells) else ""
            else:
                name, code = _guess(cells)
            if not name and not code:
                continue
            if len(records) >= max_rows:
                raise FileProblem("too_many_rows", max=max_rows)
            records.append(Record(row=line, name=name or None, code=code or None))
    except csv.Error:
        raise FileProblem("not_a_table") from None
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    if not records:
        raise FileProblem("no_rows")
    return records


# --------------------------------------------------------------------------
# Result files
# --------------------------------------------------------------------------

def typed_lines(text: str | None) -> list[tuple[int, str, str]]:
    """Lines typed into a form as (line number, code, label): the code first, then after a
    comma (half- or full-width) or a tab the typist's own label; blank lines are skipped."""
    lines = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        code, _sep, label = line.replace("，", ",").replace("\t", ",").partition(",")
        if code.strip() or label.strip():
            lines.append((number, code.strip(), label.strip()))
    return lines


def result_header() -> list[str]:
    return [str(label) for label in (
        _l("Row"), _l("Name in your file"), _l("Code in your file (masked)"), _l("Result"),
        _l("Matched by"), _l("Score"), _l("Why it matched"), _l("Name on the list"),
        _l("Code on the list (masked)"), _l("Jurisdiction"), _l("Listed on"), _l("Ground"),
        _l("Last day of the term"), _l("Published entry"))]


def outcome(record: dict) -> str:
    if record["error"]:
        return str(_l("Code not valid"))
    if any(m["how"] == "code" for m in record["matches"]):
        return str(_l("Listed (same code)"))
    if record["matches"]:
        return str(_l("Possible match by name"))
    return str(_l("No match"))


def result_lines(records: Iterable[dict], *, reason: Callable[[str], str],
                 ground: Callable[[dict], str], place: Callable[[str], str],
                 entry_url: Callable[[dict], str | None]) -> Iterator[list[object]]:
    """One line per match, or one line for a record without a match."""
    for record in records:
        head = [record["row"], record["name"] or "", record["code"] or "", outcome(record)]
        if not record["matches"]:
            yield head + [record["error"] or ""] + [""] * 9
            continue
        for match in record["matches"]:
            how = str(_l("Code")) if match["how"] == "code" else str(_l("Name"))
            yield head + [
                how, f"{match['score']:.2f}", "; ".join(reason(r) for r in match["reasons"]),
                match["name"], match["code"] or "", place(match["jurisdiction"]),
                match["listed_on"] or "", ground(match), match["term_last_day"] or "",
                entry_url(match) or "",
            ]
