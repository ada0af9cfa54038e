"""Which filing a listed party may make on its case today, and why not (SPEC §6).

One function per kind, all built on the case's own profile and ``portal.rules.terms``:

* defence (陈述申辩): from the day the pre-notice is served up to and
  including ``case.defence_due_on`` (last day in, the next day out), while the
  case is at the pre-notice stage;
* objection (异议): while the entry is published;
* rectification (整改): :func:`terms.rectification_eligibility` — first
  listing, rectifiable ground, window open (Jiamusi art. 11);
* credit repair (信用修复): :func:`terms.repair_eligibility` (Jiamusi art. 12,
  Chizhou §二(二)4, national overlay);
* at most one open objection / rectification / repair per case: a second
  one is refused with the receipt number of the first ("already_pending").

Reason codes (shown to the party in plain words by the submit templates):
``ok``, ``not_pre_noticed``, ``stage_passed``, ``window_closed``,
``window_not_open``, ``not_listed``, ``not_published``, ``case_closed``,
``ground_not_rectifiable``, ``repeat_listing``, ``repair_not_allowed``,
``already_pending``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Case, Submission
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import LISTED_STATES, OPEN_SUBMISSION_STATES, CaseState, SubmissionKind
from portal.services import rules_of

K = SubmissionKind
#: The filings a listed party makes on its own case (complaints are open to anyone).
PARTY_KINDS = (K.DEFENCE, K.OBJECTION, K.RECTIFICATION, K.CREDIT_REPAIR)
_CLOSED = (CaseState.DROPPED, CaseState.REMOVED)


@dataclass(frozen=True)
class Window:
    """Whether ``kind`` may be filed today; ``opens_on`` / ``closes_on`` inclusive where known."""

    kind: SubmissionKind
    allowed: bool
    reason: str
    opens_on: dt.date | None = None
    closes_on: dt.date | None = None
    provisional: bool = False
    pending_receipt: str | None = None


def _defence(case: Case, today: dt.date) -> Window:
    due = case.defence_due_on
    if case.state in _CLOSED:
        return Window(K.DEFENCE, False, "case_closed", case.pre_notice_served_on, due)
    if case.state is CaseState.OPENED or case.pre_notice_served_on is None:
        return Window(K.DEFENCE, False, "not_pre_noticed")
    common = {"opens_on": case.pre_notice_served_on, "closes_on": due,
              "provisional": case.deadlines_provisional}
    if due is not None and today > due:
        return Window(K.DEFENCE, False, "window_closed", **common)
    if case.state not in (CaseState.PRE_NOTICED, CaseState.DEFENCE_FILED):
        return Window(K.DEFENCE, False, "stage_passed", **common)
    if today < case.pre_notice_served_on:
        return Window(K.DEFENCE, False, "window_not_open", **common)
    return Window(K.DEFENCE, True, "ok", **common)


def _objection(case: Case) -> Window:
    if case.state is CaseState.PUBLISHED:
        return Window(K.OBJECTION, True, "ok")
    if case.state in _CLOSED:
        return Window(K.OBJECTION, False, "case_closed")
    if case.state is CaseState.DECIDED:
        return Window(K.OBJECTION, False, "not_published")
    return Window(K.OBJECTION, False, "not_listed")


def _from_eligibility(kind: SubmissionKind, elig: terms.Eligibility,
                      provisional: bool = False) -> Window:
    return Window(kind, elig.allowed, elig.reason, elig.opens_on, elig.closes_on, provisional)


def _provisional(case: Case, profile: Profile, calendar: WorkCalendar, name: str) -> bool:
    """Does the published date ``name`` of the case rest on a provisional calendar year?"""
    return name in terms.entry_dates(profile, case.ground, case.decided_on, case.prior_listings,
                                     calendar).provisional


def _rectification(case: Case, profile: Profile, calendar: WorkCalendar, today: dt.date) -> Window:
    if case.state in _CLOSED:
        return Window(K.RECTIFICATION, False, "case_closed")
    if case.state not in LISTED_STATES or case.decided_on is None:
        return Window(K.RECTIFICATION, False, "not_listed")
    elig = terms.rectification_eligibility(profile, case.ground, case.decided_on,
                                           case.prior_listings, today, calendar)
    return _from_eligibility(K.RECTIFICATION, elig, _provisional(
        case, profile, calendar, "rectification_closes_on"))


def _repair(case: Case, profile: Profile, calendar: WorkCalendar, today: dt.date) -> Window:
    if case.state in _CLOSED:
        return Window(K.CREDIT_REPAIR, False, "case_closed")
    if case.state not in LISTED_STATES or case.decided_on is None:
        return Window(K.CREDIT_REPAIR, False, "not_listed")
    elig = terms.repair_eligibility(profile, case.ground, case.decided_on, today, case.leaves_list_on,
                                    prior_listings=case.prior_listings, calendar=calendar)
    return _from_eligibility(K.CREDIT_REPAIR, elig, _provisional(
        case, profile, calendar, "repair_opens_on"))


def open_filing(session: Session, case: Case, kind: SubmissionKind) -> Submission | None:
    """The case's open filing of ``kind``, if any (oldest first)."""
    return session.execute(
        sa.select(Submission).where(Submission.case_id == case.id, Submission.kind == kind,
                                    Submission.state.in_(OPEN_SUBMISSION_STATES))
        .order_by(Submission.id).limit(1)
    ).scalar_one_or_none()


def window(session: Session, kind: SubmissionKind, case: Case, profile: Profile,
           calendar: WorkCalendar, today: dt.date) -> Window:
    """May the party of ``case`` file ``kind`` on ``today``? (Under the case's own profile.)"""
    profile = rules_of.case(case, profile)
    if kind is K.DEFENCE:
        result = _defence(case, today)
    elif kind is K.OBJECTION:
        result = _objection(case)
    elif kind is K.RECTIFICATION:
        result = _rectification(case, profile, calendar, today)
    elif kind is K.CREDIT_REPAIR:
        result = _repair(case, profile, calendar, today)
    else:
        raise ValueError(f"{kind.value} is not filed on a case")
    if result.allowed and kind is not K.DEFENCE:
        pending = open_filing(session, case, kind)
        if pending is not None:
            return Window(kind, False, "already_pending", result.opens_on, result.closes_on,
                          result.provisional, pending.receipt_no)
    return result


def windows(session: Session, case: Case, profile: Profile, calendar: WorkCalendar,
            today: dt.date) -> dict[SubmissionKind, Window]:
    return {kind: window(session, kind, case, profile, calendar, today) for kind in PARTY_KINDS}
