"""The token a /check answer hands to its "issue a certificate" button.

The answer page never sends the code typed back (it would sit in the page); the
button carries instead a token signed with the secret key holding the kind of
code, its masked form, its keyed hash, the jurisdiction asked for and the day
asked about (None: today's answer). The certificate view trusts nothing else from
the client and runs the look-up again from the hash. A token is good for ``MAX_AGE`` seconds.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.services.certificates import Subject

MAX_AGE = 30 * 60
_SALT = "query-certificate-v1"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def make(subject: Subject, scope: str | None, day: dt.date | None = None) -> str:
    return _serializer().dumps({"k": subject.kind, "m": subject.masked, "h": subject.code_hash,
                                "j": scope, "d": day.isoformat() if day else None})


def read(token: str) -> tuple[Subject, str | None, dt.date | None] | None:
    """(subject, jurisdiction asked for, day asked about) of a valid, unexpired token; None
    otherwise."""
    try:
        data = _serializer().loads(token or "", max_age=MAX_AGE)
        subject = Subject(kind=str(data["k"]), masked=str(data["m"]), code_hash=str(data["h"]))
        scope = data.get("j")
        day = dt.date.fromisoformat(data["d"]) if data.get("d") else None
    except (BadSignature, KeyError, TypeError, AttributeError, ValueError):
        return None
    if subject.kind not in ("uscc", "ric") or len(subject.code_hash) != 64:
        return None
    return subject, (str(scope) if scope is not None else None), day
