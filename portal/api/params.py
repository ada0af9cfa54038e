"""Strict query-parameter parsing: every bad value is a 400 with a machine code and the field.

Unknown parameters are refused too (``unknown_parameter``): a typo such as
``per-page`` would otherwise be silently ignored and the caller would get a
different list than the one asked for. ``lang`` is accepted everywhere.
"""
from __future__ import annotations

import base64
import re

from flask import request
from flask_babel import lazy_gettext as _l

from portal import paging
from portal.json_errors import ApiError


def _bad(code: str, message, field: str, **extra) -> ApiError:
    return ApiError(400, code, message, field, **extra)


class Params:
    """The query string of one API request, checked against the parameters it may carry."""

    def __init__(self, *allowed: str) -> None:
        for name in request.args:
            if name not in allowed and name != "lang":
                raise _bad("unknown_parameter", _l("Unknown parameter %(name)s. Allowed: %(allowed)s.",
                                                   name=name[:40], allowed=", ".join(allowed) or "-"),
                           name[:40])

    @staticmethod
    def raw(name: str) -> str | None:
        value = request.args.get(name)
        return value.strip() if value is not None and value.strip() else None

    @staticmethod
    def _blank(name: str) -> bool:
        """Given, but empty or spaces: a parameter with a declared form (a number, one of a
        list) is then refused, as the API description says, rather than taken as absent."""
        return name in request.args and not request.args[name].strip()

    def integer(self, name: str, default: int | None, minimum: int, maximum: int) -> int | None:
        value = self.raw(name)
        if value is None and not self._blank(name):
            return default
        if value is None:
            raise _bad("invalid_integer", _l("%(name)s must be a whole number.", name=name), name)
        if not re.fullmatch(r"[+-]?\d{1,12}", value):
            raise _bad("invalid_integer", _l("%(name)s must be a whole number.", name=name), name)
        number = int(value)
        if not minimum <= number <= maximum:
            raise _bad("out_of_range", _l("%(name)s must be between %(min)s and %(max)s.",
                                          name=name, min=minimum, max=maximum), name,
                       minimum=minimum, maximum=maximum)
        return number

    def choice(self, name: str, allowed) -> str | None:
        value = self.raw(name)
        if value is None and not self._blank(name):
            return None
        allowed = list(allowed)
        if value not in allowed:
            raise _bad("invalid_value", _l("%(name)s must be one of the allowed values.", name=name),
                       name, allowed=allowed)
        return value

    def text(self, name: str, max_length: int) -> str | None:
        value = self.raw(name)
        if value is not None and len(value) > max_length:
            raise _bad("too_long", _l("%(name)s may have at most %(max)s characters.",
                                      name=name, max=max_length), name)
        return value

    def paging(self, default_per_page: int = 20,
               max_per_page: int = 100) -> tuple[int, int, paging.Cursor | None]:
        """(page, per_page, cursor): ``page`` only near the start (OFFSET stays small), a
        list cursor (``portal.paging``) anywhere; with a cursor, ``page`` is ignored."""
        page = self.integer("page", 1, 1, paging.API_MAX_PAGE)
        per_page = self.integer("per_page", default_per_page, 1, max_per_page)
        raw = self.raw("cursor")
        if raw is None and not self._blank("cursor"):
            return page, per_page, None
        cursor = paging.decode_cursor(raw or "")
        if cursor is None:
            raise _bad("invalid_cursor", _l("The cursor is not valid. Start without one, or pass "
                                            "on a next or prev link of a previous answer "
                                            "unchanged."), "cursor")
        return page, per_page, cursor


# --------------------------------------------------------------------------
# Change-feed cursors: opaque to clients ("c1." + base64url of the last outbox position)
# --------------------------------------------------------------------------

CURSOR_PATTERN = r"c1\.([A-Za-z0-9_-]{1,24})"
_CURSOR = re.compile(CURSOR_PATTERN)


def encode_cursor(position: int) -> str:
    raw = base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")
    return f"c1.{raw}"


def decode_cursor(value: str | None) -> int:
    """0 (from the beginning) when absent; ``invalid_cursor`` for anything not made by us."""
    if value is None:
        return 0
    match = _CURSOR.fullmatch(value)
    if match:
        token = match.group(1)
        try:
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
        except (ValueError, UnicodeDecodeError):
            text = ""
        if text.isdigit() and len(text) <= 18:
            return int(text)
    raise _bad("invalid_cursor", _l("The cursor is not valid. Start without one, or pass on the "
                                    "next_cursor of the previous answer unchanged."), "since")
