"""The score → grade table of the credit score (Zhengzhou §三 ¶1): proposal and four-eyes decision.

The seed requires the bureau to define how credit scores map to grades but gives no numbers.
Each jurisdiction whose profile has a score model sets its own table: a reviewer or approver
proposes bands (grade and minimum score) with the reason; an approver other than the proposer
puts the table in force (the table in force before it is superseded the same day) or rejects
it. Each step is audited (``score_table.propose`` / ``.approve`` / ``.reject``). Until a table
is in force, the profile's provisional table applies (:func:`table_for`).

Functions flush; the caller commits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import ScoreGradeTable, ScoreTableStatus, StaffUser
from portal.rules import credit_score as rules
from portal.rules.profiles import Profile, ScoreBand, ScoreModel
from portal.services import audit, grade_steps, numbering, rules_of, scope
from portal.services.audit import Actor
from portal.services.permissions import Verdict, require

#: What the status answer and the pages say of a table that is the profile's default.
PROVISIONAL = "provisional"


class ScoreTableError(ValueError):
    """The step is not possible: ``code`` says why (``no_score``, a band problem of
    ``rules.band_problem``, ``note_required``, ``reason_required``, ``decided``)."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


@dataclass(frozen=True)
class TableInForce:
    """The bands a jurisdiction grades scores with today, and where they come from."""

    bands: tuple[ScoreBand, ...]
    row: ScoreGradeTable | None        # None: the profile's provisional table
    source: str | None = None          # the provisional table's citation

    @property
    def provisional(self) -> bool:
        return self.row is None

    @property
    def version(self) -> str:
        return self.row.table_no if self.row is not None else PROVISIONAL


def bands_of(row: ScoreGradeTable) -> tuple[ScoreBand, ...]:
    """The stored bands as :class:`ScoreBand` rows, highest first."""
    return rules.sorted_bands(ScoreBand(str(b["grade"]), Decimal(str(b["min_score"])))
                              for b in row.bands or [])


def to_json(bands) -> list[dict]:
    return [{"grade": b.grade, "min_score": str(b.min_score)} for b in rules.sorted_bands(bands)]


def _normalised(bands) -> tuple[ScoreBand, ...]:
    """Bands whose minimum scores are numbers of any kind, as decimals (``score`` if not)."""
    try:
        return tuple(ScoreBand(b.grade, Decimal(str(b.min_score))) for b in bands)
    except (InvalidOperation, ValueError):
        raise ScoreTableError("score") from None


def parse_bands(text: str) -> tuple[ScoreBand, ...]:
    """Bands typed one per line, ``<grade> <minimum score>`` (``A 90``; a comma, a colon or
    ``>=`` may separate them). Raises :class:`ScoreTableError` (``format`` or a band problem)."""
    bands = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = line.replace("≥", " ").replace(">=", " ").replace("，", " ").replace(",", " ") \
            .replace("：", " ").replace(":", " ").split()
        if len(parts) != 2:
            raise ScoreTableError("format")
        try:
            value = Decimal(parts[1])
        except (InvalidOperation, ValueError):
            raise ScoreTableError("format") from None
        bands.append(ScoreBand(parts[0], value))
    problem = rules.band_problem(bands)
    if problem is not None:
        raise ScoreTableError(problem)
    return rules.sorted_bands(bands)


# --------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------

def in_force(session: Session, jurisdiction: str) -> ScoreGradeTable | None:
    return session.execute(sa.select(ScoreGradeTable).where(
        ScoreGradeTable.jurisdiction == jurisdiction,
        ScoreGradeTable.status == ScoreTableStatus.IN_FORCE)
        .order_by(ScoreGradeTable.in_force_from.desc(), ScoreGradeTable.id.desc())
        .limit(1)).scalar()


def table_for(session: Session, jurisdiction: str, model: ScoreModel) -> TableInForce:
    """The table ``jurisdiction`` grades with: the one in force, else the provisional one."""
    row = in_force(session, jurisdiction)
    if row is not None:
        return TableInForce(bands_of(row), row)
    return TableInForce(model.provisional_table, None, model.table_source)


def awaiting_decision_by(user_id: int):
    """The proposed tables this user may decide: not their own (four eyes). The approver's
    desk counts them; the page shows each with the same rule (``grade_steps.check_table``)."""
    return (ScoreGradeTable.status == ScoreTableStatus.PROPOSED) & sa.or_(
        ScoreGradeTable.proposed_by_id.is_(None), ScoreGradeTable.proposed_by_id != user_id)


def pending(session: Session, jurisdiction: str) -> list[ScoreGradeTable]:
    return list(session.execute(sa.select(ScoreGradeTable).where(
        ScoreGradeTable.jurisdiction == jurisdiction,
        ScoreGradeTable.status == ScoreTableStatus.PROPOSED)
        .order_by(ScoreGradeTable.proposed_at, ScoreGradeTable.id)).scalars())


def decided(session: Session, jurisdiction: str, limit: int = 20) -> list[ScoreGradeTable]:
    return list(session.execute(sa.select(ScoreGradeTable).where(
        ScoreGradeTable.jurisdiction == jurisdiction,
        ScoreGradeTable.status != ScoreTableStatus.PROPOSED)
        .order_by(ScoreGradeTable.decided_at.desc(), ScoreGradeTable.id.desc())
        .limit(limit)).scalars())


# --------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------

def _scored(session: Session, jurisdiction: str, profile: Profile | None) -> Profile:
    profile = rules_of.jurisdiction(session, jurisdiction, profile)
    if profile.score is None:
        raise ScoreTableError("no_score")
    return profile


def propose(session: Session, user: StaffUser | None, jurisdiction: str, bands, note: str,
            today: dt.date, profile: Profile | None = None) -> ScoreGradeTable:
    """A proposed table of ``jurisdiction`` (a reviewer or approver), with the reason."""
    actor = require(grade_steps.can_propose_table(user), user)
    scope.require(session, user, jurisdiction)
    profile = _scored(session, jurisdiction, profile)
    bands = _normalised(bands)
    problem = rules.band_problem(bands)
    if problem is not None:
        raise ScoreTableError(problem)
    note = (note or "").strip()
    if not note:
        raise ScoreTableError("note_required")
    row = ScoreGradeTable(
        table_no=numbering.next_number(session, ScoreGradeTable.table_no,
                                       f"{profile.code.upper()[:3]}-T{today.year}-"),
        profile=profile.code, jurisdiction=jurisdiction, bands=to_json(bands), note=note,
        status=ScoreTableStatus.PROPOSED, proposed_by_id=user.id if user else None)
    session.add(row)
    session.flush()
    audit.record(session, actor, "score_table.propose", "score_table", row.table_no,
                 {"bands": _words(row.bands), "note": note})
    return row


def _words(bands: list[dict]) -> str:
    """``A ≥ 90, B ≥ 75, …`` for the audit log."""
    return ", ".join(f"{b['grade']} ≥ {b['min_score']}" for b in bands)


def _decider(user: StaffUser | None, row: ScoreGradeTable, step: str) -> Actor:
    verdict: Verdict = grade_steps.check_table(user, row, step)
    actor = require(verdict, user)
    if not verdict.allowed:
        raise ScoreTableError(verdict.reason)
    return actor


def approve(session: Session, user: StaffUser | None, row: ScoreGradeTable, today: dt.date,
            note: str = "") -> ScoreGradeTable:
    """Put ``row`` in force today (an approver who did not propose it); the table in force
    before it is superseded. Returns the superseded table (None: the provisional one was)."""
    _decider(user, row, "approve")
    scope.require(session, user, row.jurisdiction)
    _scored(session, row.jurisdiction, None)
    audit.serialise(session)            # two approvals in one bureau: one after the other
    session.refresh(row)                # … and the second sees what the first decided
    actor = _decider(user, row, "approve")
    before = in_force(session, row.jurisdiction)
    if before is not None:
        before.status, before.superseded_on = ScoreTableStatus.SUPERSEDED, today
    row.status, row.in_force_from = ScoreTableStatus.IN_FORCE, today
    row.decided_by_id, row.decided_at = (user.id if user else None), clock.now()
    row.decision_note = (note or "").strip() or None
    audit.record(session, actor, "score_table.approve", "score_table", row.table_no,
                 {"bands": _words(row.bands), "in_force_from": today,
                  "replaces": before.table_no if before is not None else PROVISIONAL})
    session.flush()
    return before


def reject(session: Session, user: StaffUser | None, row: ScoreGradeTable, reason: str,
           today: dt.date) -> None:
    actor = _decider(user, row, "reject")
    scope.require(session, user, row.jurisdiction)
    reason = (reason or "").strip()
    if not reason:
        raise ScoreTableError("reason_required")
    row.status, row.decided_at = ScoreTableStatus.REJECTED, clock.now()
    row.decided_by_id, row.decision_note = (user.id if user else None), reason
    audit.record(session, actor, "score_table.reject", "score_table", row.table_no,
                 {"reason": reason, "on": today})
    session.flush()
