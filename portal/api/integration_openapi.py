"""OpenAPI description of ``/api/v1/integration`` merged into the API's document.

:func:`integration_document` is the public document of :mod:`portal.api.openapi`
plus the integration paths, their schemas and the bearer ``securityScheme``;
it is served at ``/api/v1/integration/openapi.json``. The public document
(``/api/v1/openapi.json``) stays the description of the open, anonymous API.
"""
from __future__ import annotations

import copy

from portal.api.openapi import (
    DATE,
    DATE_OR_NULL,
    TERM,
    TERM_OR_NULL,
    TEXT_OR_NULL,
    _object,
    _ref,
    document,
)
from portal.models import CaseOrigin
from portal.rules.profiles import SEVERITIES, SUBJECT_KINDS, UNIT_KINDS
from portal.rules.workflow import CaseState, RemovalReason

STATES = [s.value for s in CaseState]
TEXT = {"type": "string"}
ERRORS = {
    "400": "Malformed body or parameter (`error.field` names it).",
    "401": "No token, or an unknown or revoked one (`WWW-Authenticate: Bearer …`).",
    "403": "The client lacks the scope of this endpoint (`error=\"insufficient_scope\"`).",
    "409": "This client used the external reference before with another body (subject, "
           "ground, facts, reasons, amount, document number or department).",
    "413": "The body is larger than 64 KiB.",
    "422": "Fields are missing or invalid: `error.errors` lists each with its path, code and "
           "message.",
    "429": "Too many calls of this client; retry after `Retry-After` seconds.",
    "500": "Internal error.",
}


def _responses(ok: dict, codes: tuple, ok_codes=("200",), descriptions=None) -> dict:
    out = {}
    for code in ok_codes:
        out[code] = {"description": (descriptions or {}).get(code, "OK"),
                     "content": {"application/json": {"schema": ok}}}
    for code in codes:
        out[code] = {"description": ERRORS[code],
                     "content": {"application/json": {"schema": _ref("Error")}}}
    return out


def _operation(method: str, scope: str, summary: str, description: str, responses: dict,
               body: dict | None = None, parameters: list | None = None) -> dict:
    op = {"summary": summary, "description": description + f"\n\nScope: `{scope}`.",
          "security": [{"bearerToken": [scope]}], "tags": ["integration"],
          "parameters": [*(parameters or []), {"$ref": "#/components/parameters/lang"}],
          "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return {method: op}


def _schemas(grounds: list[str]) -> dict:
    subject = _object({"kind": {"type": "string", "enum": list(SUBJECT_KINDS)},
                       "name": TEXT,
                       "code": {"type": "string", "description": "USCC (or old code) of an "
                                "organisation; a person's ID number masked (first 4 and last 4)."}})
    person_in = _object({"name": {"type": "string", "maxLength": 100},
                         "id_number": {"type": "string", "description": "Resident ID number "
                                       "(GB 11643 check digit)."}}, ["name"])
    case_base = {"case_no": TEXT, "state": {"type": "string", "enum": STATES},
                 "ground_code": TEXT, "ground_text": TEXT,
                 "severity": {"type": "string", "enum": list(SEVERITIES)},
                 "subject": _ref("IntegrationSubject")}
    return {
        "IntegrationSubject": subject,
        "IntegrationCaseRequest": _object({
            "external_ref": _object({
                "system": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$",
                           "description": "The calling business system (e.g. sbjf). Must not "
                           "contain a resident ID number."},
                "record_id": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,79}$",
                              "description": "The record's id in that system. Must not contain "
                              "a resident ID number (refused: `contains_id_number`)."}}) | {
                "description": "The record's reference, scoped to the calling API client: "
                "another client's identical reference is another record."},
            "subject": _object({
                "kind": {"type": "string", "enum": list(SUBJECT_KINDS)},
                "name": {"type": "string", "maxLength": 200},
                "uscc": {"type": "string", "description": "Unified social credit code "
                         "(GB 32100 check character). Organisations: one of uscc, org_code, "
                         "reg_no is required."},
                "org_code": {"type": "string", "description": "Old organisation code (GB 11714); "
                             "must match the USCC's characters 9–17 when both are given."},
                "reg_no": {"type": "string", "description": "Old business registration number "
                           "(15 digits, ISO 7064 MOD 11,10)."},
                "id_number": {"type": "string", "description": "Persons only: resident ID number."},
                "address": {"type": "string", "maxLength": 300},
                "unit_kind": {"type": "string", "enum": list(UNIT_KINDS), "description":
                              "Organisations: the kind of unit (employer, agreement medical "
                              "institution, agreement retail pharmacy); behaviours of the "
                              "catalogue are found only against the kinds they apply to. Recorded "
                              "when first stated for a registered unit."},
                "legal_representative": {**person_in, "description": "Organisations: required, "
                                         "with name and ID number."},
                "responsible_persons": {"type": "array", "maxItems": 20, "items": person_in},
            }, ["kind", "name"]),
            "ground": {"type": "string", "enum": list(grounds), "description": "Ground code of "
                       "the portal's profile; it must apply to the subject's kind."},
            "facts": {"type": "string", "maxLength": 10000, "description": "Published as "
                      "written once the case is published: must not contain a resident ID "
                      "number (refused: `contains_id_number`)."},
            "reasons": {"type": "string", "maxLength": 10000, "description": "As facts: no "
                        "resident ID number."},
            "amount": {"type": ["string", "number"], "description": "Yuan, 0 or more, at most two "
                       "decimals (a string keeps them exact)."},
            "months": {"type": "integer", "minimum": 0, "maximum": 1200, "description":
                       "Months (of arrears, of benefits drawn …) where the ground's threshold "
                       "counts them."},
            "person_times": {"type": "integer", "minimum": 0, "description": "Person-times (人次) "
                             "where the ground's threshold counts them."},
            "alternative_met": {"type": "boolean", "description": "The figures are below the "
                                "ground's threshold but the alternative it names is established "
                                "(e.g. not returned despite an order). A case whose figures do not "
                                "reach its ground's threshold is refused with `below_threshold` "
                                "and a message citing the threshold."},
            "document_no": {"type": "string", "maxLength": 60},
            "department": {"type": "string", "maxLength": 120, "description": "Default: the "
                           "profile's authority."},
            "department_contact": {"type": "string", "maxLength": 120},
        }, ["external_ref", "subject", "ground", "facts"]),
        "IntegrationCase": _object({"data": _object({
            "case_no": TEXT, "state": {"type": "string", "enum": STATES},
            "origin": {"type": "string", "enum": [o.value for o in CaseOrigin]},
            "created": {"type": "boolean", "description": "false: the case opened earlier for "
                        "this external reference."},
            "ground_code": TEXT, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "opened_on": DATE,
            "external_ref": _object({"system": TEXT, "record_id": TEXT}),
            "subject": _ref("IntegrationSubject")})}),
        "IntegrationStatusRequest": _object({"code": {
            "type": "string", "maxLength": 64, "description": "USCC, old organisation code, old "
            "business registration number or resident ID number (full; check character "
            "verified)."}}),
        "IntegrationStatus": _object({
            "query": _object({"kind": {"type": "string",
                                       "enum": ["uscc", "org_code", "reg_no", "ric"]},
                              "code_masked": TEXT}),
            "warning": {"type": "string", "enum": ["block", "flag", "none"], "description":
                        "block: the subject is on the list now (listing decided or published, "
                        "term running): refuse or restrict the business (限制业务经办或待遇支付). "
                        "flag: not listed, but a listing procedure is running or the person is "
                        "the legal representative / a responsible person of a listed "
                        "organisation, or it has a credit grade from a finding that still counts "
                        "(Zhengzhou §四): handle with care and follow up. none: none of these."},
            "warning_reasons": {"type": "array", "items": {"type": "string", "enum": [
                "listed", "pending_procedure", "related_person_of_listed_subject",
                "credit_grade"]}},
            "listed": {"type": "boolean"},
            "known_subject": {"type": "boolean", "description": "The bureau has a record of "
                              "this subject (any case)."},
            "listings": {"type": "array", "items": _object({
                **case_base, "decided_on": DATE, "published_on": DATE_OR_NULL,
                "term_start": {**DATE, "description": "Date of the listing decision: the "
                               "term runs from the day after it."},
                **TERM,
                "measures": {"type": "array", "items": TEXT, "description": "Codes of the "
                             "profile's measures that apply (see the entry page)."}})},
            "pending": {"type": "array", "items": _object({
                **case_base, "opened_on": DATE, "pre_notice_served_on": DATE_OR_NULL,
                "defence_due_on": DATE_OR_NULL})},
            "recently_removed": {"type": "array", "description": "Removed within the bureau's "
                                 "recent period (365 days unless it sets another); "
                                 "annulled listings (objection upheld, decision revoked) are not "
                                 "reported.", "items": _object({
                                     **case_base, "removed_on": DATE, **TERM_OR_NULL,
                                     "removal_reason": {"type": "string", "enum": [
                                         r.value for r in RemovalReason]}})},
            "related_listings": {"type": "array", "description": "ID numbers only: listed "
                                 "organisations this person represents or is responsible for.",
                                 "items": _object({**case_base, "role": {"type": "string", "enum": [
                                     "legal_representative", "responsible"]},
                                     **TERM_OR_NULL})},
            "credit_grade": {"oneOf": [{"type": "null"}, _object({
                "grade": {"type": "string", "enum": list(SEVERITIES)},
                "profile": TEXT, "until": DATE_OR_NULL,
                "behaviours": {"type": "array", "items": TEXT, "description": "Catalogue codes "
                               "of the findings that count today."}})],
                "description": "The worst grade among the subject's findings that count today "
                "(一般 / 较重 / 严重); null: no finding counts."},
            "red_list": {"type": "array", "items": _object({
                "public_id": TEXT, "name": TEXT, "code": TEXT,
                "criteria": {"type": "array", "items": TEXT}, "admitted_on": DATE,
                "valid_until": DATE_OR_NULL})},
            "checked_on": DATE,
        }),
        "IntegrationChange": _object({
            "position": {"type": "integer"}, "case_no": TEXT,
            "event": {"type": "string", "enum": [
                "opened", "pre_notice_served", "defence_filed", "reviewed", "listing_proposed",
                "sent_back", "listing_decided", "dropped", "published", "shared", "removed",
                "removal_shared"]},
            "state": {"type": ["string", "null"], "enum": [*STATES, None],
                      "description": "State after the event; null: the event changes no state."},
            "date": {**DATE, "description": "The day the event takes effect."},
            "recorded_at": {"type": "string", "format": "date-time"},
            "ground_code": TEXT, "severity": {"type": "string", "enum": list(SEVERITIES)},
            "origin": {"type": "string", "enum": [o.value for o in CaseOrigin]},
            "external_ref": {**TEXT_OR_NULL, "description": "`<system>:<record_id>` of a case "
                             "the calling client opened; null for every other case."},
            "subject": _ref("IntegrationSubject"),
            **TERM_OR_NULL, "removal_reason": TEXT_OR_NULL,
        }, ["position", "case_no", "event", "state", "date", "recorded_at", "ground_code",
            "severity", "origin", "external_ref", "subject"]),
        "IntegrationChangePage": _object({
            "data": {"type": "array", "items": _ref("IntegrationChange")},
            "next_cursor": TEXT, "has_more": {"type": "boolean"}}),
    }


def _paths() -> dict:
    return {
        "/integration/cases": _operation(
            "post", "cases:write", "Open a case from a business-system record",
            "The case starts `opened` with origin `integration`, unassigned, in the clerks' "
            "queue. Idempotent on `external_ref`, which belongs to the calling client: the "
            "same reference of the same client answers 200 with the case opened for it before "
            "(201 for a new case) when the body is the same; with another body (subject, ground, "
            "facts, reasons, amount, document number, department) it is a 409. "
            "Another client's identical reference is another record: it never finds, nor "
            "blocks, this client's case. References, facts, reasons, document number and "
            "department fields must not contain a resident ID number, in any written shape "
            "(422 `contains_id_number`). Identifiers are checked with their check characters; the ground "
            "must belong to the portal's profile and apply to the subject's kind. Answers show "
            "masked ID numbers only.",
            _responses(_ref("IntegrationCase"), ("400", "401", "403", "409", "413", "422", "429",
                                                 "500"),
                       ("200", "201"), {"200": "The case opened earlier for this reference.",
                                        "201": "A new case."}),
            _ref("IntegrationCaseRequest")),
        "/integration/status": _operation(
            "post", "status:read", "Warning (预警) for one subject",
            "Is this unit or person on the list now, in a listing procedure, recently removed, "
            "on the red list? The code goes in the body, never in the address, so it does not "
            "reach access logs. Exact match: a USCC also finds old records under its "
            "organisation code; an ID number is compared by keyed hash and also finds the "
            "organisations the person represents. Covers unpublished listings too. Only masked "
            "ID numbers are answered. `warning`: block / flag / none (see the schema).",
            _responses(_ref("IntegrationStatus"), ("400", "401", "403", "413", "422", "429",
                                                   "500")),
            _ref("IntegrationStatusRequest")),
        "/integration/changes": _operation(
            "get", "changes:read", "Case events",
            "Every step of every case (opened, pre-notice served, … published, removed), oldest "
            "first, from the audit chain. Start without `cursor`; then pass `next_cursor` back "
            "unchanged (opaque). Guarantee: positions are handed out under the audit chain's "
            "lock in commit order, so no event is ever skipped, even one whose transaction "
            "commits while you read; each event appears exactly once. has_more=false: poll "
            "later.",
            _responses(_ref("IntegrationChangePage"), ("400", "401", "403", "429", "500")),
            parameters=[
                {"name": "cursor", "in": "query", "required": False,
                 "schema": {"type": "string", "pattern": "^i1\\.[A-Za-z0-9_-]{1,24}$"},
                 "description": "next_cursor of the previous answer (a cursor the portal did "
                 "not issue is refused: invalid_cursor)."},
                {"name": "limit", "in": "query", "required": False, "description": "Events to "
                 "read.", "schema": {"type": "integer", "minimum": 1, "maximum": 1000,
                                     "default": 100}}]),
        "/integration/openapi.json": {"get": {
            "summary": "This document", "description": "The API description with the "
            "integration endpoints.", "tags": ["integration"], "security": [],
            "parameters": [{"$ref": "#/components/parameters/lang"}],
            "responses": {"200": {"description": "OK", "content": {"application/json": {
                "schema": {"type": "object"}}}},
                "400": {"description": ERRORS["400"], "content": {"application/json": {
                    "schema": _ref("Error")}}}}}},
    }


def integration_document(base_url: str, grounds: list[str]) -> dict:
    doc = copy.deepcopy(document(base_url, grounds))
    doc["info"]["title"] += " (with the integration API)"
    doc["info"]["description"] += (
        " Integration endpoints (/integration/…) are for the bureau's business systems: each "
        "call carries `Authorization: Bearer <token>` of an API client that an administrator "
        "created (back office → API clients), and each endpoint needs one scope. Every call is "
        "audited; ID numbers never appear in answers, addresses or the audit log.")
    doc["paths"].update(_paths())
    components = doc["components"]
    components["schemas"].update(_schemas(grounds))
    error = components["schemas"]["Error"]["properties"]["error"]["properties"]
    error["code"] = {**error["code"], "description": error["code"]["description"] + (
        " Integration: missing_token, invalid_token, insufficient_scope, invalid_json, "
        "body_too_large, invalid_fields (see errors), invalid_identifier, "
        "external_ref_conflict.")}
    error["errors"] = {"type": "array", "description": "422: every invalid field.",
                       "items": _object({"field": TEXT, "code": TEXT, "message": TEXT})}
    components["securitySchemes"] = {"bearerToken": {
        "type": "http", "scheme": "bearer", "description": "Token of an API client (isk_…), "
        "shown once when it is created. Scopes: cases:write, status:read, changes:read."}}
    doc["tags"] = [{"name": "integration", "description": "For the bureau's own systems."}]
    return doc
