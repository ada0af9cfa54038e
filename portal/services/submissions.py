"""Receive submissions and move them through their states (SPEC §6).

Each filing gets a receipt number, a query code shown once (stored hashed),
a due date in working days from the profile, and a status history the
submitter can read.
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Case, Submission, SubmissionEvent
from portal.rules import terms
from portal.rules.calendar import Deadline, WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import SubmissionKind, SubmissionState, check_submission
from portal.security import hash_code, new_code
from portal.services import audit
from portal.services.audit import Actor

#: Which profile deadline decides each kind of filing.
DECISION_DEADLINE = {
    SubmissionKind.DEFENCE: None,                    # decided with the listing decision
    SubmissionKind.OBJECTION: "objection_decision",
    SubmissionKind.RECTIFICATION: "rectification_check",
    SubmissionKind.CREDIT_REPAIR: "repair_check",
    SubmissionKind.COMPLAINT: "complaint_decision",
}


@dataclass(frozen=True)
class Filing:
    kind: SubmissionKind
    body: str
    case: Case | None = None
    filer_name: str | None = None
    filer_contact: str | None = None
    filer_email: str | None = None
    anonymous: bool = False
    reported_name: str | None = None
    category: str | None = None
    details: dict = field(default_factory=dict)
    idempotency_key: str | None = None


@dataclass(frozen=True)
class Receipt:
    submission: Submission
    query_code: str | None      # None when an idempotent retry found the first filing
    created: bool


def _receipt_no(kind: SubmissionKind, received_on: dt.date) -> str:
    letter = {"defence": "D", "objection": "O", "rectification": "Z",
              "credit_repair": "X", "complaint": "T"}[kind.value]
    return f"{letter}{received_on:%Y%m%d}-{secrets.token_hex(3).upper()}"


def due_date(profile: Profile, kind: SubmissionKind, case: Case | None, received_on: dt.date,
             calendar: WorkCalendar):
    """The statutory due date of a filing; a defence is due by the end of its window."""
    name = DECISION_DEADLINE[kind]
    if name is None:
        if case is not None and case.defence_due_on:
            return Deadline(case.defence_due_on, case.deadlines_provisional, "case")
        return None
    return terms.deadline(profile, name, received_on, calendar)


def receive(session: Session, profile: Profile, calendar: WorkCalendar, filing: Filing,
            received_on: dt.date) -> Receipt:
    """Record a filing (flushes; the caller commits together with its attachments)."""
    if filing.idempotency_key:
        existing = session.execute(
            sa.select(Submission).where(Submission.idempotency_key == filing.idempotency_key)
        ).scalar_one_or_none()
        if existing is not None:
            return Receipt(existing, None, False)
    due = due_date(profile, filing.kind, filing.case, received_on, calendar)
    code = new_code()
    submission = Submission(
        receipt_no=_receipt_no(filing.kind, received_on), kind=filing.kind,
        state=SubmissionState.RECEIVED, case_id=filing.case.id if filing.case else None,
        query_code_hash=hash_code(code), idempotency_key=filing.idempotency_key,
        filer_name=None if filing.anonymous else filing.filer_name,
        filer_contact=None if filing.anonymous else filing.filer_contact,
        filer_email=filing.filer_email, anonymous=filing.anonymous,
        reported_name=filing.reported_name, category=filing.category, body=filing.body,
        details=filing.details, received_on=received_on,
        due_on=due.due if due else None, due_provisional=bool(due and due.provisional),
        due_basis=due.basis if due else None,
    )
    submission.events.append(SubmissionEvent(state=SubmissionState.RECEIVED, note=""))
    session.add(submission)
    session.flush()
    audit.record(session, audit.PUBLIC if filing.anonymous or filing.case is None else audit.PARTY,
                 "submission.receive", "submission", submission.receipt_no,
                 {"kind": filing.kind.value, "case": filing.case.case_no if filing.case else None,
                  "due_on": submission.due_on})
    return Receipt(submission, code, True)


def transition(session: Session, actor: Actor, submission: Submission, target: SubmissionState,
               note: str = "", today: dt.date | None = None) -> None:
    """Move a submission; the note is shown to the submitter in its history."""
    check_submission(submission.state, target)
    before = submission.state
    submission.state = target
    if target in (SubmissionState.GRANTED, SubmissionState.REJECTED):
        submission.decided_on = today or dt.date.today()
        submission.decision_reasons = note
    submission.events.append(SubmissionEvent(state=target, note=note))
    audit.record(session, actor, f"submission.{target.value}", "submission", submission.receipt_no,
                 {"from": before.value, "to": target.value})
    session.flush()
