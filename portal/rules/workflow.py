"""Case and submission states and the transition tables (SPEC §4, §6).

Every state change in the portal goes through :func:`check_transition`; the
services add the audit event. Labels are plain English keys here; the web
layer translates them (``portal.labels``).
"""
from __future__ import annotations

import enum


class CaseState(str, enum.Enum):
    """Where a listing case stands in the procedure of Jiamusi arts. 6–14."""

    OPENED = "opened"                  # 立案: from inspection, audit, report or a broken commitment
    PRE_NOTICED = "pre_noticed"        # 事先告知书 served; defence window running
    DEFENCE_FILED = "defence_filed"    # 陈述申辩 received, awaiting review
    REVIEWED = "reviewed"              # 复核 done (or window lapsed): ready for a proposal
    PROPOSED = "proposed"              # clerk proposes listing; awaiting a different approver
    DECIDED = "decided"                # 列入决定 signed; publication clock running
    PUBLISHED = "published"            # on the public list; term running
    REMOVED = "removed"                # 移出, with a reason
    DROPPED = "dropped"                # 不予列入: defence upheld or case closed


class RemovalReason(str, enum.Enum):
    """SPEC §4 step 7: each removal has a reason that is published."""

    TERM_EXPIRED = "term_expired"          # Jiamusi art. 10
    RECTIFIED = "rectified"                # Jiamusi art. 11
    CREDIT_REPAIRED = "credit_repaired"    # Jiamusi art. 12; Order 36: entry no longer published
    OBJECTION_UPHELD = "objection_upheld"  # Shanghai art. 9: information corrected
    REVOKED = "revoked"                    # Jiamusi art. 15: reconsideration or court


class SubmissionKind(str, enum.Enum):
    DEFENCE = "defence"                # 陈述申辩
    OBJECTION = "objection"            # 异议
    RECTIFICATION = "rectification"    # 整改
    CREDIT_REPAIR = "credit_repair"    # 信用修复
    COMPLAINT = "complaint"            # 投诉举报


class SubmissionState(str, enum.Enum):
    RECEIVED = "received"              # receipt issued, clock running
    UNDER_REVIEW = "under_review"      # accepted for review (objection: public marker)
    AWAITING_MATERIAL = "awaiting_material"  # 补正 requested; clock may pause
    GRANTED = "granted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class InvalidTransition(Exception):
    """Raised when an action is not allowed from the current state."""

    def __init__(self, entity: str, current: str, target: str):
        self.entity, self.current, self.target = entity, current, target
        super().__init__(f"{entity}: cannot go from {current!r} to {target!r}")


C = CaseState
CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    C.OPENED: frozenset({C.PRE_NOTICED, C.DROPPED}),
    C.PRE_NOTICED: frozenset({C.DEFENCE_FILED, C.REVIEWED, C.DROPPED}),
    C.DEFENCE_FILED: frozenset({C.REVIEWED, C.DROPPED}),
    C.REVIEWED: frozenset({C.PROPOSED, C.DROPPED}),
    C.PROPOSED: frozenset({C.DECIDED, C.REVIEWED}),      # approve, or send back
    C.DECIDED: frozenset({C.PUBLISHED, C.REMOVED}),       # revoked before publication
    C.PUBLISHED: frozenset({C.REMOVED}),
    C.REMOVED: frozenset(),
    C.DROPPED: frozenset(),
}

S = SubmissionState
SUBMISSION_TRANSITIONS: dict[SubmissionState, frozenset[SubmissionState]] = {
    S.RECEIVED: frozenset({S.UNDER_REVIEW, S.REJECTED, S.WITHDRAWN}),
    S.UNDER_REVIEW: frozenset({S.AWAITING_MATERIAL, S.GRANTED, S.REJECTED, S.WITHDRAWN}),
    S.AWAITING_MATERIAL: frozenset({S.UNDER_REVIEW, S.REJECTED, S.WITHDRAWN}),
    S.GRANTED: frozenset(),
    S.REJECTED: frozenset(),
    S.WITHDRAWN: frozenset(),
}

#: The subject is on the list: the listing decision is signed (decided) or published.
#: A decided case counts before its publication: the party may object, rectify or
#: repair its credit, staff may share or remove it, the integrated systems warn.
LISTED_STATES = frozenset({C.DECIDED, C.PUBLISHED})
#: A listing decision was made: the subject is listed, or was listed and removed.
#: Reports, statistics and the count of prior listings read these cases.
EVER_LISTED_STATES = LISTED_STATES | {C.REMOVED}
#: States in which a submission is still open and its clock matters.
OPEN_SUBMISSION_STATES = frozenset({S.RECEIVED, S.UNDER_REVIEW, S.AWAITING_MATERIAL})
#: Filings whose grant may end a listing before its term (an upheld objection may also only
#: correct it): an approver signs their outcome.
ENDS_LISTING_KINDS = frozenset({SubmissionKind.OBJECTION, SubmissionKind.RECTIFICATION,
                                SubmissionKind.CREDIT_REPAIR})


def check_transition(table: dict, current: enum.Enum, target: enum.Enum, entity: str) -> None:
    """Raise :class:`InvalidTransition` unless ``current -> target`` is in ``table``."""
    if target not in table.get(current, frozenset()):
        raise InvalidTransition(entity, current.value, target.value)


def check_case(current: CaseState, target: CaseState) -> None:
    check_transition(CASE_TRANSITIONS, current, target, "case")


def check_submission(current: SubmissionState, target: SubmissionState) -> None:
    check_transition(SUBMISSION_TRANSITIONS, current, target, "submission")
