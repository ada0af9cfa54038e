"""The column format of the dishonesty report of a profile, and row validation (no database).

SPEC §4 step 8.  The columns come from the profile's ``[report] fields``
(law as data): Shanghai art. 7 lists the fields of the monthly report,
Zhengzhou's annex its quarterly template table.  A profile that prescribes
no fields (Chizhou: monthly, no fields; Jiamusi, Fuzhou, national: no
report at all) uses the fields of the profile ``REPORT_FIELDS_PROFILE``
(Shanghai art. 7), the only field list the seeds give for a monthly report
(SPEC §4 step 8 names it for Chizhou too).

Each field label is mapped to what it means for a case by ordered keyword
rules (:data:`MEANINGS`), so a reworded label in a later profile still finds
its meaning; a label no rule knows is kept as free text and added to the
facts.  After the report's own columns come the few columns an import needs
to open a case (:func:`report_format`): the ground code (or one ground chosen
for the whole file on the upload form), an amount where the report carries
none, and a USCC where the report only knows the legacy codes.

Errors are ``(code, params)`` pairs: the web layer translates them.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from portal.rules.profiles import REPORT_FIELDS_PROFILE, Profile, Text, load_profile

__all__ = ["Column", "ReportFormat", "report_format", "header_key", "match_headers",
           "parse_date", "parse_amount", "parse_arrears", "cell_text"]

#: (meaning, every keyword must occur in the zh label) — first match wins.
MEANINGS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rep_id", ("负责人", "身份证")),
    ("rep_id", ("法定代表人", "身份证")),
    ("rep_name", ("负责人", "姓名")),
    ("rep_name", ("法定代表人", "姓名")),
    ("code", ("统一社会信用代码", "身份证")),
    ("uscc", ("统一社会信用代码",)),
    ("org_code", ("组织机构代码",)),
    ("reg_no", ("工商注册号",)),
    ("seq", ("序号",)),
    ("cause", ("事由",)),
    ("date", ("日期",)),
    ("document_no", ("文书",)),
    ("name", ("名称",)),
    ("name", ("姓名",)),
    ("insured", ("参保",)),
    ("arrears", ("欠费",)),
    ("violations", ("违法",)),
    ("collection", ("催缴",)),
    ("remarks", ("备注",)),
    ("other", ("其他",)),
)
#: Columns an import needs beyond the report (appended to the template).
GROUND = Text("失信情形代码", "Ground code")
AMOUNT = Text("涉及金额（元）", "Amount involved (yuan)")
USCC = Text("统一社会信用代码", "Unified social credit code")

TEXT_LIMITS = {"name": 200, "rep_name": 100, "document_no": 60}
FREE_TEXT_LIMIT = 2000
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass(frozen=True)
class Column:
    key: str            # meaning, or "extra_<n>" for a field no rule knows
    label: Text
    in_report: bool     # part of the report (exported); else needed only to import


@dataclass(frozen=True)
class ReportFormat:
    profile: str
    frequency: str                  # "monthly" | "quarterly"
    columns: tuple[Column, ...]
    prescribed: bool                # the profile lists the fields itself
    source: str

    @property
    def report_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.in_report)

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key), None)

    def has(self, key: str) -> bool:
        return self.column(key) is not None

    @property
    def organisations_only(self) -> bool:
        """A unit template (单位名称, 组织机构代码 …) without a column for a person's ID."""
        return not self.has("code")


def _meaning(label: Text) -> str | None:
    zh = header_key(label.zh)
    for meaning, words in MEANINGS:
        if all(w in zh for w in words):
            return meaning
    return None


def _fields(profile: Profile) -> tuple[tuple[Text, ...], str, bool]:
    """The report fields of ``profile``, their citation, and whether the profile prescribes them."""
    rule = profile.report
    if rule is not None and rule.fields:
        return rule.fields, rule.source, True
    borrowed = load_profile(REPORT_FIELDS_PROFILE).report
    return borrowed.fields, borrowed.fields_source, False


def report_format(profile: Profile) -> ReportFormat:
    rule = profile.report
    fields, source, prescribed = _fields(profile)
    columns: list[Column] = []
    seen: set[str] = set()
    for n, label in enumerate(fields):
        key = _meaning(label)
        if key is None or key in seen:
            key = f"extra_{n}"
        seen.add(key)
        columns.append(Column(key, label, True))
    if "uscc" not in seen and "code" not in seen:
        columns.append(Column("uscc", USCC, False))
    columns.append(Column("ground", GROUND, False))
    if "arrears" not in seen:
        columns.append(Column("amount", AMOUNT, False))
    return ReportFormat(
        profile=profile.code, frequency=rule.frequency if rule is not None else "monthly",
        columns=tuple(columns), prescribed=prescribed, source=source)


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------

_BRACKETS = re.compile(r"[(\[【（][^)\]】）]*[)\]】）]")


def header_key(value: object) -> str:
    """Compare headers without width, case, spaces, required-marks or punctuation differences."""
    text = unicodedata.normalize("NFKC", str(value or "")).lower()
    return re.sub(r"[\s*＊:：,，、.。]+", "", text)


def _short_key(value: str) -> str:
    return header_key(_BRACKETS.sub("", unicodedata.normalize("NFKC", value)))


def match_headers(fmt: ReportFormat, header: list[object]) -> tuple[dict[int, str], list[str], list[str]]:
    """Map header cells to column keys: ``(index -> key, unknown headers, duplicated keys)``.

    A header matches a column by its Chinese or English name, ignoring spaces,
    full-width characters and case; the bracketed part may be left out
    ("违法情况" for "违法情况(可另附)").
    """
    exact: dict[str, str] = {}
    short: dict[str, str | None] = {}
    for col in fmt.columns:
        for name in (col.label.zh, col.label.en):
            exact[header_key(name)] = col.key
            s = _short_key(name)
            short[s] = col.key if short.get(s, col.key) == col.key else None
    found: dict[int, str] = {}
    unknown: list[str] = []
    dupes: list[str] = []
    for i, cell in enumerate(header):
        name = str(cell or "").strip()
        if not name:
            continue
        key = exact.get(header_key(name)) or short.get(_short_key(name))
        if key is None:
            unknown.append(name)
        elif key in found.values():
            dupes.append(key)
        else:
            found[i] = key
    return found, unknown, dupes


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def parse_date(value: object) -> dt.date:
    """2026-03-05, 2026/3/5, 2026.3.5, 2026年3月5日, 20260305, an Excel date cell or serial."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 20000 <= value <= 80000:        # an Excel serial day number (1954–2119)
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise ValueError("date")
    text = unicodedata.normalize("NFKC", str(value)).strip().replace(" ", "")
    text = re.sub(r"[T ]?\d{1,2}:\d{2}(:\d{2})?$", "", text)
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))   # ValueError for 2026-02-30
    raise ValueError("date")


def parse_amount(value: object) -> Decimal:
    """¥35,000.00 / 35000元 / 3.5万元 / an Excel number → Decimal with 2 places."""
    if isinstance(value, bool):
        raise ValueError("amount")
    if isinstance(value, (int, float, Decimal)):
        amount = Decimal(str(value))
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = re.sub(r"^(人民币|rmb|cny)", "", text, flags=re.IGNORECASE)
        text = re.sub(r"[\s,¥￥]", "", text)
        factor = Decimal(1)
        if text.endswith("万元") or text.endswith("万"):
            factor, text = Decimal(10000), text.rstrip("元").rstrip("万")
        text = text.removesuffix("元")
        if not re.fullmatch(r"\d+(\.\d+)?", text):
            raise ValueError("amount")
        try:
            amount = Decimal(text) * factor
        except InvalidOperation:
            raise ValueError("amount") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValueError("amount")
    return amount.quantize(Decimal("0.01"))


def parse_arrears(value: object) -> tuple[int | None, Decimal | None]:
    """欠费月数及金额: "12个月，¥35,000" / "12个月 3.5万元" / "12/35000" → (months, amount)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return None, parse_amount(value)
    text = unicodedata.normalize("NFKC", str(value)).strip()
    months = None
    m = re.search(r"(\d+)\s*个?月", text)
    if m:
        months, text = int(m[1]), (text[:m.start()] + " " + text[m.end():])
    else:
        parts = re.split(r"\s*[;/、]\s*", text)
        if len(parts) == 2 and parts[0].isdigit():
            months, text = int(parts[0]), parts[1]
    text = re.sub(r"^[\s;/、,:]+|[\s;/、,:]+$", "", text)
    text = re.sub(r"^(欠费|金额)", "", text).strip(" :")
    amount = parse_amount(text) if text else None
    if months is None and amount is None:
        raise ValueError("arrears")
    return months, amount


def cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return unicodedata.normalize("NFC", str(value)).strip()

