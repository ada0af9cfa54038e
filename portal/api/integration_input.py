"""The JSON body of ``POST /api/v1/integration/cases``, checked field by field.

Every problem is collected (not only the first) and answered together as a
422 ``invalid_fields`` error whose ``errors`` list names each field by its
path (``subject.uscc``, ``subject.legal_representative.id_number``) with a
machine code and a translated message. Unknown fields are refused, so a
misspelt key is never silently dropped. Messages never echo an identifier.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal import threshold_messages
from portal.json_errors import ApiError
from portal.models import SubjectKind
from portal.rules import identifiers, thresholds
from portal.rules.profiles import UNIT_KINDS, Profile
from portal.services.cases import CaseInput
from portal.services.subjects import PersonInput, SubjectInput, validate_ric_today

MAX_BODY = 64 * 1024
MAX_AMOUNT = Decimal("999999999999.99")      # Numeric(14, 2)
# Stored as "<client id>:<system>:<record id>" in cases.external_ref, String(120): 30 + 79 + 2
# separators leave 9 digits for the client's id.
MAX_SYSTEM, MAX_RECORD = 30, 79
SYSTEM_PATTERN = re.compile(rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_SYSTEM - 1}}}")
RECORD_PATTERN = re.compile(rf"[\x21-\x7e]{{1,{MAX_RECORD}}}")   # printable ASCII, no spaces

MESSAGES = {
    "required": _l("This field is required."),
    "invalid_type": _l("This field has the wrong type."),
    "too_long": _l("This field is too long."),
    "unknown_field": _l("Unknown field."),
    "invalid_value": _l("This value is not one of the allowed values."),
    "not_for_kind": _l("This field does not apply to this kind of subject."),
    "invalid_length": _l("The number has the wrong length."),
    "invalid_format": _l("The number contains characters that are not allowed at their position."),
    "invalid_check_digit": _l("The check character (the last one) does not match the rest of the "
                              "number."),
    "invalid_birth_date": _l("The ID number contains an impossible birth date."),
    "invalid_region": _l("The ID number contains an unknown region code."),
    "code_mismatch": _l("The organisation code differs from the one contained in the unified "
                        "social credit code."),
    "unknown_ground": _l("The ground is not one of the grounds of this portal's profile."),
    "ground_not_for_kind": _l("This ground does not apply to this kind of subject."),
    "invalid_amount": _l("The amount must be a number of yuan from 0 with at most two decimals."),
    "invalid_reference": _l("The system may contain letters, digits, dot, dash and underscore "
                            "(up to 30); the record id printable characters without spaces "
                            "(up to 79)."),
    "contains_id_number": _l("This field must not contain a resident ID number."),
    "invalid_character": _l("This field contains a NUL character, which is not allowed."),
    "invalid_count": _l("This field must be a whole number from 0."),
    "below_threshold": _l("The case's figures do not reach the threshold of its ground."),
}
_REASONS = {"length": "invalid_length", "format": "invalid_format",
            "checksum": "invalid_check_digit", "birth_date": "invalid_birth_date",
            "region": "invalid_region"}


@dataclass(frozen=True)
class CaseRequest:
    external_ref: str          # "<system>:<record id>" (stored scoped to the client)
    system: str
    record_id: str
    subject: SubjectInput
    case: CaseInput


def parse_body(raw: bytes) -> dict:
    """The body as a JSON object (numbers with a fraction as Decimal), else a 400."""
    if len(raw) > MAX_BODY:
        raise ApiError(413, "body_too_large", _l("The request body is too large."))

    def refuse(constant):
        raise ValueError(constant)

    try:
        # A NUL inside a string is valid JSON: the text fields refuse it one by one (422
        # invalid_character), since no text of the portal can hold one (PostgreSQL cannot).
        body = json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=refuse)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", _l("The request body must be a JSON object "
                                               "(Content-Type: application/json, UTF-8)."))
    return body


class _Checker:
    def __init__(self) -> None:
        self.errors: list[tuple] = []

    def fail(self, path: str, code: str, message: str | None = None) -> None:
        self.errors.append((path, code) if message is None else (path, code, message))

    def count(self, body: dict, name: str, maximum: int) -> int | None:
        value = body.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            self.fail(name, "invalid_count")
            return None
        return value

    def obj(self, value, path: str, allowed: tuple[str, ...], required: bool = True) -> dict | None:
        if value is None:
            if required:
                self.fail(path, "required")
            return None
        if not isinstance(value, dict):
            self.fail(path, "invalid_type")
            return None
        for name in value:
            if name not in allowed:
                self.fail(f"{path}.{name}"[:80], "unknown_field")
        return value

    def text(self, body: dict, name: str, path: str, max_length: int,
             required: bool = False) -> str | None:
        value = body.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(path, "required")
            return None
        if not isinstance(value, str):
            self.fail(path, "invalid_type")
            return None
        value = value.strip()
        if len(value) > max_length:
            self.fail(path, "too_long")
            return None
        if "\x00" in value:            # cannot be stored (PostgreSQL text), never meant
            self.fail(path, "invalid_character")
            return None
        return value

    def code(self, body: dict, name: str, path: str, validator) -> str | None:
        value = self.text(body, name, path, 64)
        if value is None:
            return None
        try:
            return validator(value)
        except identifiers.InvalidIdentifier as problem:
            self.fail(path, _REASONS.get(problem.reason, "invalid_format"))
            return None

    def person(self, value, path: str, id_required: bool) -> PersonInput | None:
        body = self.obj(value, path, ("name", "id_number"))
        if body is None:
            return None
        name = self.text(body, "name", f"{path}.name", 100, required=True)
        number = self.code(body, "id_number", f"{path}.id_number", validate_ric_today)
        if id_required and _blank(body.get("id_number")):
            self.fail(f"{path}.id_number", "required")
        return PersonInput(name or "", number) if name else None


SUBJECT_FIELDS = ("kind", "name", "uscc", "org_code", "reg_no", "id_number", "address", "unit_kind",
                  "legal_representative", "responsible_persons")
ORGANISATION_ONLY = ("uscc", "org_code", "reg_no", "unit_kind", "legal_representative",
                     "responsible_persons")
TOP_FIELDS = ("external_ref", "subject", "ground", "facts", "reasons", "amount", "months",
              "person_times", "alternative_met", "document_no", "department", "department_contact")


def _subject(check: _Checker, value) -> SubjectInput | None:
    body = check.obj(value, "subject", SUBJECT_FIELDS)
    if body is None:
        return None
    kind_value = body.get("kind")
    if kind_value is None:
        check.fail("subject.kind", "required")
        return None
    if kind_value not in [k.value for k in SubjectKind]:
        check.fail("subject.kind", "invalid_value")
        return None
    kind = SubjectKind(kind_value)
    name = check.text(body, "name", "subject.name", 200, required=True)
    address = check.text(body, "address", "subject.address", 300)
    if kind is SubjectKind.PERSON:
        for field_name in ORGANISATION_ONLY:
            if body.get(field_name) not in (None, "", []):
                check.fail(f"subject.{field_name}", "not_for_kind")
        number = check.code(body, "id_number", "subject.id_number", validate_ric_today)
        if _blank(body.get("id_number")):
            check.fail("subject.id_number", "required")
        return SubjectInput(kind=kind, name=name or "", id_number=number, address=address)

    if body.get("id_number") not in (None, ""):
        check.fail("subject.id_number", "not_for_kind")
    uscc = check.code(body, "uscc", "subject.uscc", identifiers.validate_uscc)
    org_code = check.code(body, "org_code", "subject.org_code", identifiers.validate_org_code)
    reg_no = check.code(body, "reg_no", "subject.reg_no", identifiers.validate_reg_no)
    if all(_blank(body.get(f)) for f in ("uscc", "org_code", "reg_no")):
        check.fail("subject.uscc", "required")
    if uscc and org_code and identifiers.org_code_from_uscc(uscc) != org_code:
        check.fail("subject.org_code", "code_mismatch")
    rep = check.person(body.get("legal_representative"), "subject.legal_representative", True)
    others = body.get("responsible_persons") or []
    responsible = []
    if not isinstance(others, list) or len(others) > 20:
        check.fail("subject.responsible_persons", "invalid_type")
    else:
        for i, other in enumerate(others):
            person = check.person(other, f"subject.responsible_persons.{i}", False)
            if person is not None:
                responsible.append(person)
    unit_kind = body.get("unit_kind")
    if unit_kind is not None and unit_kind not in UNIT_KINDS:
        check.fail("subject.unit_kind", "invalid_value")
        unit_kind = None
    return SubjectInput(kind=kind, name=name or "", uscc=uscc, org_code=org_code, reg_no=reg_no,
                        unit_kind=unit_kind,
                        address=address, legal_rep=rep, responsible=tuple(responsible))


def _blank(value) -> bool:
    """Missing, empty or whitespace only (``"  "`` is no code at all)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _amount(check: _Checker, value) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        check.fail("amount", "invalid_amount")
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        check.fail("amount", "invalid_amount")
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT or amount != amount.quantize(
            Decimal("0.01")):
        check.fail("amount", "invalid_amount")
        return None
    return amount.quantize(Decimal("0.01"))


def case_request(body: dict, profile: Profile) -> CaseRequest:
    """The validated request, or an ``ApiError(422, "invalid_fields")`` listing every problem."""
    check = _Checker()
    for name in body:
        if name not in TOP_FIELDS:
            check.fail(str(name)[:80], "unknown_field")
    system = record_id = None
    ref = check.obj(body.get("external_ref"), "external_ref", ("system", "record_id"))
    if ref is not None:
        system = check.text(ref, "system", "external_ref.system", 64, required=True)
        record_id = check.text(ref, "record_id", "external_ref.record_id", MAX_RECORD,
                               required=True)
        # A reference is kept in the case, the audit log and the change feed: never an ID.
        for name, value, pattern in (("system", system, SYSTEM_PATTERN),
                                     ("record_id", record_id, RECORD_PATTERN)):
            if value and identifiers.contains_ric_number(value):
                check.fail(f"external_ref.{name}", "contains_id_number")
            elif value and not pattern.fullmatch(value):
                check.fail(f"external_ref.{name}", "invalid_reference")
    subject = _subject(check, body.get("subject"))
    ground = check.text(body, "ground", "ground", 20, required=True)
    if ground is not None:
        known = {g.code: g for g in profile.grounds}
        if ground not in known:
            check.fail("ground", "unknown_ground")
        elif subject is not None and subject.kind.value not in known[ground].subject_kinds:
            check.fail("ground", "ground_not_for_kind")
    facts = check.text(body, "facts", "facts", 10000, required=True)
    reasons = check.text(body, "reasons", "reasons", 10000)
    amount = _amount(check, body.get("amount"))
    figures = thresholds.Figures(amount=amount, months=check.count(body, "months", 1200),
                                 person_times=check.count(body, "person_times", 10**7),
                                 alternative_met=body.get("alternative_met") is True)
    if body.get("alternative_met") not in (None, True, False):
        check.fail("alternative_met", "invalid_type")
    if ground is not None and ground in {g.code for g in profile.grounds} and not check.errors:
        short = thresholds.shortfall(profile.ground(ground), figures)
        if short is not None:       # the rule the case form asks and open_case enforces
            check.fail((short.missing or [lim.figure for lim in short.threshold.limits])[0],
                       "below_threshold", LazyString(threshold_messages.refusal, short))
    document_no = check.text(body, "document_no", "document_no", 60)
    department = check.text(body, "department", "department", 120)
    contact = check.text(body, "department_contact", "department_contact", 120)
    # These are published as written once the case is: no resident ID numbers, in any shape.
    for name, value in (("facts", facts), ("reasons", reasons), ("document_no", document_no),
                        ("department", department), ("department_contact", contact)):
        if identifiers.contains_ric_number(value):
            check.fail(name, "contains_id_number")
    if check.errors:
        raise invalid(check.errors)
    external_ref = f"{system}:{record_id}"
    return CaseRequest(external_ref, system, record_id, subject, CaseInput(
        ground=ground, facts=facts, reasons=reasons or "", document_no=document_no, amount=amount,
        months=figures.months, person_times=figures.person_times,
        alternative_met=figures.alternative_met,
        department=department or "", department_contact=contact or "", external_ref=external_ref))


def invalid(problems: list[tuple]) -> ApiError:
    """``problems``: ``(path, code)`` or ``(path, code, message)`` (a message of its own)."""
    errors = [{"field": p[0], "code": p[1],
               "message": p[2] if len(p) > 2 else MESSAGES.get(p[1], MESSAGES["invalid_value"])}
              for p in problems]
    return ApiError(422, "invalid_fields", _l("Some fields are missing or invalid: see errors."),
                    errors[0]["field"], errors=errors)
