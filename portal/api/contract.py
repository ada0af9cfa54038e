"""How the API contract is declared and enforced: pydantic models read by spectree.

Each endpoint declares its query (``Query``), its JSON body (``Body``) and its answers
(``answers(...)``) once, with ``spec.validate(...)``; spectree validates the request
against those models before the view runs and writes the OpenAPI document from the same
models (:func:`document`). A request the models refuse never reaches the view: the
``before`` hook turns the validation error into the portal's own :class:`ApiError`
here, in one place (:func:`refusal`), so the JSON error bodies (status, ``error.code``,
``error.field``, translated message) are those of :mod:`portal.json_errors`:

* a query parameter: 400 with the first problem (``unknown_parameter`` first, as a typo
  such as ``per-page`` would otherwise silently change the list), ``lang`` allowed
  everywhere;
* a JSON body: 422 ``invalid_fields`` listing every problem by its path
  (``subject.legal_representative.id_number``), each with a code and a message.

Answers are not validated at run time (the views build them; the schema tests check every
kind of answer against the document).
"""
from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from flask import g
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError
from spectree import Response, SpecTree
from spectree.plugins.base import Context
from spectree.plugins.flask_plugin import FlaskPlugin

from portal.json_errors import LANGUAGES, ApiError

PREFIX = "/api/v1"
MAX_BODY = 64 * 1024


# --------------------------------------------------------------------------
# Refusals: the library's validation errors as the portal's error codes (the one place)
# --------------------------------------------------------------------------

#: pydantic's error types -> the API's codes, for a query parameter (400) and a body field (422)
QUERY_CODES = {"extra_forbidden": "unknown_parameter", "missing": "missing_parameter",
               "string_too_long": "too_long", "literal_error": "invalid_value",
               "greater_than_equal": "out_of_range", "less_than_equal": "out_of_range"}
BODY_CODES = {"extra_forbidden": "unknown_field", "missing": "required",
              "string_unicode": "invalid_type",   # a lone surrogate: not text
              "string_too_long": "too_long", "literal_error": "invalid_value",
              "too_long": "invalid_type",      # a list longer than allowed: as always answered
              "too_short": "required"}         # an empty list where one item is needed
QUERY_MESSAGES = {       # lazy: translated when the error is sent, in the language asked for
    "unknown_parameter": lambda **kw: _l("Unknown parameter %(name)s. Allowed: %(allowed)s.",
                                         **kw),
    "invalid_integer": lambda **kw: _l("%(name)s must be a whole number.", **kw),
    "out_of_range": lambda **kw: _l("%(name)s must be between %(min)s and %(max)s.", **kw),
    "invalid_value": lambda **kw: _l("%(name)s must be one of the allowed values.", **kw),
    "too_long": lambda **kw: _l("%(name)s may have at most %(max)s characters.", **kw),
}
BODY_MESSAGES = {
    "required": _l("This field is required."),
    "invalid_type": _l("This field has the wrong type."),
    "too_long": _l("This field is too long."),
    "unknown_field": _l("Unknown field."),
    "invalid_value": _l("This value is not one of the allowed values."),
    "invalid_character": _l("This field contains a NUL character, which is not allowed."),
}


def problem(code: str, message=None, **context) -> PydanticCustomError:
    """A refusal of a field with the API's own ``code`` (and its own message, else the
    message of the code)."""
    return PydanticCustomError(code, code, {**context, "message": message})


def invalid_value(name: str, allowed: list) -> ApiError:
    """400 invalid_value for a parameter whose values are known only per request."""
    return ApiError(400, "invalid_value", QUERY_MESSAGES["invalid_value"](name=name),
                    name, allowed=list(allowed))


def refusal(error: ValidationError) -> ApiError:
    model = MODELS.get(error.title)
    if model is not None and issubclass(model, Query):
        return _query_refusal(model, error.errors())
    return invalid_fields([_body_problem(e) for e in error.errors()])


def invalid_fields(problems: list[dict]) -> ApiError:
    """422 ``invalid_fields``; ``problems``: ``{"field", "code", "message"}`` each."""
    return ApiError(422, "invalid_fields", _l("Some fields are missing or invalid: see errors."),
                    problems[0]["field"], errors=problems)


def _query_refusal(model: type[Query], errors: list[dict]) -> ApiError:
    first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    name = str(first["loc"][0])[:40]
    code = QUERY_CODES.get(first["type"], first["type"])
    ctx, extra = first.get("ctx") or {}, {}
    schema = model.model_json_schema()["properties"].get(name, {})
    if code == "unknown_parameter":
        allowed = [n for n in model.model_fields if n != "lang"]
        message = QUERY_MESSAGES[code](name=name, allowed=", ".join(allowed) or "-")
    elif code == "out_of_range":
        low, high = ctx.get("minimum", schema.get("minimum")), ctx.get("maximum", schema.get("maximum"))
        message = QUERY_MESSAGES[code](name=name, min=low, max=high)
        extra = {"minimum": low, "maximum": high}
    elif code == "invalid_value":
        message = QUERY_MESSAGES[code](name=name)
        extra = {"allowed": schema.get("enum", [])}
    elif code == "too_long":
        message = QUERY_MESSAGES[code](name=name, max=ctx.get("max_length"))
    elif ctx.get("message") is not None:
        message = ctx["message"]
    elif code == "missing_parameter":
        message = model.missing.get(name, QUERY_MESSAGES["invalid_value"](name=name))
    else:
        message = QUERY_MESSAGES.get(code, QUERY_MESSAGES["invalid_value"])(name=name)
    return ApiError(400, code, message, name, **extra)


def _body_problem(error: dict) -> dict:
    kind = error["type"]
    code = BODY_CODES.get(kind) or ("invalid_type" if kind.endswith(("_type", "_parsing"))
                                    else kind)
    message = (error.get("ctx") or {}).get("message")
    return {"field": ".".join(str(part) for part in error["loc"])[:80] or "body", "code": code,
            "message": message if message is not None
            else BODY_MESSAGES.get(code, BODY_MESSAGES["invalid_value"])}


def merged(model: type[BaseModel], errors: list[dict]) -> ValidationError:
    """One validation error from ``errors`` (pydantic's, and :func:`problem` ones as
    ``{"loc", "type", "ctx"}``), in the order of the model's fields."""
    order = list(model.model_fields)
    errors = sorted(errors, key=lambda e: order.index(e["loc"][0]) if e["loc"]
                    and e["loc"][0] in order else -1)
    return ValidationError.from_exception_data(model.__name__, [
        {"type": PydanticCustomError(e["type"], e["type"], e.get("ctx")), "loc": e["loc"],
         "input": e.get("input")} for e in errors])


# --------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------

#: every request model by name: a validation error names its model (``error.title``)
MODELS: dict[str, type[BaseModel]] = {}
BLANK_IS_ABSENT = "blank-is-absent"


def _tidy(schema: dict, model=None) -> None:
    """No ``title`` and no ``default: null`` in the document (neither is part of the contract)."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
        if "default" in prop and prop["default"] is None:
            del prop["default"]


class _Input(BaseModel):
    """A request model: unknown names refused; strings stripped; a blank text (marked
    ``BLANK_IS_ABSENT``) and a null are taken as not given."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_tidy)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        MODELS[cls.__name__] = cls

    @model_validator(mode="before")
    @classmethod
    def _given(cls, data):
        if not isinstance(data, dict):
            return data
        given = {}
        for name, value in data.items():
            if isinstance(value, str):
                value = value.strip()
            field = cls.model_fields.get(name)
            if field is not None and (value is None or value == ""
                                      and BLANK_IS_ABSENT in field.metadata):
                continue
            given[name] = value
        return given


class Query(_Input):
    """The query string: one value per name (the first, as Flask's ``request.args`` gives),
    ``lang`` everywhere. ``missing``: the message for a required parameter left out."""

    missing: ClassVar[dict] = {}
    lang: Annotated[Literal[LANGUAGES], Field(description=(
        "Language of error messages: zh_CN (default) or en; any other value is refused."))] = None


class Body(_Input):
    """A JSON object in the request body, read up to ``max_body`` bytes (else 413)."""

    max_body: ClassVar[int] = MAX_BODY


class Resource(BaseModel):
    """An answer (described, not validated)."""

    model_config = ConfigDict(json_schema_extra=_tidy)


def _whole(low: int, high: int, strict: bool):
    """A whole number as written in a query (a sign and up to 12 digits); ``strict``: ASCII
    digits only, and anything else is out of range (the integration API's reading)."""
    def parse(value):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value)
        if strict and not re.fullmatch(r"[0-9]{1,4}", text):
            raise problem("out_of_range", minimum=low, maximum=high)
        if not re.fullmatch(r"[+-]?\d{1,12}", text):
            raise problem("invalid_integer")
        return int(text)
    return BeforeValidator(parse)


def integer(low: int, high: int, description: str, strict: bool = False):
    return Annotated[int, Field(ge=low, le=high, description=description), _whole(low, high, strict)]


def text(max_length: int, description: str = ""):
    """Free text; given blank, it is not given at all."""
    return Annotated[str, BLANK_IS_ABSENT, Field(max_length=max_length, description=description)]


def choice(values, description: str = ""):
    return Annotated[Literal[tuple(values)], Field(description=description)]


# --------------------------------------------------------------------------
# spectree: validation before the view, the document from the models
# --------------------------------------------------------------------------

_RAW_BODY = "portal.api.raw_body"


def raw_body(request, limit: int = MAX_BODY) -> bytes:
    """The body's bytes, else 413; read once per request (a rate limit that counts what a body
    holds and the validation read the same bytes, with or without a Content-Length)."""
    if (request.content_length or 0) > limit:      # refused before it is read
        raise ApiError(413, "body_too_large", _l("The request body is too large."))
    raw = request.environ.get(_RAW_BODY)
    if raw is None:
        # At most one byte more than allowed is read, also from a body without Content-Length.
        raw = request.get_data(cache=True)[:limit + 1] if request.content_length is not None \
            else request.stream.read(limit + 1)
        request.environ[_RAW_BODY] = raw
    if len(raw) > limit:
        raise ApiError(413, "body_too_large", _l("The request body is too large."))
    return raw


def parse_json(raw: bytes):
    """The JSON value of ``raw`` (numbers with a fraction as Decimal; NaN and Infinity
    refused), or None when it is not JSON, nested too deeply to read included."""
    def refuse(constant):
        raise ValueError(constant)

    try:
        # A NUL inside a string is valid JSON: the text fields refuse it (invalid_character).
        return json.loads(raw.decode("utf-8"), parse_float=Decimal, parse_constant=refuse)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def read_json(request, limit: int = MAX_BODY) -> dict:
    """The body as a JSON object (numbers with a fraction as Decimal), else 400 / 413."""
    body = parse_json(raw_body(request, limit))
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_json", _l("The request body must be a JSON object "
                                               "(Content-Type: application/json, UTF-8)."))
    return body


class _Plugin(FlaskPlugin):
    """spectree's Flask plugin, reading the request as the API always has: the first value
    of a repeated parameter, the body whatever its Content-Type (size-limited, exact
    decimals), with the validation context a view's wrapper set (``g.validation_context``).
    The view's answer goes out as it is."""

    def request_validation(self, request, query, json, form, headers, cookies):
        context = g.get("validation_context")
        try:
            request.context = Context(
                query.model_validate(request.args.to_dict(), context=context) if query else None,
                json.model_validate(read_json(request, json.max_body), context=context)
                if json else None,
                None, None, None)
        except ValidationError as error:
            # refused here: the library's own error answer echoes the input, which may not
            # even be encodable (a lone surrogate in a JSON string)
            raise refusal(error) from None

    def validate_response(self, resp, resp_model, skip_validation, force_resp_serialize):
        return resp, None


def _before(request, response, error, instance, adapter) -> None:
    if error is not None:
        raise refusal(error)


def new_spec(title: str, description: str, **config) -> SpecTree:
    """A spectree instance describing the routes it decorates (and no others); it is not
    registered on the app: the views serve :func:`document` themselves."""
    return SpecTree("flask", backend=_Plugin, mode="strict", before=_before, title=title,
                    description=description, version="1.0.0", validation_error_status=400,
                    validation_error_model=Error, naming_strategy=lambda model: model.__name__,
                    nested_naming_strategy=lambda _parent, child: child, **config)


class ErrorDetail(Resource):
    code: str = Field(description=(
        "Stable machine code, e.g. invalid_value, out_of_range, invalid_integer, "
        "unknown_parameter, missing_parameter, invalid_length, invalid_check_digit, "
        "invalid_identifier, unsupported_identifier, invalid_cursor, too_long, not_found, "
        "method_not_allowed, rate_limited, internal_error, timeout, unavailable. Integration: "
        "missing_token, invalid_token, insufficient_scope, invalid_json, body_too_large, "
        "invalid_fields (see errors), invalid_identifier, external_ref_conflict, "
        "too_many_watchlists."))
    message: str = Field(description="Translated explanation.")
    field: str = Field(None, description="The offending parameter.")
    allowed: list[Any] = None
    minimum: int = None
    maximum: int = None
    errors: list[FieldProblem] = Field(None, description="422 (integration API): every invalid "
                                       "field.")


class FieldProblem(Resource):
    field: str
    code: str
    message: str


class Error(Resource):
    error: ErrorDetail


ErrorDetail.model_rebuild()


def answers(ok, errors: dict[str, str], ok_codes: dict[str, str] | None = None) -> Response:
    """The answers of an operation: ``ok`` for each success code, the JSON error for each
    code of ``errors`` (status -> what it means)."""
    codes = {f"HTTP_{code}": (ok, text) for code, text in (ok_codes or {"200": "OK"}).items()}
    codes.update({f"HTTP_{code}": (Error, text) for code, text in sorted(errors.items())})
    return Response(**codes)


def document(spec: SpecTree, base_url: str, shared: tuple[str, ...] = ("lang",)) -> dict:
    """The OpenAPI document of ``spec``'s routes (a copy: callers adjust it per request).

    Paths are relative to the server ``…/api/v1``; the parameters named in ``shared`` are
    declared once, under ``components.parameters``."""
    doc = copy.deepcopy(spec.spec)
    doc.pop("security", None)
    if not doc.get("tags"):
        doc.pop("tags", None)
    doc["servers"] = [{"url": base_url.rstrip("/") + PREFIX}]
    doc["paths"] = {path.removeprefix(PREFIX): item for path, item in doc["paths"].items()}
    schemas, parameters = doc["components"]["schemas"], {}
    for name in [n for n in schemas if isinstance(MODELS.get(n), type)
                 and issubclass(MODELS[n], Query)]:
        del schemas[name]                          # inline as parameters, not referenced
    for item in doc["paths"].values():
        for operation in item.values():
            if not operation.get("tags"):
                operation.pop("tags", None)
            listed = []
            for parameter in operation["parameters"]:
                if parameter["name"] in shared:
                    parameters.setdefault(parameter["name"], parameter)
                    continue
                listed.append(parameter)
            operation["parameters"] = listed + [
                {"$ref": f"#/components/parameters/{name}"} for name in shared
                if any(p["name"] == name for p in operation["parameters"])]
    doc["components"]["parameters"] = parameters
    return doc
