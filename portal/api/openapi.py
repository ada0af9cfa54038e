"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``).

Written by hand next to the views; ``tests/web/test_api.py`` validates it and
checks that every route of the blueprint is described and nothing else.
"""
from __future__ import annotations

from portal.api.params import CURSOR_PATTERN
from portal.json_errors import LANGUAGES
from portal.paging import API_MAX_PAGE
from portal.paging import CURSOR_PATTERN as LIST_CURSOR_PATTERN
from portal.rules.profiles import SEVERITIES, SUBJECT_KINDS
from portal.rules.workflow import RemovalReason

DATE = {"type": "string", "format": "date"}
DATE_OR_NULL = {"type": ["string", "null"], "format": "date"}
TEXT_OR_NULL = {"type": ["string", "null"]}
URL_OR_NULL = {"type": ["string", "null"], "format": "uri"}
_LAST_DAY = ("The last day of the term: the subject is still on the list on this day (the "
             "same day of the month N years after the decision).")
_LEAVES = "The day the subject leaves the list when the term ends: the day after term_last_day."
#: The two dates of a term, named the same way in every API body (replacing ``term_end``).
TERM = {"term_last_day": {**DATE, "description": _LAST_DAY},
        "leaves_list_on": {**DATE, "description": _LEAVES}}
TERM_OR_NULL = {"term_last_day": {**DATE_OR_NULL, "description": _LAST_DAY},
                "leaves_list_on": {**DATE_OR_NULL, "description": _LEAVES}}
PROVISIONAL_DATES = {
    "type": "array", "items": {"type": "string", "enum": [
        "rectification_closes_on", "repair_opens_on"]},
    "description": "The dates of this entry that rest on a provisional holiday calendar (a "
    "year whose State Council schedule is not yet published): they may move when it is.",
}
REF = "#/components/schemas/"
ERRORS = {
    "400": "A parameter is missing, unknown or invalid (`error.field` names it).",
    "404": "Nothing at this address, no public entry with this id (in the jurisdiction asked "
           "for), or no such jurisdiction (error.code unknown_jurisdiction).",
    "405": "Only GET (and HEAD) are answered.",
    "410": "The entry is no longer published (withdrawn): `error.withdrawn_on` and `error.reason` "
           "(credit_repaired, objection_upheld, revoked, period_ended) say when and why.",
    "429": "Too many requests from this address; retry after the `Retry-After` seconds.",
    "500": "Internal error.",
    "503": "The request ran out of its time budget, or the database is unavailable; retry after "
           "the `Retry-After` seconds (error.code: timeout or unavailable).",
}


def _ref(name: str) -> dict:
    return {"$ref": REF + name}


def _query(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description,
            "schema": schema}


def _get(summary: str, description: str, parameters: list, ok: dict, errors: tuple,
         scoped: bool = True) -> dict:
    """``scoped``: the operation takes ``jurisdiction`` (and may then answer 404)."""
    if scoped and "404" not in errors:
        errors = (*errors, "404")
    responses = {"200": {"description": "OK", "content": {"application/json": {"schema": ok}}}}
    for code in sorted(errors):
        responses[code] = {"description": ERRORS[code],
                           "content": {"application/json": {"schema": _ref("Error")}}}
    common = [{"$ref": "#/components/parameters/jurisdiction"}] if scoped else []
    return {"get": {"summary": summary, "description": description,
                    "parameters": [*parameters, *common, {"$ref": "#/components/parameters/lang"}],
                    "responses": responses}}


def _object(properties: dict, required: list | None = None) -> dict:
    return {"type": "object", "properties": properties,
            "required": required if required is not None else list(properties)}


PAGING = [
    _query("page", f"Page number, from 1, for the first {API_MAX_PAGE} pages. Beyond them (and "
           "to read a whole list), follow `links.next`: its `cursor` reads the next page from "
           "the last row of this one, as fast on the last page as on the first.",
           {"type": "integer", "minimum": 1, "maximum": API_MAX_PAGE, "default": 1}),
    _query("per_page", "Rows per page.", {"type": "integer", "minimum": 1, "maximum": 100,
                                           "default": 20}),
    _query("cursor", "Opaque cursor from `links.next` or `links.prev` of a previous answer, "
           "with the same filters (`page` is then ignored). A cursor the portal did not issue "
           "is refused (invalid_cursor).",
           {"type": "string", "pattern": f"^{LIST_CURSOR_PATTERN}$"}),
]
YEAR = {"type": "integer", "minimum": 1990, "maximum": 2100}
KIND = {"type": "string", "enum": list(SUBJECT_KINDS)}


def _schemas() -> dict:
    common = {
        "public_id": {"type": "string", "description": "Stable public id (E… entries, R… removals)."},
        "name": {"type": "string"},
        "subject_kind": KIND,
        "code": {"type": "string", "description": "Unified social credit code (or old "
                 "organisation code) of an organisation; a person's ID number is masked "
                 "(first 4 and last 4 characters)."},
        "ground_code": {"type": "string"},
        "ground_text": {"type": "string", "description": "Ground, Chinese."},
        "ground_text_en": {"type": "string", "description": "Ground, English."},
        "listed_on": {**DATE, "description": "Date of the listing decision."},
        "department": {"type": "string", "description": "Deciding department."},
        "jurisdiction": {"type": "string", "description": "Code of the jurisdiction (bureau) "
                         "that decided the listing: its rules apply to the record."},
        "profile": {"type": "string", "description": "Code of the rules (profile) the record "
                    "was decided under."},
    }
    entry = {
        **common,
        "url": {**URL_OR_NULL, "description": "Public entry page; null when the entry is "
                "disclosed only by exact look-up."},
        "severity": {"type": "string", "enum": list(SEVERITIES)},
        "term_start": {**DATE, "description": "Date of the listing decision: the term runs from "
                       "the day after it."},
        **TERM,
        "jurisdiction_name": {"type": "string", "description": "The jurisdiction's name, "
                              "Chinese."},
        "jurisdiction_name_en": {"type": "string", "description": "The jurisdiction's name, "
                                 "English."},
        "under_objection": {"type": "boolean"},
        "status": {"type": "string", "enum": ["listed", "removed"]},
        "extra_codes": {"type": "array", "items": {"type": "string"}},
        "legal_representative": {"oneOf": [{"type": "null"}, _object({
            "name": {"type": "string"}, "id_number_masked": TEXT_OR_NULL})]},
        "facts": {"type": "string"}, "reasons": {"type": "string"},
        "legal_basis": {"type": "string"}, "document_no": TEXT_OR_NULL,
        "department_contact": {"type": "string"}, "listing_year": {"type": "integer"},
        "published_on": DATE, "repeat_listing": {"type": "boolean"},
        "rectification_closes_on": {**DATE_OR_NULL, "description": "Last day to file "
                                    "rectification evidence; null where rectification does not "
                                    "apply."},
        "repair_opens_on": {**DATE_OR_NULL, "description": "First day a credit repair may be "
                            "applied for; null where the rules allow none."},
        "dates_provisional": PROVISIONAL_DATES,
        "corrected_on": {**DATE_OR_NULL, "description": "the day an upheld objection corrected "
                         "the facts or reasons shown (the contested text is not published)"},
        "removed_on": DATE_OR_NULL, "removal_reason": TEXT_OR_NULL,
        "removal_reason_text": TEXT_OR_NULL, "removal_reason_text_en": TEXT_OR_NULL,
        "version": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"},
        "decided_under": {"oneOf": [{"type": "null"}, _object({
            "document": {"type": "string"}, "document_en": {"type": "string"},
            "valid_from": DATE_OR_NULL, "valid_until": DATE_OR_NULL,
            "in_force_on_decision": {"type": "boolean"},
            "statement": {"type": "string"}, "statement_en": {"type": "string"},
        })], "description": "the rules the decision was taken under and their validity"},
    }
    removal = {
        **common,
        "removed_on": DATE,
        "reason": {"type": "string", "enum": [r.value for r in RemovalReason]},
        "reason_text": {"type": "string"}, "reason_text_en": {"type": "string"},
        "entry_public_id": {**TEXT_OR_NULL, "description": "null once the entry itself is no "
                            "longer published (after a credit repair)."},
        "entry_url": URL_OR_NULL,
        "version": {"type": "integer"},
        "updated_at": {"type": "string", "format": "date-time"},
    }
    redlist = {
        "public_id": {"type": "string"}, "name": {"type": "string"}, "code": {"type": "string"},
        "criteria": {"type": "array", "items": {"type": "string"}},
        "admitted_on": DATE, "valid_until": DATE_OR_NULL, "removed_on": DATE_OR_NULL,
        "removal_reason": TEXT_OR_NULL, "updated_at": {"type": "string", "format": "date-time"},
        "jurisdiction": {"type": "string", "description": "Code of the admitting jurisdiction."},
    }
    meta = _object({"page": {"type": "integer", "description": "The number of this page (from "
                             "a cursor: the number it had when the cursor was issued)."},
                    "per_page": {"type": "integer"},
                    "total": {"type": "integer", "description": "Rows in the list with these "
                              "filters, counted once per publication of the list."},
                    "pages": {"type": "integer"}})
    links = _object({"self": {"type": "string", "format": "uri"},
                     "next": {**URL_OR_NULL, "description": "The next page (a cursor link); "
                              "null at the end of the list."},
                     "prev": {**URL_OR_NULL, "description": "The previous page (a cursor link, "
                              "or page=N near the start); null on the first page."}})
    return {
        "Error": _object({"error": _object({
            "code": {"type": "string", "description": "Stable machine code, e.g. invalid_value, "
                     "out_of_range, invalid_integer, unknown_parameter, missing_parameter, "
                     "invalid_length, invalid_check_digit, invalid_identifier, unsupported_identifier, "
                     "invalid_cursor, too_long, "
                     "not_found, method_not_allowed, rate_limited, internal_error, timeout, "
                     "unavailable."},
            "message": {"type": "string", "description": "Translated explanation."},
            "field": {"type": "string", "description": "The offending parameter."},
            "allowed": {"type": "array", "items": {}},
            "minimum": {"type": "integer"}, "maximum": {"type": "integer"},
        }, ["code", "message"])}),
        "Entry": _object(entry),
        "Removal": _object(removal),
        "RedListEntry": _object(redlist),
        "EntryList": _object({"data": {"type": "array", "items": _ref("Entry")},
                              "meta": meta, "links": links}),
        "RemovalList": _object({"data": {"type": "array", "items": _ref("Removal")},
                                "meta": meta, "links": links}),
        "CheckResult": _object({
            "query": _object({"kind": {"type": "string",
                                       "enum": ["uscc", "ric"]},
                              "code_masked": {"type": "string"}}),
            "listed": {"type": "boolean", "description": "Currently on the list."},
            "entries": {"type": "array", "items": _ref("Entry")},
            "removals": {"type": "array", "items": _ref("Removal")},
        }),
        "Change": _object({
            "type": {"type": "string", "enum": ["entry", "removal", "redlist"]},
            "public_id": {"type": "string"},
            "changed_at": {"type": "string", "format": "date-time"},
            "deleted": {"type": "boolean", "description": "true: no longer public; drop it."},
            "withdrawn_on": {**DATE, "description": "with deleted: the day the record was "
                             "withdrawn from publication (when it had been public)"},
            "reason": {"type": "string", "description": "with deleted: why it was withdrawn",
                       "enum": ["credit_repaired", "objection_upheld", "revoked", "period_ended"]},
            "data": {"oneOf": [_ref("Entry"), _ref("Removal"), _ref("RedListEntry")]},
        }, ["type", "public_id", "changed_at", "deleted"]),
        "ChangePage": _object({
            "data": {"type": "array", "items": _ref("Change")},
            "next_cursor": {"type": "string"},
            "has_more": {"type": "boolean"},
        }),
    }


def document(base_url: str, grounds: list[str], jurisdictions: list[str] | None = None) -> dict:
    """The OpenAPI document; ``base_url`` is ``PORTAL_BASE_URL``, ``grounds`` the codes of the
    grounds of the portal's profiles (the only values ``ground`` may take), ``jurisdictions``
    the codes of the active jurisdictions (those ``jurisdiction`` may take; None: any code)."""
    place = {"type": "string", "pattern": "^[a-z][a-z0-9-]{1,19}$"}
    if jurisdictions:
        place = {"type": "string", "enum": list(jurisdictions)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Social insurance serious dishonesty list — public API",
            "version": "1.0.0",
            "description": (
                "Read-only access to the published list, the removals and the change log. "
                "Everything comes from the public projection: identity card numbers of persons "
                "are always masked; a full number can only be matched exactly (/check). "
                "Errors are JSON: {\"error\": {\"code\", \"message\", \"field\"}}. Messages "
                "are in Chinese unless lang=en. Every list and look-up takes `jurisdiction` "
                "(a bureau's code): its records and those of the bureaus below it; without it, "
                "the whole portal. Every record names its jurisdiction (code). "
                "Bulk downloads: /exports/entries.csv|xlsx|json "
                "and /exports/removals.csv|xlsx|json (also ?jurisdiction=); Atom feed: "
                "/feeds/changes.atom. "
                "The bureau's own systems (with an API client token): "
                "/api/v1/integration/openapi.json."),
        },
        "servers": [{"url": base_url.rstrip("/") + "/api/v1"}],
        "paths": {
            "/entries": _get(
                "Current list", "Entries currently listed and public, newest decision first.",
                [_query("ground", "Ground code of the profile of the jurisdictions asked for.",
                        {"type": "string", "enum": list(grounds)}),
                 _query("subject_kind", "organisation or person.", KIND),
                 _query("severity", "Severity class.", {"type": "string", "enum": list(SEVERITIES)}),
                 _query("year", "Year of the listing decision.", YEAR),
                 _query("department", "Deciding department (exact).",
                        {"type": "string", "maxLength": 120}),
                 *PAGING],
                _ref("EntryList"), ("400", "405", "500", "503")),
            "/entries/{public_id}": _get(
                "One entry", "A public entry, listed or removed (then with its removal).",
                [{"name": "public_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                _object({"data": _ref("Entry")}), ("400", "404", "405", "410", "500")),
            "/removals": _get(
                "Removals", "Published removal notices, newest removal first.",
                [_query("reason", "Removal reason.",
                        {"type": "string", "enum": [r.value for r in RemovalReason]}),
                 _query("subject_kind", "organisation or person.", KIND),
                 _query("year", "Year of the removal.", YEAR), *PAGING],
                _ref("RemovalList"), ("400", "405", "500", "503")),
            "/check": _get(
                "Exact look-up",
                "Is this unified social credit code or resident ID number listed (also: "
                "disclosed only to an exact look-up, as persons are under some profiles)? The "
                "check character is verified; old organisation codes and registration numbers "
                "are refused (unsupported_identifier). The answer shows masked identifiers "
                "only. Rate-limited per address. Not cached.",
                [_query("code", "The full identifier (spaces and separators are ignored; "
                        "at least one other character).",
                        {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "\\S"},
                        True)],
                _ref("CheckResult"), ("400", "405", "429", "500")),
            "/changes": _get(
                "Change log",
                "Changes to entries, removals and the red list in the order they were made, "
                "each with the record's current public representation, or deleted=true when it "
                "is no longer public. Start without `since`; then pass `next_cursor` back "
                "unchanged as `since` (the cursor is opaque). has_more=false: poll later.",
                [_query("since", "Cursor from a previous answer (a cursor the portal did not "
                        "issue is refused: invalid_cursor).",
                        {"type": "string", "pattern": f"^{CURSOR_PATTERN}$"}),
                 _query("limit", "Changes to read.", {"type": "integer", "minimum": 1,
                                                       "maximum": 1000, "default": 100})],
                _ref("ChangePage"), ("400", "405", "500")),
            "/openapi.json": _get("This document", "The OpenAPI description of the API.", [],
                                  {"type": "object"}, ("400", "405"), scoped=False),
        },
        "components": {
            "schemas": _schemas(),
            "parameters": {
                "lang": _query("lang", "Language of error messages: zh_CN "
                               "(default) or en; any other value is refused.",
                               {"type": "string", "enum": list(LANGUAGES)}),
                "jurisdiction": _query("jurisdiction", "Code of a jurisdiction (bureau): only "
                                       "its records and those of the bureaus below it. Without "
                                       "it: the whole portal. An unknown or inactive code is "
                                       "a 404 (unknown_jurisdiction).", place),
            },
        },
    }
