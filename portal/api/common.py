"""What the views of the public API share: the blueprint, its OpenAPI description, the
error table, the jurisdiction asked for and the JSON answer (front-cached where shared).

:mod:`portal.api.views` (lists, entries, changes, the document) and
:mod:`portal.api.lookups` (look-ups by code, on a day, in batches) add their routes to
:data:`bp`.
"""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import lazy_gettext as _l

from portal import front, json_errors
from portal import public_scope as jurisdiction
from portal.api import contract
from portal.caching import publication_token
from portal.extensions import csrf
from portal.json_errors import ApiError

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
json_errors.register(bp)
#: Every public endpoint takes the jurisdiction whose records it answers with.
SCOPE = jurisdiction.PARAMETER
spec = contract.new_spec("Social insurance serious dishonesty list — public API", (
    "Read-only access to the published list, the removals and the change log. Everything comes "
    "from the public projection: identity card numbers of persons are always masked; a full "
    "number can only be matched exactly (/check). Errors are JSON: {\"error\": {\"code\", "
    "\"message\", \"field\"}}. Messages are in Chinese unless lang=en. Every list and look-up "
    "takes `jurisdiction` (a bureau's code): its records and those of the bureaus below it; "
    "without it, the whole portal. Every record names its jurisdiction (code). Bulk downloads: "
    "/exports/entries.csv|xlsx|json and /exports/removals.csv|xlsx|json (also ?jurisdiction=); "
    "Atom feed: /feeds/changes.atom. The bureau's own systems (with an API client token): "
    "/api/v1/integration/openapi.json."))
ERRORS = {
    "400": "A parameter is missing, unknown or invalid (`error.field` names it).",
    "404": "Nothing at this address, no public entry with this id (in the jurisdiction asked "
           "for), or no such jurisdiction (error.code unknown_jurisdiction).",
    "405": "Only GET (and HEAD) are answered; POST only on /screen.",
    "410": "The entry is no longer published (withdrawn): `error.withdrawn_on` and `error.reason` "
           "(credit_repaired, objection_upheld, revoked, period_ended) say when and why.",
    "413": "The request body is too large (error.code body_too_large).",
    "422": "The JSON body is not valid: `error.errors` lists every invalid field by its path "
           "(error.code invalid_fields).",
    "429": "Too many requests from this address; retry after the `Retry-After` seconds.",
    "500": "Internal error.",
    "503": "The request ran out of its time budget, or the database is unavailable; retry after "
           "the `Retry-After` seconds (error.code: timeout or unavailable).",
}


def answers(ok, *codes: str):
    return contract.answers(ok, {code: ERRORS[code] for code in codes})


def scope_of(lazy: bool = False) -> jurisdiction.Scope:
    """The jurisdiction asked for (``?jurisdiction=``; none: the whole portal); an unknown or
    inactive code is a 404 in JSON, an empty one a 400. ``lazy``: without the parameter, read
    nothing (a look-up that needs no more than the codes to filter by)."""
    if SCOPE in request.args and not request.args[SCOPE].strip():
        raise ApiError(400, "invalid_value", _l("%(name)s must be one of the allowed values.",
                                                name=SCOPE), SCOPE)
    if lazy and SCOPE not in request.args:
        return jurisdiction.Scope()
    try:
        return jurisdiction.scope()
    except jurisdiction.UnknownJurisdiction:
        raise ApiError(404, "unknown_jurisdiction", _l("There is no such jurisdiction on this "
                                                       "portal."), SCOPE) from None


def grounds_of(scope: jurisdiction.Scope) -> list[str]:
    """The ground codes a request may filter by: those of the profiles of its jurisdictions."""
    return list(dict.fromkeys(g.code for profile in scope.profiles() for g in profile.grounds))


#: The answers the same for everyone who asks the same URL until the next publication.
SHARED = ("api.entries", "api.entry", "api.removals", "api.openapi")


@bp.before_request
def _publication_first():
    """A request whose answer the front cache may keep reads the publication version before any
    data, so an answer is never kept under a version older than what it shows."""
    if request.endpoint in SHARED and front.active(request.environ):
        publication_token()


def json_answer(payload, status: int = 200, cache: str = "public, max-age=60"):
    """A JSON answer; a public 200 (the same for everyone who asks the same URL) may be kept by the
    front cache until the next publication (``portal.front``)."""
    if status == 200 and request.endpoint in SHARED and front.active(request.environ):
        version, changed_at = publication_token()
        if changed_at is not None:
            front.share(request.environ, (version, changed_at))
    return json_errors.json_response(payload, status, cache)
