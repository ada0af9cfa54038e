"""What the integration API takes: the bodies of ``POST /cases``, ``POST /status`` and the
webhooks', and the queries of ``GET /changes`` and of a webhook's deliveries.

Every problem of a body is collected (not only the first) and answered together as a 422
``invalid_fields`` (:mod:`portal.api.contract`) naming each field by its path
(``subject.uscc``, ``subject.legal_representative.id_number``). Unknown fields are
refused, so a misspelt key is never silently dropped. Messages never echo an identifier.
The rules of the client's bureau (its grounds and their thresholds) come with the
validation context (``{"profile": …}``).
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from pydantic import (
    AfterValidator,
    Field,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    model_validator,
)

from portal import cursors, threshold_messages
from portal.api.contract import BLANK_IS_ABSENT, Body, Query, integer, merged, problem
from portal.api.integration_reads import decode_cursor
from portal.models import SubjectKind
from portal.rules import identifiers, thresholds
from portal.rules.profiles import SUBJECT_KINDS, UNIT_KINDS
from portal.services.cases import CaseInput
from portal.services.subjects import PersonInput, SubjectInput, validate_ric_today
from portal.services.webhooks import EVENT_TYPES as WEBHOOK_EVENTS

MAX_AMOUNT = Decimal("999999999999.99")      # Numeric(14, 2)
# Stored as "<client id>:<system>:<record id>" in cases.external_ref, String(120): 30 + 79 + 2
# separators leave 9 digits for the client's id.
MAX_SYSTEM, MAX_RECORD = 30, 79
SYSTEM_PATTERN = rf"[A-Za-z0-9][A-Za-z0-9_.-]{{0,{MAX_SYSTEM - 1}}}"
RECORD_PATTERN = rf"[\x21-\x7e]{{1,{MAX_RECORD}}}"   # printable ASCII, no spaces
NO_ID = "must not contain a resident ID number (refused: `contains_id_number`)"
_REASONS = {"length": ("invalid_length", _l("The number has the wrong length.")),
            "format": ("invalid_format", _l("The number contains characters that are not "
                                            "allowed at their position.")),
            "checksum": ("invalid_check_digit", _l("The check character (the last one) does "
                                                   "not match the rest of the number.")),
            "birth_date": ("invalid_birth_date", _l("The ID number contains an impossible "
                                                    "birth date.")),
            "region": ("invalid_region", _l("The ID number contains an unknown region code."))}


def _no_nul(value: str) -> str:
    if "\x00" in value:            # cannot be stored (PostgreSQL text), never meant
        raise problem("invalid_character")
    return value


def _no_id(value: str) -> str:
    # Published as written once the case is, or kept in the audit log: no resident ID number.
    if identifiers.contains_ric_number(value):
        raise problem("contains_id_number", _l("This field must not contain a resident ID number."))
    return value


def text(max_length: int, description: str = "", *checks, **schema):
    """Text (stripped; blank or null is not given; no NUL)."""
    return Annotated[str, BLANK_IS_ABSENT, Field(max_length=max_length, description=description,
                                                 json_schema_extra=schema or None),
                     AfterValidator(_no_nul), *[AfterValidator(c) for c in checks]]


def _reference(pattern: str):
    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise problem("invalid_reference", _l(
                "The system may contain letters, digits, dot, dash and underscore (up to 30); "
                "the record id printable characters without spaces (up to 79)."))
        return value
    return check


def code(validator, description: str):
    """An identifier, checked with its check character and answered normalised."""
    def check(value: str) -> str:
        try:
            return validator(value)
        except identifiers.InvalidIdentifier as failure:
            raise problem(*_REASONS.get(failure.reason, _REASONS["format"])) from None
    return text(64, description, check)


def _amount(value) -> Decimal | None:
    if value == "":
        return None
    refused = problem("invalid_amount", _l("The amount must be a number of yuan from 0 with at "
                                           "most two decimals."))
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise refused
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise refused from None
    if not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT or amount != amount.quantize(
            Decimal("0.01")):
        raise refused
    return amount.quantize(Decimal("0.01"))


def count(maximum: int, description: str):
    def check(value) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
            raise problem("invalid_count", _l("This field must be a whole number from 0."))
        return value
    return Annotated[int, PlainValidator(check), WithJsonSchema({
        "type": "integer", "minimum": 0, "maximum": maximum, "description": description})]


class ExternalRef(Body):
    """The record's reference, scoped to the calling API client: another client's identical
    reference is another record."""

    system: text(64, "The calling business system (e.g. sbjf). Must not contain a resident "
                 "ID number.", _no_id, _reference(SYSTEM_PATTERN), pattern=f"^{SYSTEM_PATTERN}$")
    record_id: text(MAX_RECORD, "The record's id in that system. Must not contain a resident "
                    "ID number (refused: `contains_id_number`).", _no_id,
                    _reference(RECORD_PATTERN), pattern=f"^{RECORD_PATTERN}$")


class PersonIn(Body):
    name: text(100)
    id_number: code(validate_ric_today, "Resident ID number (GB 11643 check digit).") = None


class LegalRepresentative(PersonIn):
    """Organisations: required, with name and ID number."""

    id_number: code(validate_ric_today, "Resident ID number (GB 11643 check digit).")


ORGANISATION_ONLY = ("uscc", "org_code", "reg_no", "unit_kind", "legal_representative",
                     "responsible_persons")


class SubjectIn(Body):
    kind: Literal[tuple(SUBJECT_KINDS)]
    name: text(200)
    uscc: code(identifiers.validate_uscc, "Unified social credit code (GB 32100 check "
               "character). Organisations: one of uscc, org_code, reg_no is required.") = None
    org_code: code(identifiers.validate_org_code, "Old organisation code (GB 11714); must "
                   "match the USCC's characters 9–17 when both are given.") = None
    reg_no: code(identifiers.validate_reg_no, "Old business registration number (15 digits, "
                 "ISO 7064 MOD 11,10).") = None
    id_number: code(validate_ric_today, "Persons only: resident ID number.") = None
    address: text(300) = None
    unit_kind: Annotated[Literal[tuple(UNIT_KINDS)], Field(description=(
        "Organisations: the kind of unit (employer, agreement medical institution, agreement "
        "retail pharmacy); behaviours of the catalogue are found only against the kinds they "
        "apply to. Recorded when first stated for a registered unit."))] = None
    legal_representative: LegalRepresentative = None
    responsible_persons: Annotated[list[PersonIn], Field(max_length=20)] = None

    @model_validator(mode="after")
    def _for_its_kind(self):
        """Fields of the other kind of subject, and what each kind requires."""
        problems = []
        if self.kind == "person":
            problems += [((name,), "not_for_kind") for name in ORGANISATION_ONLY
                         if getattr(self, name) not in (None, [])]
            if self.id_number is None:
                problems.append((("id_number",), "required"))
        else:
            if self.id_number is not None:
                problems.append((("id_number",), "not_for_kind"))
            if not (self.uscc or self.org_code or self.reg_no):
                problems.append((("uscc",), "required"))
            if self.uscc and self.org_code and identifiers.org_code_from_uscc(
                    self.uscc) != self.org_code:
                problems.append((("org_code",), "code_mismatch"))
            if self.legal_representative is None:
                problems.append((("legal_representative",), "required"))
        if problems:
            raise merged(SubjectIn, [{"loc": loc, "type": kind, "ctx": {
                "message": KIND_MESSAGES.get(kind)}} for loc, kind in problems])
        return self


KIND_MESSAGES = {
    "not_for_kind": _l("This field does not apply to this kind of subject."),
    "code_mismatch": _l("The organisation code differs from the one contained in the unified "
                        "social credit code."),
}


class IntegrationCaseRequest(Body):
    # inline in the document: the reference's own rules are read with the case
    external_ref: Annotated[ExternalRef, WithJsonSchema(ExternalRef.model_json_schema())]
    subject: SubjectIn
    ground: text(20, "Ground code of the portal's profile; it must apply to the subject's kind.")
    facts: text(10000, f"Published as written once the case is published: {NO_ID}.", _no_id)
    reasons: text(10000, "As facts: no resident ID number.", _no_id) = None
    amount: Annotated[Decimal, PlainValidator(_amount), WithJsonSchema({
        "type": ["string", "number"], "description": "Yuan, 0 or more, at most two decimals "
        "(a string keeps them exact)."})] = None
    months: count(1200, "Months (of arrears, of benefits drawn …) where the ground's threshold "
                  "counts them.") = None
    person_times: count(10**7, "Person-times (人次) where the ground's threshold counts them.") = None
    alternative_met: Annotated[bool, Field(strict=True, description=(
        "The figures are below the ground's threshold but the alternative it names is "
        "established (e.g. not returned despite an order). A case whose figures do not reach "
        "its ground's threshold is refused with `below_threshold` and a message citing the "
        "threshold."))] = None
    document_no: text(60, "", _no_id) = None
    department: text(120, "Default: the profile's authority.", _no_id) = None
    department_contact: text(120, "", _no_id) = None

    @model_validator(mode="wrap")
    @classmethod
    def _rules(cls, data, handler, info):
        """The rules of the client's bureau: its grounds, for the subject's kind, and their
        thresholds (only for a case with no other problem), reported with the others."""
        profile = (info.context or {}).get("profile")
        problems = []
        try:
            case = handler(data)
        except ValidationError as error:
            problems, case = error.errors(), None
        ground = data.get("ground") if isinstance(data, dict) else None
        subject = data.get("subject") if isinstance(data, dict) else None
        kind = subject.get("kind") if isinstance(subject, dict) else None
        if isinstance(ground, str) and 0 < len(ground.strip()) <= 20:
            known = {g.code: g for g in profile.grounds} if profile is not None else {}
            if ground.strip() not in known and profile is not None:
                problems.append(_rule("unknown_ground", _l(
                    "The ground is not one of the grounds of this portal's profile.")))
            elif kind in SUBJECT_KINDS and profile is not None and kind not in known[
                    ground.strip()].subject_kinds:
                problems.append(_rule("ground_not_for_kind", _l(
                    "This ground does not apply to this kind of subject.")))
        if problems:
            raise merged(cls, problems)
        if profile is not None and case.ground is not None:
            short = thresholds.shortfall(profile.ground(case.ground), case.figures())
            if short is not None:       # the rule the case form asks and open_case enforces
                field = (short.missing or [lim.figure for lim in short.threshold.limits])[0]
                raise merged(cls, [{"loc": (field,), "type": "below_threshold", "ctx": {
                    "message": LazyString(threshold_messages.refusal, short)}}])
        return case

    def inputs(self, contact: str, jurisdiction: str | None) -> tuple[SubjectInput, CaseInput]:
        """The subject and the case as the services take them (``contact``: the department's,
        the client's bureau's by default)."""
        s, kind = self.subject, SubjectKind(self.subject.kind)
        if kind is SubjectKind.PERSON:
            subject = SubjectInput(kind=kind, name=s.name, id_number=s.id_number, address=s.address)
        else:
            rep = s.legal_representative
            subject = SubjectInput(
                kind=kind, name=s.name, uscc=s.uscc, org_code=s.org_code, reg_no=s.reg_no,
                unit_kind=s.unit_kind, address=s.address,
                legal_rep=PersonInput(rep.name, rep.id_number),
                responsible=tuple(PersonInput(p.name, p.id_number)
                                  for p in s.responsible_persons or ()))
        external_ref = f"{self.external_ref.system}:{self.external_ref.record_id}"
        figures = self.figures()
        return subject, CaseInput(
            ground=self.ground, facts=self.facts, reasons=self.reasons or "",
            document_no=self.document_no, amount=figures.amount, months=figures.months,
            person_times=figures.person_times, alternative_met=figures.alternative_met,
            department=self.department or "", department_contact=contact or "",
            external_ref=external_ref, jurisdiction=jurisdiction)

    def figures(self) -> thresholds.Figures:
        return thresholds.Figures(amount=self.amount, months=self.months,
                                  person_times=self.person_times,
                                  alternative_met=self.alternative_met is True)


def _rule(kind: str, message) -> dict:
    return {"loc": ("ground",), "type": kind, "ctx": {"message": message}}


class IntegrationStatusRequest(Body):
    code: text(64, "USCC, old organisation code, old business registration number or resident "
               "ID number (full; check character verified).")


class FeedQuery(Query):
    cursor: Annotated[int, PlainValidator(lambda value: _feed_position(value)), WithJsonSchema({
        "type": "string", "pattern": "^i1\\.[A-Za-z0-9_-]{1,24}$",
        "description": "next_cursor of the previous answer (a cursor the portal did not issue "
        "is refused: invalid_cursor)."})] = None
    limit: integer(1, 1000, "Events to read.", strict=True) = 100


def _feed_position(value: Any) -> int:
    position = decode_cursor(str(value))
    if position is not None:
        return position
    raise problem("invalid_cursor", _l("The cursor is not valid. Start without one, or pass on "
                                       "the next_cursor of the previous answer unchanged."))


# --------------------------------------------------------------------------
# Webhooks
# --------------------------------------------------------------------------

#: Largest position a replay may start from (a JSON number every client reads exactly).
MAX_POSITION = 2 ** 53


class WebhookRequest(Body):
    url: Annotated[str, Field(max_length=500, pattern=r"^https?://", description=(
        "Where the events go: an https:// address (refused: `https_required`); no user or "
        "password, no fragment (refused: `invalid_url`). Redirects are not followed."))]
    event_types: Annotated[list[Literal[WEBHOOK_EVENTS]], Field(min_length=1, description=(
        "The case events to receive (the `event` of GET /changes), and `watch.<event>` for "
        "what this client's watchlists are told (listed, corrected, under_objection, "
        "objection_closed, removed)."))]


class WebhookReplayRequest(Body):
    from_position: Annotated[int, Field(ge=0, le=MAX_POSITION, strict=True, description=(
        "Deliver again every event after this feed position (`position` of an event, or 0 "
        "for all), with the same event ids."))]


class DeliveryQuery(Query):
    cursor: Annotated[int, PlainValidator(lambda value: _delivery_cursor(value)), WithJsonSchema({
        "type": "string", "pattern": "^w1\\.[A-Za-z0-9_-]{1,24}$",
        "description": "next_cursor of the previous answer (a cursor the portal did not issue "
        "is refused: invalid_cursor)."})] = None
    limit: integer(1, 200, "Deliveries to read.", strict=True) = 50
    status: Annotated[Literal["pending", "delivered", "dead", "withdrawn"], Field(description=(
        "Only the deliveries of this status."))] = None


def encode_delivery_cursor(delivery_id: int) -> str:
    return cursors.encode("w1", str(delivery_id))


def _delivery_cursor(value: Any) -> int:
    text = cursors.decode(str(value), "w1") or ""
    if text.isdigit() and len(text) <= 18:
        return int(text)
    raise problem("invalid_cursor", _l("The cursor is not valid. Start without one, or pass on "
                                       "the next_cursor of the previous answer unchanged."))
