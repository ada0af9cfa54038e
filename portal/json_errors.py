"""JSON errors of the API: ``{"error": {"code", "message", "field"}}``, never an HTML page.

``code`` is a stable machine code, ``message`` is translated (``?lang=en`` or
the session language; Chinese by default), ``field`` names the offending
query parameter when there is one. Unknown addresses and wrong methods under
``/api/v1`` are answered here too: they fail in routing, before any
blueprint handler could see them.

Both API blueprints (``/api/v1`` and ``/api/v1/integration``) register these
handlers; the app-wide answers of :mod:`portal.web` and :mod:`portal.input_guard`
under the APIs and the open-data downloads (``requested_language``) use the same
helpers, so this module sits beside the blueprints, not inside one.
"""
from __future__ import annotations

from flask import Blueprint, current_app, request, session, url_for
from flask_babel import force_locale, refresh
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound


class ApiError(Exception):
    """A client error with a machine code and a message (a lazy string, translated when sent)."""

    def __init__(self, status: int, code: str, message, field: str | None = None,
                 **extra) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field, self.extra = status, code, message, field, extra


#: The values ``lang`` may take (the OpenAPI documents declare exactly these).
LANGUAGES = ("zh_CN", "zh-CN", "zh", "en")


def requested_language() -> str:
    """``?lang=`` (en, zh, zh_CN, zh-CN), else the session's language, else Chinese."""
    asked = (request.args.get("lang") or "").strip().lower()
    if asked.startswith("en"):
        return "en"
    if asked.startswith("zh"):
        return "zh_CN"
    return "en" if session.get("lang") == "en" else "zh_CN"


def json_response(payload, status: int = 200, cache: str = "no-store"):
    """JSON in UTF-8 (not \\u escapes), keys sorted, with a Cache-Control header."""
    response = current_app.response_class(
        current_app.json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", status=status,
        content_type="application/json; charset=utf-8")
    response.headers["Cache-Control"] = cache
    return response


def error_response(status: int, code: str, message: str, field: str | None = None, **extra):
    body = {"code": code, "message": message}
    if field is not None:
        body["field"] = field
    body.update(extra)
    return json_response({"error": body}, status)


def _http_error(error: HTTPException):
    status = error.code or 500
    with force_locale(requested_language()):
        if status == 404:
            response = error_response(404, "not_found", _(
                "There is nothing at this address. The list of API addresses is at %(url)s.",
                url=_openapi_path()))
        elif status == 405:
            allowed = sorted(m for m in (getattr(error, "valid_methods", None) or ()) if m != "OPTIONS")
            response = error_response(405, "method_not_allowed", _(
                "This address only answers %(methods)s requests.", methods=", ".join(allowed) or "GET"))
            if allowed:
                response.headers["Allow"] = ", ".join(allowed)
        elif status == 429:
            response = error_response(429, "rate_limited", _(
                "Too many requests from your address. Please wait a minute and try again."))
        elif status >= 500:
            response = error_response(status, "internal_error", _(
                "Something went wrong on our side. Please try again later."))
        else:
            response = error_response(status, "bad_request", _(
                "The request could not be understood. Check the parameters against the API description."))
    return response


def _api_error(error: ApiError):
    with force_locale(requested_language()):
        message = str(error.message)
    return error_response(error.status, error.code, message, error.field, **error.extra)


def _openapi_path() -> str:
    return url_for("api.openapi")


def register(bp: Blueprint) -> None:
    """JSON handlers for the blueprint, and for routing failures under its prefix."""
    bp.register_error_handler(ApiError, _api_error)
    bp.register_error_handler(HTTPException, _http_error)

    @bp.before_request
    def _language():
        # ``lang`` is declared with its values on every operation: anything else is refused,
        # not silently answered in Chinese.
        values = request.args.getlist("lang")
        if values and (len(values) > 1 or values[0] not in LANGUAGES):
            raise ApiError(400, "invalid_value", _l("%(name)s must be one of the allowed values.",
                                                    name="lang"), "lang", allowed=list(LANGUAGES))
    # The site registers HTML pages per status code, and Flask prefers a code-specific
    # handler of the app over a class handler of the blueprint: register the codes too.
    for code in (400, 403, 404, 405, 410, 413, 429, 500):
        bp.register_error_handler(code, _http_error)

    @bp.before_app_request
    def _routing_errors():
        # Routing failed (unknown address, wrong method): request.blueprint is None, so the
        # site-wide HTML error pages would answer. Answer in JSON under the API prefix.
        failure = request.routing_exception
        prefix = bp.url_prefix or ""
        if not isinstance(failure, (NotFound, MethodNotAllowed)):
            return None
        if request.path != prefix and not request.path.startswith(prefix + "/"):
            return None
        refresh()
        return _http_error(failure)
