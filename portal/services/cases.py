"""The listing procedure (SPEC §4): one function per state change, each audited.

Every function takes the session, the acting party and explicit data, checks
who may take the step now (``portal.services.case_steps``, the answer the case page
renders too), the transition table of ``portal.rules.workflow``, computes its deadlines from
the case's own profile (``rules_of.case``: a ``profile`` argument of another city is
never applied to it) and the bureau's calendar, flushes, and leaves the commit to the
caller.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Case, CaseOrigin, StaffUser, Subject
from portal.rules import terms, thresholds
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import (
    EVER_LISTED_STATES,
    CaseState,
    InvalidTransition,
    RemovalReason,
    check_case,
)
from portal.security import hash_code, new_code
from portal.services import audit, case_steps, numbering, publication, redlist, rules_of, scope
from portal.services.audit import Actor
from portal.services.calendar import load_calendar
from portal.services import permissions
from portal.services.permissions import (  # noqa: F401  (PermissionDenied: cases' errors)
    TIMING,
    PermissionDenied,
    Verdict,
    actor_of,
    deny,
)


class CaseError(ValueError):
    """The step is not possible with these data (wrong ground, missing date…)."""


class NotYet(CaseError):
    """The step is not possible yet (``verdict.until``: the last day it must wait through)."""

    def __init__(self, verdict: Verdict):
        self.verdict = verdict
        super().__init__(f"{verdict.step}: {verdict.reason} until {verdict.until}")


def require_step(user: StaffUser | None, case: Case, step: str,
                 today: dt.date | None = None) -> Actor:
    """The actor of ``step`` when ``case_steps.check`` allows it; else the refusal:
    :class:`PermissionDenied` (who), :class:`NotYet` (when), ``InvalidTransition`` (state)."""
    verdict = case_steps.check(user, case, step, today)
    if verdict.allowed:
        return actor_of(user)
    if verdict.forbidden:
        raise deny(verdict)
    if verdict.refusal == TIMING:
        raise NotYet(verdict)
    raise InvalidTransition("case", case.state.value, step)


class BelowThreshold(CaseError):
    """The case's figures do not reach its ground's threshold (``shortfall`` says how)."""

    def __init__(self, shortfall: thresholds.Shortfall):
        self.shortfall = shortfall
        super().__init__(f"ground {shortfall.ground}: figures below the threshold")


@dataclass(frozen=True)
class CaseInput:
    ground: str
    facts: str
    reasons: str = ""
    origin: CaseOrigin = CaseOrigin.INSPECTION
    document_no: str | None = None
    amount: Decimal | None = None
    department: str = ""
    department_contact: str = ""
    external_ref: str | None = None    # "<system>:<record id>" of an integrated business record
    months: int | None = None          # figures a ground's threshold may name
    person_times: int | None = None
    alternative_met: bool = False
    #: The bureau deciding it (``None``: the jurisdiction seeded from the profile); the case
    #: follows that jurisdiction's profile.
    jurisdiction: str | None = None

    @property
    def figures(self) -> thresholds.Figures:
        return thresholds.Figures(amount=self.amount, months=self.months,
                                  person_times=self.person_times,
                                  alternative_met=self.alternative_met)


def _transition(session: Session, case: Case, target: CaseState, actor: Actor,
                action: str, data: dict | None = None) -> None:
    check_case(case.state, target)
    scope.require_actor(session, actor, case.jurisdiction)
    before = case.state
    case.state = target
    audit.record(session, actor, action, "case", case.case_no,
                 {"from": before.value, "to": target.value, **(data or {})})
    session.flush()


#: Removals that annul the listing itself: such a listing never counts as a prior one.
ANNULLING_REASONS = (RemovalReason.OBJECTION_UPHELD, RemovalReason.REVOKED)


def prior_listings(session: Session, subject: Subject, profile: Profile,
                   exclude_case_id: int | None = None) -> int:
    """Earlier valid listings of the same subject under this profile (repeat-listing rule).

    A listing removed because an objection was upheld or the decision was revoked
    (Shanghai art. 9, Jiamusi art. 15) was wrong, so it is not a prior listing.
    """
    query = sa.select(sa.func.count(Case.id)).where(
        Case.subject_id == subject.id,
        Case.profile == profile.code,
        Case.decided_on.is_not(None),
        Case.state.in_(EVER_LISTED_STATES),
        sa.or_(Case.removal_reason.is_(None), Case.removal_reason.not_in(ANNULLING_REASONS)),
    )
    if exclude_case_id is not None:
        query = query.where(Case.id != exclude_case_id)
    return session.scalar(query) or 0


def next_case_no(session: Session, profile: Profile, year: int) -> str:
    return numbering.next_number(session, Case.case_no, f"{profile.code.upper()[:3]}-{year}-")


def open_case(session: Session, user: StaffUser | None, profile: Profile, subject: Subject,
              data: CaseInput, today: dt.date, *, actor: Actor | None = None) -> Case:
    """立案 under the rules of ``data.jurisdiction`` (its profile; ``profile`` when none is
    named). ``actor``: a business system (``user`` is then None); its case stays unassigned."""
    if actor is None or user is not None:
        actor = permissions.require(case_steps.can_open(user), user)
    scope.require(session, user, data.jurisdiction or profile.code)
    bureau = rules_of.bureau(session, data.jurisdiction or profile.code)
    if data.jurisdiction and data.jurisdiction != profile.code:
        if bureau is None:
            raise CaseError(f"unknown jurisdiction {data.jurisdiction}")
        profile = rules_of.jurisdiction(session, data.jurisdiction, profile)
    ground = profile.ground(data.ground)
    if subject.kind.value not in ground.subject_kinds:
        raise CaseError(f"ground {ground.code} does not apply to a {subject.kind.value}")
    short = thresholds.shortfall(ground, data.figures)
    if short is not None:
        raise BelowThreshold(short)
    case = Case(
        case_no=next_case_no(session, profile, today.year), profile=profile.code,
        jurisdiction=data.jurisdiction or profile.code, subject=subject, ground=ground.code,
        severity=ground.severity, state=CaseState.OPENED, origin=data.origin,
        facts=data.facts, reasons=data.reasons, document_no=data.document_no, amount=data.amount,
        months=data.months, person_times=data.person_times,
        # the alternative counts only where the ground names one (Jiamusi art. 5(三))
        alternative_met=bool(data.alternative_met and ground.threshold
                             and ground.threshold.alternative is not None),
        department=data.department or rules_of.default_department(bureau, profile),
        department_contact=data.department_contact, opened_on=today,
        prior_listings=prior_listings(session, subject, profile),
        prepared_by_id=user.id if user else None, assignee_id=user.id if user else None,
        external_ref=data.external_ref,
    )
    session.add(case)
    session.flush()
    audit.record(session, actor, "case.open", "case", case.case_no,
                 {"ground": ground.code, "origin": data.origin.value, "subject": subject.id,
                  **({"external_ref": data.external_ref} if data.external_ref else {}),
                  **{k: v for k, v in (("amount", data.amount), ("months", data.months),
                                       ("person_times", data.person_times)) if v is not None},
                  **({"alternative_met": True} if data.alternative_met else {})})
    return case


def serve_pre_notice(session: Session, user: StaffUser | None, case: Case, profile: Profile,
                     calendar: WorkCalendar, served_on: dt.date) -> str:
    """Serve the 事先告知书; returns the party's access code (shown once, printed on the letter)."""
    actor = require_step(user, case, "pre_notice")
    profile = rules_of.case(case, profile)
    due = terms.deadline(profile, "defence_window", served_on, calendar)
    code = new_code()
    case.pre_notice_served_on, case.defence_due_on = served_on, due.due
    case.deadlines_provisional = due.provisional
    case.access_code_hash = hash_code(code)
    _transition(session, case, CaseState.PRE_NOTICED, actor, "case.pre_notice",
                {"served_on": served_on, "defence_due_on": due.due, "basis": due.basis})
    return code


def record_defence(session: Session, actor: Actor, case: Case, received_on: dt.date) -> None:
    """A statement and defence: the party's own filing, or one staff record from paper."""
    if actor.staff_id is not None:
        require_step(session.get(StaffUser, actor.staff_id), case, "defence")
    if case.defence_due_on and received_on > case.defence_due_on:
        raise CaseError("the defence window closed on %s" % case.defence_due_on)
    _transition(session, case, CaseState.DEFENCE_FILED, actor, "case.defence",
                {"received_on": received_on})


def complete_review(session: Session, user: StaffUser | None, case: Case, today: dt.date,
                    note: str = "") -> None:
    """复核: after a defence, or once the window has lapsed without one."""
    actor = require_step(user, case, "review", today)
    _transition(session, case, CaseState.REVIEWED, actor, "case.review", {"note": note})


def propose_listing(session: Session, user: StaffUser | None, case: Case) -> None:
    actor = require_step(user, case, "propose")
    if user is not None:
        case.prepared_by_id = user.id
    _transition(session, case, CaseState.PROPOSED, actor, "case.propose")


def approve_listing(session: Session, user: StaffUser | None, case: Case, profile: Profile,
                    calendar: WorkCalendar, decided_on: dt.date) -> str:
    """Sign the 列入决定 (four-eyes: not the person who prepared it).

    Computes the term (with the repeat rule) and the publication and sharing
    deadlines. Returns a fresh access code for the decision letter.
    """
    actor = require_step(user, case, "approve")
    profile = rules_of.case(case, profile)
    # Counted again now: another listing of the subject may have been decided since opening.
    case.prior_listings = prior_listings(session, case.subject, profile, exclude_case_id=case.id)
    term = terms.listing_term(profile, case.ground, decided_on, case.prior_listings)
    pub = terms.deadline(profile, "publication", decided_on, calendar)
    share = terms.deadline(profile, "sharing", decided_on, calendar)
    case.decided_on, case.term_start, case.leaves_list_on = decided_on, term.start, term.expires_on
    case.publish_due_on, case.share_due_on = pub.due, share.due
    case.deadlines_provisional = pub.provisional or share.provisional
    case.approved_by_id = user.id if user else None
    code = new_code()
    case.access_code_hash = hash_code(code)
    _transition(session, case, CaseState.DECIDED, actor, "case.decide", {
        "decided_on": decided_on, "term_last_day": term.last_day,
        "leaves_list_on": term.expires_on, "term_source": term.source,
        "publish_due_on": pub.due, "share_due_on": share.due, "basis": pub.basis,
    })
    redlist.on_listing_decision(session, case)  # a listing decision ends any red-list admission
    publication.bump_version(session)   # /stats counts the decisions awaiting publication
    return code


def send_back(session: Session, user: StaffUser | None, case: Case, reason: str) -> None:
    actor = require_step(user, case, "send_back")
    _transition(session, case, CaseState.REVIEWED, actor, "case.send_back", {"reason": reason})


def drop_case(session: Session, user: StaffUser | None, case: Case, reason: str) -> None:
    actor = require_step(user, case, "drop")
    _transition(session, case, CaseState.DROPPED, actor, "case.drop", {"reason": reason})


def publish_case(session: Session, user: StaffUser | None, case: Case, profile: Profile,
                 key: str, published_on: dt.date) -> None:
    actor = require_step(user, case, "publish")
    profile = rules_of.case(case, profile)
    case.published_on = published_on
    _transition(session, case, CaseState.PUBLISHED, actor, "case.publish",
                {"published_on": published_on, "due": case.publish_due_on,
                 "late": bool(case.publish_due_on and published_on > case.publish_due_on)})
    publication.publish_entry(session, case, profile, key, published_on)


def mark_shared(session: Session, user: StaffUser | None, case: Case, shared_on: dt.date) -> None:
    """Record the upload to the credit-information sharing platform (Jiamusi art. 9)."""
    actor = require_step(user, case, "share")
    scope.require(session, user, case.jurisdiction)
    case.shared_on = shared_on
    audit.record(session, actor, "case.share", "case", case.case_no,
                 {"shared_on": shared_on, "due": case.share_due_on})
    session.flush()


def remove_case(session: Session, user: StaffUser | None, case: Case, profile: Profile, key: str,
                reason: RemovalReason, removed_on: dt.date, note: str = "",
                calendar: WorkCalendar | None = None) -> None:
    """移出: ends the measures at once (art. 13) and publishes a removal notice (art. 14)."""
    actor = require_step(user, case, "remove")
    scope.require(session, user, case.jurisdiction)
    profile = rules_of.case(case, profile)
    if case.decided_on is not None:
        problem = terms.removal_problem(profile, case.ground, reason.value, case.decided_on,
                                        case.leaves_list_on, case.prior_listings, removed_on,
                                        calendar or load_calendar(session))
        if problem:
            raise CaseError(f"removal not possible: {problem}")
    case.removed_on, case.removal_reason = removed_on, reason
    was_published = case.state is CaseState.PUBLISHED
    _transition(session, case, CaseState.REMOVED, actor, "case.remove",
                {"reason": reason.value, "removed_on": removed_on, "note": note})
    if was_published:
        publication.publish_removal(session, case, profile, key)
    else:
        publication.bump_version(session)   # /stats: no longer a decision awaiting publication


def correct_facts(session: Session, user: StaffUser | None, case: Case, profile: Profile,
                  key: str, facts: str, reasons: str | None, corrected_on: dt.date,
                  receipt_no: str) -> None:
    """An upheld objection that corrects the facts (or reasons) of a listing that stands
    (Shanghai art. 9): the case and its public entry carry the corrected text from now on,
    the search index follows through the outbox, and the audit keeps both versions."""
    actor = require_step(user, case, "correct")
    scope.require(session, user, case.jurisdiction)
    profile = rules_of.case(case, profile)
    facts = (facts or "").strip()
    reasons = (reasons or "").strip()
    if not facts and not reasons:
        raise CaseError("a correction states the corrected facts or reasons")
    before = {"facts": case.facts, "reasons": case.reasons}
    if facts:
        case.facts = facts
    if reasons:
        case.reasons = reasons
    case.corrected_on = corrected_on
    audit.record(session, actor, "case.correct", "case", case.case_no, {
        "submission": receipt_no, "corrected_on": corrected_on,
        "before": before, "after": {"facts": case.facts, "reasons": case.reasons},
    })
    publication.publish_entry(session, case, profile, key, case.published_on or corrected_on)


def expire_terms(session: Session, profile_for, key: str, today: dt.date) -> list[str]:
    """Remove every published case whose term has ended (Jiamusi art. 10). Idempotent."""
    due = session.execute(
        sa.select(Case).where(Case.state == CaseState.PUBLISHED, Case.leaves_list_on <= today)
        .order_by(Case.leaves_list_on, Case.id).with_for_update(skip_locked=True)
    ).scalars().all()
    calendar = load_calendar(session) if due else None   # once for the whole run
    for case in due:
        remove_case(session, None, case, profile_for(case.profile), key,
                    RemovalReason.TERM_EXPIRED, case.leaves_list_on, calendar=calendar)
    return [case.case_no for case in due]
