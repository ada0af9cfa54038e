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
import re
from functools import wraps

from flask import Blueprint, current_app, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import IntegrityError

from portal import clock, json_errors, ratelimit
from portal.api import integration_input as inputs
from portal.api import integration_reads as reads
from portal.api.integration_openapi import integration_document
from portal.api.params import Params
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


def endpoint(scope: str, name: str):
    """Authenticate, check ``scope``, run the view, audit the call, commit once.

    The view returns ``(response, audit_data)``; its changes and the audit
    event commit together. A refused call (ApiError) is rolled back and then
    audited with its status and error code; an internal error likewise.
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


def _body() -> dict:
    if (request.content_length or 0) > inputs.MAX_BODY:      # refused before it is read
        raise ApiError(413, "body_too_large", _l("The request body is too large."))
    # At most one byte more than allowed is read, also from a body without Content-Length.
    return inputs.parse_body(request.stream.read(inputs.MAX_BODY + 1))


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


@bp.post("/cases")
@endpoint("cases:write", "cases")
def cases(client: ApiClient):
    info, profile = _bureau(client)       # a client files for its own bureau, under its rules
    request_data = inputs.case_request(_body(), profile)
    case_data = request_data.case
    contact = case_data.department_contact or (
        info.contact_zh if info is not None
        else current_app.config.get("PORTAL_DEPARTMENT_CONTACT", ""))
    case_data = type(case_data)(**{**case_data.__dict__, "department_contact": contact,
                                   "jurisdiction": client.jurisdiction})
    key = current_app.config["PORTAL_LOOKUP_KEY"]
    for attempt in range(3):
        try:
            case, created = service.intake_case(db.session, client, profile, key,
                                                request_data.subject, case_data, clock.today())
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
    return inputs.invalid([(problem.field or "ground", problem.code)])


@bp.post("/status")
@endpoint("status:read", "status")
def subject_status(client: ApiClient):
    body = _body()
    unknown = [name for name in body if name != "code"]
    if unknown:
        raise inputs.invalid([(str(unknown[0])[:80], "unknown_field")])
    raw = body.get("code")
    if not isinstance(raw, str) or not raw.strip():
        raise inputs.invalid([("code", "required" if raw in (None, "") else "invalid_type")])
    number = normalise(raw[:64])
    kind = detect(number)
    if kind is None:
        raise ApiError(422, "invalid_identifier", _l(
            "This is not a valid unified social credit code, organisation code, business "
            "registration number or resident ID number (check the length and the last "
            "character)."), "code")
    recent = dt.timedelta(days=current_app.config["PORTAL_INTEGRATION_RECENT_REMOVAL_DAYS"])
    answer = reads.status(db.session, current_app.config["PORTAL_LOOKUP_KEY"], kind, number,
                          clock.today(), scope.client_scope(db.session, client), recent)
    data = {"kind": kind, "code_masked": mask_identifier(number), "warning": answer["warning"]}
    if kind == "ric":
        data["code_hash"] = lookup_hash(current_app.config["PORTAL_LOOKUP_KEY"], number)
    return _json(answer), data


@bp.get("/changes")
@endpoint("changes:read", "changes")
def changes(client: ApiClient):
    for name in request.args:
        if name not in ("cursor", "limit", "lang"):
            raise ApiError(400, "unknown_parameter", _l(
                "Unknown parameter %(name)s. Allowed: %(allowed)s.", name=name[:40],
                allowed="cursor, limit"), name[:40])
    after = reads.decode_cursor(request.args.get("cursor"))
    if after is None:
        raise ApiError(400, "invalid_cursor", _l(
            "The cursor is not valid. Start without one, or pass on the next_cursor of the "
            "previous answer unchanged."), "cursor")
    raw_limit = request.args.get("limit", "100").strip()
    if not re.fullmatch(r"[0-9]{1,4}", raw_limit) or not 1 <= int(raw_limit) <= 1000:
        raise ApiError(400, "out_of_range", _l("%(name)s must be between %(min)s and %(max)s.",
                                               name="limit", min=1, max=1000), "limit",
                       minimum=1, maximum=1000)
    page = reads.feed(db.session, after, int(raw_limit), client.id,
                      scope.client_scope(db.session, client))
    body = {"data": page.items, "next_cursor": reads.encode_cursor(page.position),
            "has_more": page.has_more}
    return _json(body), {"after": after, "position": page.position, "items": len(page.items)}


@bp.get("/openapi.json")
def openapi():
    Params()            # lang only, as the document says
    # the grounds of every active jurisdiction's rules (a client files under its own bureau's)
    profiles = [j.rules for j in jurisdictions.directory(db.session).active] or [active_profile()]
    grounds = sorted({g.code for profile in profiles for g in profile.grounds})
    return json_errors.json_response(integration_document(
        current_app.config["PORTAL_BASE_URL"], grounds), 200, "public, max-age=3600")

