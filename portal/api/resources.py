"""The public API's contract (``/api/v1``): what each endpoint takes and what it answers.

Read by spectree (:mod:`portal.api.contract`) to validate requests and to write
``/api/v1/openapi.json``; the views in :mod:`portal.api.views` name these models.
"""
from __future__ import annotations

import base64
import datetime as dt
import re
from typing import Annotated, Any, ClassVar, Literal

from flask_babel import lazy_gettext as _l
from pydantic import ConfigDict, Field, PlainValidator, WithJsonSchema

from portal import paging
from portal.api.contract import BLANK_IS_ABSENT, Query, Resource, choice, integer, problem, text
from portal.rules.profiles import SEVERITIES, SUBJECT_KINDS
from portal.rules.workflow import RemovalReason

REASONS = [r.value for r in RemovalReason]
YEARS = (1990, 2100)
_LAST_DAY = ("The last day of the term: the subject is still on the list on this day (the "
             "same day of the month N years after the decision).")
_LEAVES = "The day the subject leaves the list when the term ends: the day after term_last_day."
Url = Annotated[str | None, WithJsonSchema({"type": ["string", "null"], "format": "uri"})]
Kind = Literal[tuple(SUBJECT_KINDS)]
Severity = Literal[tuple(SEVERITIES)]


# --------------------------------------------------------------------------
# Query parameters
# --------------------------------------------------------------------------

def _list_cursor(value) -> paging.Cursor:
    cursor = paging.decode_cursor(str(value))
    if cursor is None:
        raise problem("invalid_cursor", _l("The cursor is not valid. Start without one, or pass "
                                           "on a next or prev link of a previous answer "
                                           "unchanged."))
    return cursor


CHANGE_CURSOR = r"c1\.([A-Za-z0-9_-]{1,24})"


def encode_change_cursor(position: int) -> str:
    """Change-feed cursors are opaque to clients: "c1." + base64url of the outbox position."""
    raw = base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")
    return f"c1.{raw}"


def _change_cursor(value) -> int:
    match = re.fullmatch(CHANGE_CURSOR, str(value))
    if match:
        token = match.group(1)
        try:
            decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            decoded = ""
        if decoded.isdigit() and len(decoded) <= 18:
            return int(decoded)
    raise problem("invalid_cursor", _l("The cursor is not valid. Start without one, or pass on "
                                       "the next_cursor of the previous answer unchanged."))


Jurisdiction = Annotated[str, Field(description=(
    "Code of a jurisdiction (bureau): only its records and those of the bureaus below it. "
    "Without it: the whole portal. An unknown or inactive code is a 404 "
    "(unknown_jurisdiction)."), json_schema_extra={"pattern": "^[a-z][a-z0-9-]{1,19}$"})]
Year = integer(*YEARS, "Year of the listing decision.")


class Scoped(Query):
    #: checked by the view (the codes are the portal's data): 404 unknown_jurisdiction
    jurisdiction: Jurisdiction = None


class Paged(Scoped):
    page: integer(1, paging.API_MAX_PAGE, (
        f"Page number, from 1, for the first {paging.API_MAX_PAGE} pages. Beyond them (and to "
        "read a whole list), follow `links.next`: its `cursor` reads the next page from the "
        "last row of this one, as fast on the last page as on the first.")) = 1
    per_page: integer(1, 100, "Rows per page.") = 20
    cursor: Annotated[Any, PlainValidator(_list_cursor), WithJsonSchema({
        "type": "string", "pattern": f"^{paging.CURSOR_PATTERN}$",
        "description": "Opaque cursor from `links.next` or `links.prev` of a previous answer, "
        "with the same filters (`page` is then ignored). A cursor the portal did not issue is "
        "refused (invalid_cursor)."})] = None


class EntriesQuery(Paged):
    #: the values are the grounds of the profiles asked for: checked by the view, declared
    #: per request in the document
    ground: text(20, "Ground code of the profile of the jurisdictions asked for.") = None
    subject_kind: choice(SUBJECT_KINDS, "organisation or person.") = None
    severity: choice(SEVERITIES, "Severity class.") = None
    year: Year = None
    department: text(120, "Deciding department (exact).") = None


class RemovalsQuery(Paged):
    reason: choice(REASONS, "Removal reason.") = None
    subject_kind: choice(SUBJECT_KINDS, "organisation or person.") = None
    year: integer(*YEARS, "Year of the removal.") = None


class CheckQuery(Scoped):
    missing: ClassVar[dict] = {"code": _l(
        "Enter a unified social credit code or a resident ID number in the parameter code.")}
    # Longer input is cut to its first 64 characters, then checked (invalid_length …).
    code: Annotated[str, BLANK_IS_ABSENT, Field(description=(
        "The full identifier (spaces and separators are ignored; at least one other "
        "character)."), json_schema_extra={"minLength": 1, "maxLength": 64, "pattern": "\\S"})]


class ChangesQuery(Scoped):
    since: Annotated[int, PlainValidator(_change_cursor), WithJsonSchema({
        "type": "string", "pattern": f"^{CHANGE_CURSOR}$",
        "description": "Cursor from a previous answer (a cursor the portal did not issue is "
        "refused: invalid_cursor)."})] = None
    limit: integer(1, 1000, "Changes to read.") = 100


class LangOnly(Query):
    """``lang`` and nothing else."""


# --------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------

class Person(Resource):
    name: str
    id_number_masked: str | None


class DecidedUnder(Resource):
    document: str
    document_en: str
    valid_from: dt.date | None
    valid_until: dt.date | None
    in_force_on_decision: bool
    statement: str
    statement_en: str


class _Record(Resource):
    public_id: str = Field(description="Stable public id (E… entries, R… removals).")
    name: str
    subject_kind: Kind
    code: str = Field(description="Unified social credit code (or old organisation code) of "
                      "an organisation; a person's ID number is masked (first 4 and last 4 "
                      "characters).")
    ground_code: str
    ground_text: str = Field(description="Ground, Chinese.")
    ground_text_en: str = Field(description="Ground, English.")
    listed_on: dt.date = Field(description="Date of the listing decision.")
    department: str = Field(description="Deciding department.")
    jurisdiction: str = Field(description="Code of the jurisdiction (bureau) that decided the "
                              "listing: its rules apply to the record.")
    profile: str = Field(description="Code of the rules (profile) the record was decided "
                         "under.")


class Entry(_Record):
    url: Url = Field(description="Public entry page; null when the entry is disclosed only by "
                     "exact look-up.")
    severity: Severity
    term_start: dt.date = Field(description="Date of the listing decision: the term runs from "
                                "the day after it.")
    term_last_day: dt.date = Field(description=_LAST_DAY)
    leaves_list_on: dt.date = Field(description=_LEAVES)
    jurisdiction_name: str = Field(description="The jurisdiction's name, Chinese.")
    jurisdiction_name_en: str = Field(description="The jurisdiction's name, English.")
    under_objection: bool
    status: Literal["listed", "removed"]
    extra_codes: list[str]
    legal_representative: Person | None
    facts: str
    reasons: str
    legal_basis: str
    document_no: str | None
    department_contact: str
    listing_year: int
    published_on: dt.date
    repeat_listing: bool
    rectification_closes_on: dt.date | None = Field(description=(
        "Last day to file rectification evidence; null where rectification does not apply."))
    repair_opens_on: dt.date | None = Field(description=(
        "First day a credit repair may be applied for; null where the rules allow none."))
    dates_provisional: list[Literal["rectification_closes_on", "repair_opens_on"]] = Field(
        description="The dates of this entry that rest on a provisional holiday calendar (a "
        "year whose State Council schedule is not yet published): they may move when it is.")
    corrected_on: dt.date | None = Field(description=(
        "the day an upheld objection corrected the facts or reasons shown (the contested text "
        "is not published)"))
    removed_on: dt.date | None
    removal_reason: str | None
    removal_reason_text: str | None
    removal_reason_text_en: str | None
    version: int
    updated_at: dt.datetime
    decided_under: DecidedUnder | None = Field(description=(
        "the rules the decision was taken under and their validity"))


class Removal(_Record):
    removed_on: dt.date
    reason: Literal[tuple(REASONS)]
    reason_text: str
    reason_text_en: str
    entry_public_id: str | None = Field(description=(
        "null once the entry itself is no longer published (after a credit repair)."))
    entry_url: Url
    version: int
    updated_at: dt.datetime


class RedListEntry(Resource):
    public_id: str
    name: str
    code: str
    criteria: list[str]
    admitted_on: dt.date
    valid_until: dt.date | None
    removed_on: dt.date | None
    removal_reason: str | None
    updated_at: dt.datetime
    jurisdiction: str = Field(description="Code of the admitting jurisdiction.")


class Meta(Resource):
    page: int = Field(description="The number of this page (from a cursor: the number it had "
                      "when the cursor was issued).")
    per_page: int
    total: int = Field(description="Rows in the list with these filters, counted once per "
                       "publication of the list.")
    pages: int


class Links(Resource):
    self: Annotated[str, WithJsonSchema({"type": "string", "format": "uri"})]
    next: Url = Field(description="The next page (a cursor link); null at the end of the list.")
    prev: Url = Field(description="The previous page (a cursor link, or page=N near the "
                      "start); null on the first page.")


class EntryList(Resource):
    data: list[Entry]
    meta: Meta
    links: Links


class RemovalList(Resource):
    data: list[Removal]
    meta: Meta
    links: Links


class OneEntry(Resource):
    data: Entry


class CheckQueryEcho(Resource):
    kind: Literal["uscc", "ric"]
    code_masked: str


class CheckResult(Resource):
    query: CheckQueryEcho
    listed: bool = Field(description="Currently on the list.")
    entries: list[Entry]
    removals: list[Removal]


class Change(Resource):
    type: Literal["entry", "removal", "redlist"]
    public_id: str
    changed_at: dt.datetime
    deleted: bool = Field(description="true: no longer public; drop it.")
    withdrawn_on: dt.date = Field(None, description=(
        "with deleted: the day the record was withdrawn from publication (when it had been "
        "public)"))
    reason: Literal["credit_repaired", "objection_upheld", "revoked", "period_ended"] = Field(
        None, description="with deleted: why it was withdrawn")
    data: Entry | Removal | RedListEntry = None


class ChangePage(Resource):
    data: list[Change]
    next_cursor: str
    has_more: bool


class Document(Resource):
    """The OpenAPI document."""

    model_config = ConfigDict(extra="allow")
