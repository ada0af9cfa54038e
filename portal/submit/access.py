"""What this browser may act on: a party's case, and filings it may follow (short-lived).

Stored in the signed session cookie: the case id with a fingerprint of its
access code (a newly issued code ends the session) and an expiry that slides
with activity; the ids of submissions unlocked with their query code (or
just filed here).
"""
from __future__ import annotations

from flask import session

from portal import clock
from portal.models import Case, Submission
from portal.services.party_access import access_fingerprint

TTL_SECONDS = 30 * 60
MAX_TRACKED = 10
MAX_TOKENS = 10
_PARTY, _TRACK, _TOKENS = "submit_party", "submit_track", "submit_tokens"


def remember_party(case: Case) -> None:
    session[_PARTY] = {"case": case.id, "fp": access_fingerprint(case), "until": int(clock.timestamp()) + TTL_SECONDS}


def forget_party() -> None:
    session.pop(_PARTY, None)


def party_case(db_session) -> Case | None:
    """The case this browser signed in for, while the sign-in is fresh."""
    data = session.get(_PARTY)
    if not isinstance(data, dict) or data.get("until", 0) < clock.timestamp():
        session.pop(_PARTY, None)
        return None
    case = db_session.get(Case, data.get("case"))
    if case is None or access_fingerprint(case) != data.get("fp"):
        session.pop(_PARTY, None)
        return None
    data["until"] = int(clock.timestamp()) + TTL_SECONDS
    session[_PARTY] = data
    return case


def remember_track(submission: Submission) -> None:
    now = int(clock.timestamp())
    tracked = {k: v for k, v in (session.get(_TRACK) or {}).items() if v >= now}
    tracked[str(submission.id)] = now + TTL_SECONDS
    if len(tracked) > MAX_TRACKED:
        tracked = dict(sorted(tracked.items(), key=lambda kv: kv[1])[-MAX_TRACKED:])
    session[_TRACK] = tracked


def may_track(submission: Submission) -> bool:
    tracked = session.get(_TRACK) or {}
    until = tracked.get(str(submission.id), 0)
    if until < clock.timestamp():
        return False
    tracked[str(submission.id)] = int(clock.timestamp()) + TTL_SECONDS
    session[_TRACK] = tracked
    return True


def forget_track() -> None:
    session.pop(_TRACK, None)


def issue_form_token(value: str) -> None:
    """Remember that this browser was given form token ``value`` (set when the form is shown)."""
    tokens = [t for t in (session.get(_TOKENS) or []) if t != value][-(MAX_TOKENS - 1):]
    session[_TOKENS] = [*tokens, value]


def owns_form_token(value: str) -> bool:
    """True if this browser was shown the form with ``value``: a retry from it may follow the filing.

    (A double click can abort the first response, query code and all; the retry then
    lets the same browser follow its filing. Another browser gets the receipt only.)
    """
    return value in (session.get(_TOKENS) or [])
