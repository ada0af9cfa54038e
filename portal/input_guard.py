"""Hostile input stops at the door: NUL bytes and ids beyond the database's integer range.

- A NUL byte in the path, the query string or a form field is refused with
  400 before any view runs (a JSON body: by ``api.contract.read_json``) (PostgreSQL cannot store or compare
  text containing NUL, and no legitimate form or API call carries one; files
  are not inspected: their bytes are their own).
- ``<int:...>`` in every URL rule accepts 1 to 10 ASCII digits up to 2^31-1
  (PostgreSQL's ``integer``); anything else is "not found" instead of a
  database error.
- :func:`small_int` is the same bound for ids read from query strings.
"""
from __future__ import annotations

import builtins
import re

from flask import Flask, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

INT_MAX = 2 ** 31 - 1
#: An e-mail address as the forms accept it (the mail server has the last word).
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


class BoundedIntConverter(IntegerConverter):
    """``<int:id>`` limited to ASCII digits and the database's integer range."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = INT_MAX, signed: bool = False) -> None:  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min,
                         max=INT_MAX if max is None else builtins.min(max, INT_MAX), signed=signed)


def small_int(text: str | None) -> int | None:
    """``text`` as a non-negative database integer (ASCII digits only), else ``None``."""
    text = (text or "").strip()
    if not text or len(text) > 10 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= INT_MAX else None


def _has_nul(values) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values)


def refuse_nul_bytes():
    """400 when the path, the query string or a form field holds a NUL byte."""
    if "\x00" in request.path or b"\x00" in request.query_string or b"%00" in request.query_string:
        return _refused()
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    # JSON bodies are read (bounded) by the integration API's parser, which refuses NUL itself.
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if _has_nul(request.form.items(multi=True)):
            return _refused()
    return None


def _refused():
    if request.path == "/api" or request.path.startswith("/api/"):
        # the API's own JSON error, saying what is wrong
        from portal.json_errors import ApiError, error_response, requested_language

        message = _l("The request contains a NUL character, which is not allowed.")
        if request.blueprint is not None:
            raise ApiError(400, "invalid_character", message)
        # no route matched: no blueprint would turn the refusal into JSON
        with force_locale(requested_language()):
            return error_response(400, "invalid_character", str(message))
    message = _("The text you sent contains an invisible control character (NUL). "
                "Remove it, for example by typing the text again, and send it once more.")
    return render_template("error.html", code=400, message=message), 400


def init_app(app: Flask) -> None:
    """Install before the blueprints: URL rules bind their converters when they are added."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(refuse_nul_bytes)
