"""Validation of the rows of a dishonesty report (no database): identifiers, dates, amounts.

Cross-row rule here: the same subject on the same ground twice in one file.
The database checks (an open case already exists) are in ``portal.services.imports``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from portal.rules import identifiers, thresholds
from portal.rules.profiles import Profile
from portal.services.report_format import (
    FREE_TEXT_LIMIT,
    TEXT_LIMITS,
    ReportFormat,
    parse_amount,
    parse_arrears,
    parse_date,
)
from portal.services.report_format import cell_text as _cell_text

__all__ = ["RowResult", "validate_row", "validate_rows"]
# --------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------

@dataclass
class RowResult:
    """One data row: ``values`` normalised (JSON-ready), ``errors`` as ``(code, params)``."""

    line: int
    values: dict
    errors: list[tuple[str, dict]]

    @property
    def ok(self) -> bool:
        return not self.errors

    def identity(self) -> tuple[str, str] | None:
        """The subject's identity within the file (organisation code, reg. no, or ID number)."""
        v = self.values
        if v.get("kind") == "person":
            return ("ric", v["id_number"]) if v.get("id_number") else None
        if v.get("org_code"):
            return ("org", v["org_code"])
        if v.get("reg_no"):
            return ("reg", v["reg_no"])
        return None


_VALIDATORS = {"uscc": identifiers.validate_uscc, "ric": identifiers.validate_ric,
               "org_code": identifiers.validate_org_code, "reg_no": identifiers.validate_reg_no}


def _code_text(raw: object, column: str, errors: list) -> str | None:
    """An identifier cell as text; Excel numbers of more than 15 digits have lost digits."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if isinstance(raw, float) and not raw.is_integer() or len(str(int(raw))) > 15:
            errors.append(("number_cell", {"column": column}))
            return None
        return str(int(raw))
    return _cell_text(raw) or None


def _identifier(value: str, kind: str, column: str, errors: list, today: dt.date) -> str | None:
    try:
        if kind == "ric":
            return identifiers.validate_ric(value, today=today)
        return _VALIDATORS[kind](value)
    except identifiers.InvalidIdentifier as exc:
        errors.append(("identifier", {"column": column, "kind": kind, "reason": exc.reason}))
        return None


def _looks_like_ric(number: str) -> bool:
    """For the error message only: which kind an invalid 18-character number was meant to be
    (the free-text detector's rule: a province code and a real birth date)."""
    return len(number) == 18 and identifiers.looks_like_ric(number)


def _combined_code(value: str, v: dict, errors: list, today: dt.date) -> None:
    """统一社会信用代码（或组织机构代码），或身份证号码: the kind of subject follows from it."""
    number = identifiers.normalise(value)
    kind = identifiers.detect(number)
    if kind == "ric":
        v["kind"], v["id_number"] = "person", _identifier(number, "ric", "code", errors, today)
        return
    if kind is not None:
        v["kind"] = "organisation"
        v[kind] = number
        return
    if len(number) == 18:
        _identifier(number, "ric" if _looks_like_ric(number) else "uscc", "code", errors, today)
    elif len(number) == 9:
        _identifier(number, "org_code", "code", errors, today)
    elif len(number) == 15:
        _identifier(number, "reg_no", "code", errors, today)
    else:
        errors.append(("code_length", {"column": "code"}))


def _empty(raw: dict, key: str) -> bool:
    return _cell_text(raw.get(key)) == ""


def _text(raw: dict, key: str, errors: list, limit: int | None = None) -> str:
    value = _cell_text(raw.get(key))
    limit = limit or TEXT_LIMITS.get(key, FREE_TEXT_LIMIT)
    if len(value) > limit:
        errors.append(("too_long", {"column": key, "max": limit}))
        return value[:limit]
    return value


def _subject(fmt: ReportFormat, raw: dict, v: dict, errors: list, today: dt.date) -> None:
    v["name"] = _text(raw, "name", errors)
    if not v["name"]:
        errors.append(("required", {"column": "name"}))
    if fmt.has("code"):
        code = _code_text(raw.get("code"), "code", errors)
        if code:
            _combined_code(code, v, errors, today)
        elif _empty(raw, "code"):
            errors.append(("required", {"column": "code"}))
    else:
        v["kind"] = "organisation"
        for key in ("uscc", "org_code", "reg_no"):
            if not fmt.has(key):
                continue
            value = _code_text(raw.get(key), key, errors)
            if not value:
                continue
            number = identifiers.normalise(value)
            kind = "uscc" if key == "org_code" and len(number) == 18 else key  # a USCC in 组织机构代码
            checked = _identifier(number, kind, key, errors, today)
            if checked and v.get(kind) not in (None, checked):
                errors.append(("code_mismatch", {"column": key}))
            elif checked:
                v[kind] = checked
        if all(_empty(raw, k) for k in ("uscc", "org_code", "reg_no")):
            errors.append(("required", {"column": "org_code" if fmt.has("org_code") else "uscc"}))
    if v.get("uscc") and v.get("org_code") and v["org_code"] != v["uscc"][8:17]:
        errors.append(("code_mismatch", {"column": "org_code"}))
    elif v.get("uscc"):
        v["org_code"] = v["uscc"][8:17]
    if v.get("kind") == "organisation":
        v["rep_name"] = _text(raw, "rep_name", errors)
        rep_id = _code_text(raw.get("rep_id"), "rep_id", errors)
        # Required for every unit (the listing decision names them: Jiamusi art. 7).
        if not v["rep_name"]:
            errors.append(("required_unit", {"column": "rep_name"}))
        if rep_id:
            v["rep_id"] = _identifier(rep_id, "ric", "rep_id", errors, today)
        elif _empty(raw, "rep_id"):
            errors.append(("required_unit", {"column": "rep_id"}))


#: Cells whose text goes into the facts of the case, which are published with the listing.
FREE_TEXT_KEYS = ("cause", "violations", "collection", "remarks", "other")


def _no_id_numbers(fmt: ReportFormat, v: dict, errors: list) -> None:
    """A resident ID number in free text would be published verbatim: refuse the row."""
    cells = [(key, v.get(key)) for key in FREE_TEXT_KEYS]
    cells += [(c.key, v["extras"].get(c.label.zh)) for c in fmt.columns if c.key.startswith("extra_")]
    for key, text in cells:
        if text and identifiers.find_ric_numbers(text):
            errors.append(("ric_in_text", {"column": key}))


def _details(fmt: ReportFormat, raw: dict, v: dict, errors: list, today: dt.date) -> None:
    for key in ("cause", "violations"):
        if fmt.has(key):
            v[key] = _text(raw, key, errors)
            if not v[key]:
                errors.append(("required", {"column": key}))
    if fmt.has("document_no"):
        v["document_no"] = _text(raw, "document_no", errors)
        if not v["document_no"]:
            errors.append(("required", {"column": "document_no"}))
    if fmt.has("date"):
        raw_date = raw.get("date")
        if raw_date in (None, ""):
            errors.append(("required", {"column": "date"}))
        else:
            try:
                day = parse_date(raw_date)
            except ValueError:
                errors.append(("date", {"column": "date"}))
            else:
                if day > today:
                    errors.append(("future_date", {"column": "date"}))
                v["date"] = day.isoformat()
    for key in ("collection", "remarks", "other"):
        if fmt.has(key):
            v[key] = _text(raw, key, errors)
    extras = {c.label.zh: _text(raw, c.key, errors) for c in fmt.columns if c.key.startswith("extra_")}
    v["extras"] = {k: t for k, t in extras.items() if t}
    _no_id_numbers(fmt, v, errors)
    if fmt.has("insured") and raw.get("insured") not in (None, ""):
        try:
            insured = int(Decimal(_cell_text(raw["insured"]).replace(",", "").rstrip("人")))
            if insured < 0:
                raise ValueError
            v["insured"] = insured
        except (ValueError, InvalidOperation):
            errors.append(("integer", {"column": "insured"}))
    for key in ("amount", "arrears"):
        if fmt.has(key) and raw.get(key) not in (None, ""):
            try:
                if key == "amount":
                    v["amount"] = str(parse_amount(raw[key]))
                else:
                    months, amount = parse_arrears(raw[key])
                    v["months"], v["amount"] = months, str(amount) if amount is not None else None
            except ValueError:
                errors.append((key, {"column": key}))


def _ground(profile: Profile, raw: dict, v: dict, errors: list, default_ground: str | None) -> None:
    code = identifiers.normalise(_cell_text(raw.get("ground"))) or (default_ground or "")
    if not code:
        errors.append(("no_ground", {"column": "ground"}))
        return
    ground = next((g for g in profile.grounds if g.code.upper() == code.upper()), None)
    if ground is None:
        errors.append(("unknown_ground", {"column": "ground", "ground": code[:20]}))
        return
    v["ground"] = ground.code
    if v.get("kind") and v["kind"] not in ground.subject_kinds:
        errors.append(("ground_kind", {"column": "ground", "ground": ground.code, "kind": v["kind"]}))


def row_figures(v: dict) -> thresholds.Figures:
    """The figures of a checked row (a report has no person-times or alternative column)."""
    return thresholds.Figures(amount=Decimal(v["amount"]) if v.get("amount") else None,
                              months=v.get("months"))


def _threshold(fmt: ReportFormat, profile: Profile, v: dict, errors: list) -> None:
    """The ground's threshold (``portal.rules.thresholds``), checked as by the case form."""
    if not v.get("ground") or any(code in ("amount", "arrears") for code, _ in errors):
        return
    short = thresholds.shortfall(profile.ground(v["ground"]), row_figures(v))
    if short is not None:
        errors.append(("threshold", {"column": "arrears" if fmt.has("arrears") else "amount",
                                     "profile": profile.code, "ground": v["ground"],
                                     "amount": v.get("amount"), "months": v.get("months")}))


def validate_row(fmt: ReportFormat, profile: Profile, line: int, raw: dict,
                 default_ground: str | None, today: dt.date) -> RowResult:
    values: dict = {}
    errors: list[tuple[str, dict]] = []
    _subject(fmt, raw, values, errors, today)
    _details(fmt, raw, values, errors, today)
    _ground(profile, raw, values, errors, default_ground)
    _threshold(fmt, profile, values, errors)
    return RowResult(line, values, errors)


def validate_rows(fmt: ReportFormat, profile: Profile, rows: list[tuple[int, dict]],
                  default_ground: str | None, today: dt.date) -> list[RowResult]:
    """Every row checked on its own, then duplicates (same subject and ground) within the file."""
    results = [validate_row(fmt, profile, line, raw, default_ground, today) for line, raw in rows]
    first: dict[tuple, int] = {}
    for result in results:
        who = result.identity()
        if who is None or not result.values.get("ground"):
            continue
        key = (*who, result.values["ground"])
        if key in first:
            result.errors.append(("duplicate", {"line": first[key]}))
        else:
            first[key] = result.line
    return results
