"""The 守信红名单 (Zhengzhou §一): proposal, four-eyes admission, removal. Each step audited.

A clerk proposes a unit with the criteria it meets; an approver other than
the proposer admits or refuses it. Admission is refused while the unit is
listed, has an open listing case, has a finding that still counts, is on the
red list already or has a proposal pending, and unless every applicable
criterion is met (``portal.rules.grades``). A listing decision or a serious
finding removes the unit from the red list at once, in the same transaction
(:func:`on_listing_decision`, :func:`remove_for_dishonesty`).

The public ``red_list_entries`` row is written by ``portal.services.publication``
(with an outbox row, topic ``redlist``, and a publication-version bump), so
/redlist, the API and the change feed follow. Functions flush; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import (
    Case,
    GradeFinding,
    ProposalState,
    RedListEntry,
    RedListProposal,
    StaffUser,
    Subject,
    SubjectKind,
)
from portal.rules import grades as rules
from portal.rules.profiles import Profile
from portal.rules.workflow import LISTED_STATES, CaseState
from portal.services import audit, grade_steps, numbering, publication, rules_of, scope
from portal.services.audit import Actor
from portal.services.permissions import Verdict, require

#: Removal reasons (codes, published in the API; the staff note stays internal).
AUTOMATIC_REASONS = ("listing_decision",)
STAFF_REASONS = ("criteria_no_longer_met", "dishonest_conduct", "unit_request", "admitted_in_error")
C = CaseState
OPEN_CASE_STATES = (C.OPENED, C.PRE_NOTICED, C.DEFENCE_FILED, C.REVIEWED, C.PROPOSED)


class RedListError(ValueError):
    """The step is not possible: ``code`` says why, ``reasons`` lists the obstacles."""

    def __init__(self, code: str, reasons: tuple[str, ...] = (), missing: tuple[str, ...] = ()):
        self.code, self.reasons, self.missing = code, reasons, missing
        super().__init__(f"{code}: {', '.join(reasons or missing)}")


def _number(session: Session, model, column, profile: Profile, letter: str, year: int) -> str:
    return numbering.next_number(session, column, f"{profile.code.upper()[:3]}-{letter}{year}-")


# --------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------

def _current(today: dt.date):
    return RedListEntry.removed_on.is_(None) & (
        RedListEntry.valid_until.is_(None) | (RedListEntry.valid_until >= today))


def current_entries(session: Session, today: dt.date, subject_id: int | None = None) -> list[RedListEntry]:
    query = sa.select(RedListEntry).where(_current(today))
    if subject_id is not None:
        query = query.where(RedListEntry.subject_id == subject_id)
    return list(session.execute(query.order_by(RedListEntry.admitted_on.desc(),
                                               RedListEntry.id.desc())).scalars())


def awaiting_decision_by(user_id: int):
    """The proposals waiting for a decision that this user may take: not their own (four
    eyes). The approver's desk counts them and the red-list page lists them (``to_decide``)."""
    return (RedListProposal.state == ProposalState.PROPOSED) & sa.or_(
        RedListProposal.proposed_by_id.is_(None), RedListProposal.proposed_by_id != user_id)


def pending_proposals(session: Session, subject_id: int | None = None,
                      to_decide_by: int | None = None) -> list[RedListProposal]:
    query = sa.select(RedListProposal).where(RedListProposal.state == ProposalState.PROPOSED)
    if to_decide_by is not None:
        query = query.where(awaiting_decision_by(to_decide_by))
    if subject_id is not None:
        query = query.where(RedListProposal.subject_id == subject_id)
    return list(session.execute(query.order_by(RedListProposal.proposed_on,
                                               RedListProposal.id)).scalars())


def _has_case(session: Session, subject_id: int, states) -> bool:
    return bool(session.scalar(sa.select(sa.func.count(Case.id)).where(
        Case.subject_id == subject_id, Case.state.in_(states))))


def has_live_finding(session: Session, profile: Profile, subject_id: int, today: dt.date) -> bool:
    findings = session.execute(
        sa.select(GradeFinding).where(GradeFinding.subject_id == subject_id)).scalars()
    return rules.standing(findings, today, profile).grade is not None


def obstacles(session: Session, profile: Profile, subject: Subject, unit_type: str,
              criteria: Iterable[str], today: dt.date,
              exclude: RedListProposal | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(reasons, missing criteria)`` why ``subject`` cannot be admitted today (empty: it can)."""
    missing = rules.missing_criteria(profile, unit_type, criteria)
    pending = [p for p in pending_proposals(session, subject.id) if exclude is None or p.id != exclude.id]
    reasons = rules.red_list_obstacles(
        listed=_has_case(session, subject.id, LISTED_STATES),
        open_case=_has_case(session, subject.id, OPEN_CASE_STATES),
        live_finding=has_live_finding(session, profile, subject.id, today),
        on_red_list=bool(current_entries(session, today, subject.id)),
        pending=bool(pending), missing=missing)
    return reasons, missing


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------

def _check_offered(profile: Profile) -> None:
    if not rules.red_list_criteria(profile):
        raise RedListError("no_red_list")


def propose(session: Session, user: StaffUser | None, profile: Profile, subject: Subject,
            unit_type: str, criteria: Iterable[str], basis: str, today: dt.date,
            jurisdiction: str | None = None) -> RedListProposal:
    """A clerk's proposal: the unit, its type and the criteria it meets, with the evidence.

    ``jurisdiction``: the bureau proposing it (``None``: the one seeded from ``profile``); the
    red-list criteria are that jurisdiction's profile's."""
    actor = require(grade_steps.can_propose(user), user)
    jurisdiction = jurisdiction or profile.code
    scope.require(session, user, jurisdiction)
    profile = rules_of.jurisdiction(session, jurisdiction, profile)
    _check_offered(profile)
    if subject.kind is not SubjectKind.ORGANISATION:
        raise RedListError("not_a_unit")
    if unit_type not in rules.UNIT_TYPES:
        raise RedListError("unit_type")
    known = {c.code for c in rules.red_list_criteria(profile)}
    met = [c for c in dict.fromkeys(criteria) if c in known]
    basis = (basis or "").strip()
    if not basis:
        raise RedListError("basis_required")
    reasons, missing = obstacles(session, profile, subject, unit_type, met, today)
    if reasons:
        raise RedListError("refused", reasons, missing)
    proposal = RedListProposal(
        proposal_no=_number(session, RedListProposal, RedListProposal.proposal_no, profile, "H",
                            today.year),
        profile=profile.code, jurisdiction=jurisdiction, subject=subject, unit_type=unit_type,
        criteria=met, basis=basis,
        state=ProposalState.PROPOSED, proposed_on=today, proposed_by_id=user.id if user else None)
    session.add(proposal)
    session.flush()
    audit.record(session, actor, "redlist.propose", "red_list_proposal", proposal.proposal_no,
                 {"subject": subject.id, "unit_type": unit_type, "criteria": met})
    return proposal


def _enforce(verdict: Verdict, user: StaffUser | None) -> Actor:
    """The actor of an allowed step; ``PermissionDenied`` (who) or :class:`RedListError`
    (``decided``, ``removed``: the proposal or entry is no longer open)."""
    actor = require(verdict, user)
    if not verdict.allowed:
        raise RedListError(verdict.reason)
    return actor


def _decider(user: StaffUser | None, proposal: RedListProposal, step: str) -> Actor:
    return _enforce(grade_steps.check_proposal(user, proposal, step), user)


def admit(session: Session, user: StaffUser | None, proposal: RedListProposal, profile: Profile,
          key: str, today: dt.date, note: str = "") -> RedListEntry:
    """Admit (approver, not the proposer); the obstacles are checked again today, under the
    proposal's own profile."""
    actor = _decider(user, proposal, "admit")
    scope.require(session, user, proposal.jurisdiction)
    profile = rules_of.own(proposal, profile)
    _check_offered(profile)
    subject = proposal.subject
    reasons, missing = obstacles(session, profile, subject, proposal.unit_type, proposal.criteria,
                                 today, exclude=proposal)
    if reasons:
        raise RedListError("refused", reasons, missing)
    entry = publication.publish_red_list_entry(
        session, key, profile, subject, proposal.proposal_no, proposal.criteria, today,
        rules.red_list_valid_until(profile, today), jurisdiction=proposal.jurisdiction)
    proposal.state, proposal.decided_on = ProposalState.ADMITTED, today
    proposal.decided_by_id, proposal.decision_note = (user.id if user else None), (note or "").strip()
    proposal.entry_id = entry.id
    audit.record(session, actor, "redlist.admit", "red_list_proposal", proposal.proposal_no,
                 {"entry": entry.public_id, "criteria": entry.criteria, "admitted_on": today,
                  "valid_until": entry.valid_until})
    session.flush()
    return entry


def refuse(session: Session, user: StaffUser | None, proposal: RedListProposal, reason: str,
           today: dt.date) -> None:
    actor = _decider(user, proposal, "refuse")
    scope.require(session, user, proposal.jurisdiction)
    reason = (reason or "").strip()
    if not reason:
        raise RedListError("reason_required")
    proposal.state, proposal.decided_on = ProposalState.REFUSED, today
    proposal.decided_by_id, proposal.decision_note = (user.id if user else None), reason
    audit.record(session, actor, "redlist.refuse", "red_list_proposal", proposal.proposal_no,
                 {"reason": reason})
    session.flush()


def _take_off(session: Session, actor: Actor, entry: RedListEntry, reason: str, on: dt.date,
              note: str, user: StaffUser | None) -> None:
    publication.remove_red_list_entry(session, entry, reason, on)
    proposal = session.execute(
        sa.select(RedListProposal).where(RedListProposal.entry_id == entry.id)).scalar_one_or_none()
    if proposal is not None:
        proposal.removed_by_id, proposal.removal_note = (user.id if user else None), note
    audit.record(session, actor, "redlist.remove", "red_list_entry", entry.public_id,
                 {"subject": entry.subject_id, "reason": reason, "removed_on": on, "note": note})


def remove(session: Session, user: StaffUser | None, entry: RedListEntry, reason: str,
           note: str, today: dt.date) -> None:
    """Staff removal (approver) with one of :data:`STAFF_REASONS` and an internal note."""
    actor = _enforce(grade_steps.check_entry(user, entry), user)
    scope.require(session, user, entry.jurisdiction)
    if reason not in STAFF_REASONS:
        raise RedListError("reason")
    note = (note or "").strip()
    if not note:
        raise RedListError("reason_required")
    _take_off(session, actor, entry, reason, today, note, user)
    session.flush()


def remove_for_dishonesty(session: Session, subject_id: int, reason: str, on: dt.date,
                          ref: str) -> list[RedListEntry]:
    """Automatic removal (system) of every current entry of the subject; ``ref`` names the cause."""
    if reason not in AUTOMATIC_REASONS:
        raise RedListError("reason")
    entries = current_entries(session, on, subject_id)
    for entry in entries:
        _take_off(session, audit.SYSTEM, entry, reason, on, ref, None)
    session.flush()
    return entries


def to_review(session: Session, profile: Profile, today: dt.date) -> list[RedListEntry]:
    """Red-list units with a finding that counts today: an approver decides on their removal
    (the four-eyes rule of admission holds for a removal on a finding, too)."""
    return [e for e in current_entries(session, today)
            if has_live_finding(session, rules_of.own(e, profile), e.subject_id, today)]


def on_listing_decision(session: Session, case: Case) -> list[RedListEntry]:
    """Hook of ``cases.approve_listing``: a listing decision ends any red-list admission."""
    return remove_for_dishonesty(session, case.subject_id, "listing_decision", case.decided_on,
                                 case.case_no)
