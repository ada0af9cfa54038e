"""What this browser may act on: a party's case, and filings it may follow (short-lived).

Stored in the signed session cookie: the case id with a fingerprint of its
access code (a newly issued code ends the session) and an expiry that slides
with activity; the ids of submissions unlocked with their query code (or
just filed here). Both count only while the server-side record of the
browser's session (``portal.services.party_sessions``) lives: signing out of
either area deletes it, so a copy of the cookie opens nothing afterwards.
"""
from __future__ import annotations

from flask import session

from portal import clock
from portal.extensions import db
from portal.models import Case, Submission
from portal.services import party_sessions
from portal.services.party_access import access_fingerprint
from portal.submit import files

TTL_SECONDS = 30 * 60
MAX_TRACKED = 10
MAX_TOKENS = 10
_PARTY, _TRACK, _TOKENS, _SID = "submit_party", "submit_track", "submit_tokens", "submit_sid"


def _live(db_session=None):
    """The server-side record of this browser's session, if it still lives."""
    return party_sessions.find(db_session or db.session, session.get(_SID), clock.now())


def _ensure_live(db_session=None):
    """The live record, or a new one (committed: the browser is told its token now)."""
    db_session = db_session or db.session
    row = _live(db_session)
    if row is None:
        token, row = party_sessions.open_session(db_session, clock.now())
        db_session.commit()
        session.pop(_PARTY, None)
        session.pop(_TRACK, None)
        session[_SID] = token
    return row


def _sign_out() -> None:
    """Revoke the server-side record: the party's sign-in and every followed filing end, and
    the files kept for this browser's open forms are let go of."""
    party_sessions.revoke(db.session, session.get(_SID))
    db.session.commit()
    files.drop_holds()
    for key in (_PARTY, _TRACK, _SID):
        session.pop(key, None)


def remember_party(case: Case) -> None:
    """Sign in for ``case``: a new server-side record (the earlier one, if any, is revoked)."""
    tracked = session.get(_TRACK) if _live() is not None else None
    party_sessions.revoke(db.session, session.get(_SID))
    token, row = party_sessions.open_session(db.session, clock.now())
    row.case_id = case.id
    db.session.commit()
    session[_SID] = token
    if tracked:
        session[_TRACK] = tracked
    session[_PARTY] = {"case": case.id, "fp": access_fingerprint(case), "until": int(clock.timestamp()) + TTL_SECONDS}


def forget_party() -> None:
    _sign_out()


def party_case(db_session) -> Case | None:
    """The case this browser signed in for, while the sign-in is fresh."""
    data = session.get(_PARTY)
    if not isinstance(data, dict) or data.get("until", 0) < clock.timestamp():
        session.pop(_PARTY, None)
        return None
    live = _live(db_session)
    case = db_session.get(Case, data.get("case")) if live is not None else None
    if case is None or live.case_id != case.id or access_fingerprint(case) != data.get("fp"):
        session.pop(_PARTY, None)
        return None
    data["until"] = int(clock.timestamp()) + TTL_SECONDS
    session[_PARTY] = data
    return case


def remember_track(submission: Submission) -> None:
    _ensure_live()
    now = int(clock.timestamp())
    tracked = {k: v for k, v in (session.get(_TRACK) or {}).items() if v >= now}
    tracked[str(submission.id)] = now + TTL_SECONDS
    if len(tracked) > MAX_TRACKED:
        tracked = dict(sorted(tracked.items(), key=lambda kv: kv[1])[-MAX_TRACKED:])
    session[_TRACK] = tracked


def may_track(submission: Submission) -> bool:
    tracked = session.get(_TRACK) or {}
    until = tracked.get(str(submission.id), 0)
    if until < clock.timestamp() or _live() is None:
        return False
    tracked[str(submission.id)] = int(clock.timestamp()) + TTL_SECONDS
    session[_TRACK] = tracked
    return True


def forget_track() -> None:
    _sign_out()


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
