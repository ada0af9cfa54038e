"""Who may take which step of the credit grades and the red list (Zhengzhou §一, §三).

* findings: a clerk or reviewer records one (whoever decides complaints records what a
  complaint revealed); a reviewer or approver withdraws or annuls a finding that counts; a
  clerk or reviewer opens the listing case of a serious finding, once;
* red list: a clerk or reviewer proposes a unit; an approver other than the proposer admits
  or refuses a pending proposal (four-eyes); an approver removes a current entry;
* score → grade table of the credit score: a reviewer or approver proposes one; an approver
  other than the proposer puts it in force or rejects it (four-eyes).

``portal.services.grades`` and ``portal.services.redlist`` enforce these verdicts; the grade
and red-list pages render them. Pure functions of the user and the record.
"""
from __future__ import annotations

from portal.models import (
    FindingSource,
    FindingStatus,
    GradeFinding,
    ProposalState,
    RedListEntry,
    RedListProposal,
    Role,
    ScoreGradeTable,
    ScoreTableStatus,
    StaffUser,
)
from portal.services import case_steps
from portal.services.permissions import STATE, Verdict, allow, by_role, four_eyes, refuse

CLERK, REVIEWER, APPROVER = Role.CLERK, Role.REVIEWER, Role.APPROVER
RECORD_ROLES = (CLERK, REVIEWER)
#: Whoever decides a complaint (any case role) records what it revealed.
COMPLAINT_ROLES = (CLERK, REVIEWER, APPROVER)
COMPLAINT_SOURCES = (FindingSource.COMPLAINT, FindingSource.FALSE_COMPLAINT)
END_ROLES = (REVIEWER, APPROVER)
PROPOSE_ROLES = (CLERK, REVIEWER)
DECIDE_ROLES = (APPROVER,)
TABLE_PROPOSE_ROLES = (REVIEWER, APPROVER)


def can_record(user: StaffUser | None, source: FindingSource = FindingSource.INSPECTION) -> Verdict:
    return by_role("record", user, COMPLAINT_ROLES if source in COMPLAINT_SOURCES else RECORD_ROLES)


def check_finding(user: StaffUser | None, finding: GradeFinding, step: str) -> Verdict:
    """``withdraw``, ``annul`` or ``open_case`` (the reasons are the services' error codes)."""
    if finding.status is not FindingStatus.LIVE:
        return refuse(step, STATE, "not_live")
    if step == "open_case":
        if finding.listing_case_id is not None:
            return refuse(step, STATE, "case_opened")
        return case_steps.can_open(user).renamed(step)
    if step not in ("withdraw", "annul"):
        raise KeyError(step)
    return by_role(step, user, END_ROLES)


def can_propose(user: StaffUser | None) -> Verdict:
    return by_role("propose", user, PROPOSE_ROLES)


def check_proposal(user: StaffUser | None, proposal: RedListProposal, step: str) -> Verdict:
    """``admit`` or ``refuse`` a proposal: pending, an approver, not the proposer."""
    if step not in ("admit", "refuse"):
        raise KeyError(step)
    if proposal.state is not ProposalState.PROPOSED:
        return refuse(step, STATE, "decided")
    verdict = by_role(step, user, DECIDE_ROLES)
    if not verdict.allowed:
        return verdict
    return four_eyes(step, user, proposal.proposed_by_id, DECIDE_ROLES) or allow(step, DECIDE_ROLES)


def check_entry(user: StaffUser | None, entry: RedListEntry, step: str = "remove") -> Verdict:
    """``remove`` a current red-list entry (an approver)."""
    if entry.removed_on is not None:
        return refuse(step, STATE, "removed")
    return by_role(step, user, DECIDE_ROLES)


def can_propose_table(user: StaffUser | None) -> Verdict:
    """Propose a score → grade table (a reviewer or an approver)."""
    return by_role("propose_table", user, TABLE_PROPOSE_ROLES)


def check_table(user: StaffUser | None, table: ScoreGradeTable, step: str) -> Verdict:
    """``approve`` (put in force) or ``reject`` a proposed table: pending, an approver, not
    the proposer."""
    if step not in ("approve", "reject"):
        raise KeyError(step)
    if table.status is not ScoreTableStatus.PROPOSED:
        return refuse(step, STATE, "decided")
    verdict = by_role(step, user, DECIDE_ROLES)
    if not verdict.allowed:
        return verdict
    return four_eyes(step, user, table.proposed_by_id, DECIDE_ROLES) or allow(step, DECIDE_ROLES)
