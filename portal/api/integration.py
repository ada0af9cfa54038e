"""The integration API at ``/api/v1/integration`` for the bureau's own systems.

Blueprint ``integration``.

Business, finance, audit and internal-control systems (Zhengzhou §三) open
cases from their records, ask for the warning (预警) on a subject, and follow
the case events. Each call carries ``Authorization: Bearer <token>`` of an
API client created by an admin (``/admin/integration``); each endpoint
requires one scope. Errors are the JSON errors of :mod:`portal.json_errors`;
401 and 403 answers carry ``WWW-Authenticate`` (RFC 6750). Every call of a
client is audited (``api.call``, actor ``api:<client name>``) without any
full identifier; calls with a missing or bad token are audited as
``api.auth_failed``. Limits: ``PORTAL_INTEGRATION_RATE_LIMIT`` per client
(per address while no valid token is shown), shared by all endpoints.
"""
from __future__ import annotations

import datetime as dt
import logging
from functools import wraps

from flask import Blueprint, current_app, g, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import IntegrityError

from portal import clock, json_errors, ratelimit
from portal.api import contract
from portal.api import integration_reads as reads
from portal.api.integration_requests import (
    FeedQuery,
    IntegrationCaseRequest,
    IntegrationStatusRequest,
)
from portal.api.integration_resources import (
    IntegrationCase,
    IntegrationChangePage,
    IntegrationStatus,
)
from portal.api.integration_resources import (
    document as described_api,
)
from portal.api.resources import Document, LangOnly
from portal.extensions import csrf, db, limiter
from portal.json_errors import ApiError
from portal.models import ApiClient
from portal.rules.identifiers import detect, mask_identifier, normalise
from portal.rules.profiles import UnknownProfile, load_profile
from portal.security import lookup_hash
from portal.services import audit, jurisdictions, scope
from portal.services import integration as service
from portal.web import active_profile

bp = Blueprint("integration", __name__, url_prefix="/api/v1/integration")
csrf.exempt(bp)
json_errors.register(bp)
log = logging.getLogger(__name__)
REALM = 'Bearer realm="integration"'
_AUTH_KEY = "portal.integration_auth"


# --------------------------------------------------------------------------
# Authentication, scopes, limits, audit
# --------------------------------------------------------------------------

def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authentication() -> service.Authentication:
    """The request's client, resolved once per request (the rate limiter's key needs it first).

    Kept in the WSGI environ, not on ``g``: requests that share an application
    context (tests, CLI) must not inherit another request's client.
    """
    found = request.environ.get(_AUTH_KEY)
    if found is None:
        found = request.environ[_AUTH_KEY] = service.authenticate(db.session, _presented_token())
    return found


def rate_key() -> str:
    found = _authentication()
    return f"api-client:{found.client.id}" if found.client is not None and found.reason is None \
        else ratelimit.keyed("api-anonymous", get_remote_address() or "-")


def _rate_limit() -> str:
    return current_app.config.get("PORTAL_INTEGRATION_RATE_LIMIT", "120/minute")


shared_limit = limiter.shared_limit(_rate_limit, scope="integration", key_func=rate_key)


class AuthFailure(ApiError):
    """401 / 403 with the ``WWW-Authenticate`` challenge."""

    def __init__(self, status: int, code: str, message, challenge: str) -> None:
        super().__init__(status, code, message)
        self.challenge = challenge


def _now() -> dt.datetime:
    return clock.now()


def _refuse(reason: str, client: ApiClient | None) -> AuthFailure:
    """Audit the refused call (reason, never the token) and build the 401."""
    db.session.rollback()
    audit.record(db.session, audit.PUBLIC, "api.auth_failed", "api_client",
                 client.name if client is not None else "-",
                 {"reason": reason, "endpoint": request.endpoint or "-"})
    db.session.commit()
    log.warning("integration API: refused token (%s) from %s", reason, get_remote_address())
    if reason == "missing":
        return AuthFailure(401, "missing_token", _l(
            "Send the API client's token in the header Authorization: Bearer <token>."), REALM)
    return AuthFailure(401, "invalid_token", _l("The token is unknown or has been revoked."),
                       REALM + ', error="invalid_token"')


def endpoint(scope: str, name: str, context=None):
    """Authenticate, check ``scope``, run the view, audit the call, commit once.

    The view returns ``(response, audit_data)``; its changes and the audit
    event commit together. A refused call (ApiError, a request the contract
    refuses included) is rolled back and then audited with its status and error
    code; an internal error likewise. ``context(client)``: what validating the
    request needs to know of the client (``g.validation_context``).
    """
    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            found = _authentication()
            if found.client is None or found.reason is not None:
                raise _refuse(found.reason or "invalid", found.client)
            client = found.client
            if scope not in (client.scopes or []):
                service.record_call(db.session, client, name, 403, _now(), {"missing_scope": scope})
                db.session.commit()
                raise AuthFailure(403, "insufficient_scope", _l(
                    "This API client may not use this endpoint (scope %(scope)s is missing).",
                    scope=scope), f'{REALM}, error="insufficient_scope", scope="{scope}"')
            g.validation_context = context(client) if context is not None else None
            try:
                response, data = view(client, *args, **kwargs)
            except ApiError as problem:
                _after_failure(client, name, problem.status, {"error": problem.code,
                                                              **_fields_of(problem)})
                raise
            except Exception:
                _after_failure(client, name, 500, {"error": "internal_error"})
                raise
            service.record_call(db.session, client, name, response.status_code, _now(), data)
            db.session.commit()
            return response

        return shared_limit(wrapped)

    return decorate


def _fields_of(problem: ApiError) -> dict:
    fields = [e["field"] for e in problem.extra.get("errors", [])]
    if fields:
        return {"fields": fields[:20]}
    return {"field": problem.field} if problem.field else {}


def _after_failure(client: ApiClient, name: str, status: int, data: dict) -> None:
    db.session.rollback()
    try:
        service.record_call(db.session, db.session.merge(client), name, status, _now(), data)
        db.session.commit()
    except Exception:        # the audit must not hide the original error
        db.session.rollback()
        log.exception("integration API: could not audit a failed call")


def _translated(value):
    if isinstance(value, dict):
        return {k: _translated(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_translated(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _api_error(error: ApiError):
    with force_locale(json_errors.requested_language()):
        response = json_errors.error_response(error.status, error.code, str(error.message),
                                              error.field, **_translated(error.extra))
    if isinstance(error, AuthFailure):
        response.headers["WWW-Authenticate"] = error.challenge
    return response


def _too_many(error):
    with force_locale(json_errors.requested_language()):
        response = json_errors.error_response(429, "rate_limited", str(_l(
            "Too many requests from this API client. Wait for the number of seconds in "
            "Retry-After and try again.")))
    log.warning("integration API: rate limit reached (%s)", rate_key())
    return response


bp.register_error_handler(ApiError, _api_error)
bp.register_error_handler(429, _too_many)


def _json(payload, status: int = 200):
    return json_errors.json_response(payload, status, "no-store")


# --------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------

def _bureau(client: ApiClient):
    """The client's jurisdiction (None: not configured) and the rules its cases follow."""
    info = jurisdictions.directory(db.session).get(client.jurisdiction)
    if info is not None:
        return info, info.rules
    try:
        return None, load_profile(client.jurisdiction or "")
    except UnknownProfile:
        return None, active_profile()


def _case_resource(case, created: bool) -> dict:
    system, record_id = service.public_ref(case.external_ref) or ("", "")
    return {"case_no": case.case_no, "state": case.state.value, "origin": case.origin.value,
            "created": created, "ground_code": case.ground, "severity": case.severity,
            "opened_on": case.opened_on.isoformat(),
            "external_ref": {"system": system, "record_id": record_id},
            "subject": reads._subject(case.subject)}


spec = contract.new_spec("Social insurance serious dishonesty list — integration API", "")
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


def described(scope: str, ok, *codes: str, ok_codes=None, notes=None, **validate):
    """The contract of an endpoint that needs ``scope``: its answers (``ok`` and the errors of
    ``codes``, described by ``notes`` where the endpoint has its own words for one);
    ``validate``: its request models (``query=``, ``json=``)."""
    errors = {c: (notes or {}).get(c) or ERRORS[c] for c in codes}
    return spec.validate(resp=contract.answers(ok, errors, ok_codes),
                         security={"bearerToken": [scope]}, tags=["integration"],
                         validation_error_status=422 if "json" in validate else 400, **validate)


def _rules(client: ApiClient) -> dict:
    return {"profile": _bureau(client)[1]}


@bp.post("/cases")
@endpoint("cases:write", "cases", context=_rules)
@described("cases:write", IntegrationCase, "400", "401", "403", "409", "413", "422", "429", "500",
           ok_codes={"200": "The case opened earlier for this reference.", "201": "A new case."})
def cases(client: ApiClient, json: IntegrationCaseRequest):
    """Open a case from a business-system record

    The case starts `opened` with origin `integration`, unassigned, in the clerks' queue.
    Idempotent on `external_ref`, which belongs to the calling client: the same reference of
    the same client answers 200 with the case opened for it before (201 for a new case) when
    the body is the same; with another body (subject, ground, facts, reasons, amount, document
    number, department) it is a 409. Another client's identical reference is another record:
    it never finds, nor blocks, this client's case. References, facts, reasons, document number
    and department fields must not contain a resident ID number, in any written shape (422
    `contains_id_number`). Identifiers are checked with their check characters; the ground
    must belong to the portal's profile and apply to the subject's kind. Answers show masked
    ID numbers only.

    Scope: `cases:write`.
    """
    info, profile = _bureau(client)       # a client files for its own bureau, under its rules
    contact = json.department_contact or (
        info.contact_zh if info is not None
        else current_app.config.get("PORTAL_DEPARTMENT_CONTACT", ""))
    subject, case_data = json.inputs(contact, client.jurisdiction)
    key = current_app.config["PORTAL_LOOKUP_KEY"]
    for attempt in range(3):
        try:
            case, created = service.intake_case(db.session, client, profile, key,
                                                subject, case_data, clock.today())
            db.session.flush()
            break
        except IntegrityError:
            # A concurrent call took the same reference or case number: look again.
            db.session.rollback()
            client = db.session.merge(client)
            if attempt == 2:
                raise
        except service.IntegrationError as problem:
            raise _intake_error(problem) from None
    data = {"case_no": case.case_no, "created": created, "external_ref": case.external_ref}
    return _json({"data": _case_resource(case, created)}, 201 if created else 200), data


def _intake_error(problem: service.IntegrationError) -> ApiError:
    if problem.code == "external_ref_conflict":
        return ApiError(409, "external_ref_conflict", _l(
            "This external reference was already used for a case with other data: a changed "
            "record needs a new reference."), "external_ref")
    messages = {**contract.BODY_MESSAGES, "unknown_ground": _l(
        "The ground is not one of the grounds of this portal's profile.")}
    return contract.invalid_fields([{"field": problem.field or "ground", "code": problem.code,
                                     "message": messages.get(problem.code,
                                                             messages["invalid_value"])}])


@bp.post("/status")
@endpoint("status:read", "status")
@described("status:read", IntegrationStatus, "400", "401", "403", "413", "422", "429", "500")
def subject_status(client: ApiClient, json: IntegrationStatusRequest):
    """Warning (预警) for one subject

    Is this unit or person on the list now, in a listing procedure, recently removed, on the
    red list? The code goes in the body, never in the address, so it does not reach access
    logs. Exact match: a USCC also finds old records under its organisation code; an ID number
    is compared by keyed hash and also finds the organisations the person represents. Covers
    unpublished listings too. Only masked ID numbers are answered. `warning`: block / flag /
    none (see the schema).

    Scope: `status:read`.
    """
    number = normalise(json.code)
    kind = detect(number)
    if kind is None:
        raise ApiError(422, "invalid_identifier", _l(
            "This is not a valid unified social credit code, organisation code, business "
            "registration number or resident ID number (check the length and the last "
            "character)."), "code")
    recent = dt.timedelta(days=current_app.config["PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS"])
    answer = reads.status(db.session, current_app.config["PORTAL_LOOKUP_KEY"], kind, number,
                          clock.today(), scope.client_scope(db.session, client), recent,
                          client.jurisdiction)
    data = {"kind": kind, "code_masked": mask_identifier(number), "warning": answer["warning"]}
    if kind == "ric":
        data["code_hash"] = lookup_hash(current_app.config["PORTAL_LOOKUP_KEY"], number)
    return _json(answer), data


@bp.get("/changes")
@endpoint("changes:read", "changes")
@described("changes:read", IntegrationChangePage, "400", "401", "403", "429", "500",
           query=FeedQuery)
def changes(client: ApiClient, query: FeedQuery):
    """Case events

    Every step of every case (opened, pre-notice served, … published, removed), oldest first,
    from the audit chain. Start without `cursor`; then pass `next_cursor` back unchanged
    (opaque). Guarantee: positions are handed out under the audit chain's lock in commit
    order, so no event is ever skipped, even one whose transaction commits while you read;
    each event appears exactly once. has_more=false: poll later.

    Scope: `changes:read`.
    """
    after = query.cursor or 0
    page = reads.feed(db.session, after, query.limit, client.id,
                      scope.client_scope(db.session, client))
    body = {"data": page.items, "next_cursor": reads.encode_cursor(page.position),
            "has_more": page.has_more}
    return _json(body), {"after": after, "position": page.position, "items": len(page.items)}


@bp.get("/openapi.json")
@spec.validate(resp=contract.answers(Document, {"400": ERRORS["400"]}), security={},
               tags=["integration"])
def openapi(query: LangOnly):
    """This document

    The API description with the integration endpoints.
    """
    # the grounds of every active jurisdiction's rules (a client files under its own bureau's)
    profiles = [j.rules for j in jurisdictions.directory(db.session).active] or [active_profile()]
    grounds = sorted({g.code for profile in profiles for g in profile.grounds})
    return json_errors.json_response(described_api(spec, current_app.config["PORTAL_BASE_URL"],
                                                   grounds), 200, "public, max-age=3600")
