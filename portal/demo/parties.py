"""Listed parties anyone can sign in as: three demo cases with known access codes.

A listed party signs in at ``/submit/party`` with its case number, the access
code printed on its letter and its unified social credit code.  Real codes are
random and shown once; the demo's clerk re-issues the decision letter of three
listed organisations with the documented codes below, through the letter
service (hashed like any other code, audited as ``case.reissue_code``):

* one whose rectification window is open (and objection),
* one that may apply for credit repair (and objection),
* one that may file an objection only (a repeat listing, or a ground that
  cannot be rectified).

Each is the open case of its kind whose window stays open longest after the
demo's day.  ``make run`` prints them (``flask --app wsgi demo-logins``:
:func:`party_logins`, with the filings open on the bureau's day), as long as
the bureau has not re-issued their codes since; the README lists them beside
the staff logins.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import AuditEvent, Case, LetterKind, Subject, SubjectKind
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import CaseState, SubmissionKind
from portal.security import verify_code
from portal.services import filing_windows, letters, rules_of

K = SubmissionKind

#: The documented access codes (README, "Demo logins"), by the filing each case is chosen for.
CODES = {
    K.RECTIFICATION: "DEMA-RECT-26",
    K.CREDIT_REPAIR: "DEMA-REPR-26",
    K.OBJECTION: "DEMA-DSPT-26",
}
_FAR = dt.date.max


def _candidates(session: Session, jurisdiction: str) -> list[Case]:
    return list(session.execute(
        sa.select(Case).join(Case.subject)
        .where(Case.state == CaseState.PUBLISHED, Case.jurisdiction == jurisdiction,
               Subject.kind == SubjectKind.ORGANISATION)
        .order_by(Case.id)).scalars())


def _choose(session: Session, cases: list[Case], profile: Profile, calendar: WorkCalendar,
            today: dt.date) -> dict[SubmissionKind, Case]:
    """Per kind, the case whose window for it stays open longest (the first of equals);
    the objection case is one that may file nothing else."""
    best: dict[SubmissionKind, tuple[dt.date, Case]] = {}
    for case in cases:
        windows = filing_windows.windows(session, case, profile, calendar, today)
        open_ = {kind for kind, w in windows.items() if w.allowed}
        if K.OBJECTION not in open_:
            continue
        for kind in (K.RECTIFICATION, K.CREDIT_REPAIR):
            if kind in open_:
                closes = windows[kind].closes_on or _FAR
                if kind not in best or closes > best[kind][0]:
                    best[kind] = (closes, case)
        if open_ == {K.OBJECTION} and K.OBJECTION not in best:
            best[K.OBJECTION] = (_FAR, case)
    return {kind: case for kind, (_, case) in best.items()}


def give_codes(session: Session, clerk, profile: Profile, calendar: WorkCalendar,
               today: dt.date, jurisdiction: str) -> dict[SubmissionKind, Case]:
    """The clerk re-issues the decision letters of the chosen cases with the documented codes."""
    chosen = _choose(session, _candidates(session, jurisdiction), profile, calendar, today)
    for kind, case in chosen.items():
        letters.reissue_code(session, clerk, case, LetterKind.LISTING_DECISION, code=CODES[kind])
    session.flush()
    return chosen


def party_logins(session: Session, calendar: WorkCalendar, today: dt.date) -> list[str]:
    """Lines for the terminal: the demo cases whose documented code still opens them."""
    case_nos = set(session.execute(sa.select(AuditEvent.entity_id).where(
        AuditEvent.action == "case.reissue_code", AuditEvent.entity_type == "case")).scalars())
    if not case_nos:
        return []
    found = []
    for case in session.execute(sa.select(Case).where(Case.case_no.in_(case_nos))
                                .order_by(Case.id)).scalars():
        if case.subject.kind is not SubjectKind.ORGANISATION or not case.subject.uscc:
            continue
        code = next((c for c in CODES.values() if verify_code(case.access_code_hash, c)), None)
        if code is None:
            continue
        profile = rules_of.case(case)
        windows = filing_windows.windows(session, case, profile, calendar, today)
        open_ = ", ".join(k.value.replace("_", " ") for k, w in windows.items() if w.allowed) \
            or "nothing today"
        found.append(f"  case {case.case_no}  access code {code}  USCC {case.subject.uscc}   "
                     f"(may file: {open_})")
    return found
