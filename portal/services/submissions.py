"""Receive submissions and move them through their states (SPEC §6).

Each filing gets a receipt number, a query code shown once (stored hashed),
a due date in working days from the profile, and a status history the
submitter can read. A filing follows its case's profile, a complaint the profile of the
jurisdiction it is addressed to (``rules_of``). Functions flush; the caller commits (e-mail to
the filer is a row :mod:`portal.services.notifications` adds in the same transaction; the
worker sends it).

Entry points (``who`` is the deciding staff user: a :class:`StaffUser`, or an
:class:`~portal.services.audit.Actor` whose ``staff_id`` names one, or
``None`` / ``audit.SYSTEM`` for the system; the audit actor is derived from it)::

    file(session, profile, calendar, filing, received_on, staged=()) -> Receipt
        # a party's or the public's filing: idempotent on filing.idempotency_key,
        # window checked (FilingRefused), defence → cases.record_defence,
        # staged uploads attached, receipt e-mail queued
    receive(session, profile, calendar, filing, received_on) -> Receipt     # the bare record
    transition(session, actor, submission, target, note="", today=None)     # table-checked move
    accept_for_review(session, who, submission, profile, calendar, today)
        # RECEIVED → UNDER_REVIEW; an objection sets the public "under objection"
        # marker in the same transaction (within the objection_marker deadline)
    request_material(session, who, submission, note, today, profile, calendar)
        # 补正: UNDER_REVIEW → AWAITING_MATERIAL; the note is shown to the submitter;
        # reply due = profile deadline "supplement_reply"; pauses the clock
        # (paused_since) when profile.supplement_pauses_clock
    reply_material(session, submission, text, today, profile, calendar, staged=())
        # the submitter's reply: AWAITING_MATERIAL → UNDER_REVIEW; due_on moves by the
        # working days paused = working days after paused_since up to and including today;
        # the files that came with it are attached and named in the request's "files"
    reissue_query_code(session, who, submission) -> str
        # staff, after checking the caller's identity: a new query code (the old one stops working)
    decide(session, who, submission, granted, reasons, profile, calendar, key, today)
        # GRANTED / REJECTED with reasons the submitter sees; effects if granted, through
        # portal.services.cases: defence → drop_case (reviewer/approver); objection (with an
        # ObjectionOutcome) → correct_facts, or remove_case(OBJECTION_UPHELD) when the listing
        # fell; rectification → remove_case(RECTIFIED);
        # credit_repair → remove_case(CREDIT_REPAIRED) (approver); complaint → none.
        # A rejected objection clears the marker unless another objection is under review.

Who may take each staff step, and when, is ``portal.services.filing_steps`` (the filing
page renders the same answer): :func:`require_step` enforces it.

Errors: :class:`SubmissionError` (bad data for this step; ``case_state`` / ``case_required``
/ ``removal``: the case does not allow the grant), :class:`FilingRefused` (the window is
closed), ``InvalidTransition`` (wrong state), ``cases.PermissionDenied`` (role).
"""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field, replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import Case, StaffUser, Submission, SubmissionEvent
from portal.rules import terms
from portal.rules.calendar import Deadline, WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import (
    CaseState,
    RemovalReason,
    SubmissionKind,
    InvalidTransition,
    SubmissionState,
    check_submission,
)
from portal.security import hash_code, new_code
from portal.services import (
    audit,
    cases,
    filing_steps,
    filing_windows,
    notifications,
    publication,
    rules_of,
    scope,
    uploads,
)
from portal.services.audit import Actor
from portal.services.permissions import STATE, Verdict, deny

K, S = SubmissionKind, SubmissionState


class SubmissionError(ValueError):
    """The step is not possible with these data (``code`` says why; ``verdict``: the step
    refused for the state of its case or for the day, see ``filing_steps``)."""

    def __init__(self, code: str, message: str = "", verdict: Verdict | None = None):
        self.code, self.verdict = code, verdict
        super().__init__(message or code)


class FilingRefused(Exception):
    """The filing is not open today; ``window`` has the reason and the dates."""

    def __init__(self, window: filing_windows.Window):
        self.window = window
        super().__init__(window.reason)


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
    #: The bureau a filing without a case (a complaint) is addressed to; else its case's.
    jurisdiction: str | None = None


@dataclass(frozen=True)
class ObjectionOutcome:
    """An upheld objection (Shanghai art. 9): the listing fell (the entry is withdrawn), or it
    stands with the corrected facts and/or reasons, published in place of the contested text."""

    listing_fell: bool = False
    facts: str = ""
    reasons: str = ""


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
    if filing.case is not None:       # the case's bureau and rules; a complaint: the addressee's
        jurisdiction, profile = filing.case.jurisdiction, rules_of.case(filing.case, profile)
    else:
        jurisdiction = filing.jurisdiction or profile.code
        profile = rules_of.jurisdiction(session, jurisdiction, profile)
    due = due_date(profile, filing.kind, filing.case, received_on, calendar)
    code = new_code()
    submission = Submission(
        receipt_no=_receipt_no(filing.kind, received_on), kind=filing.kind,
        state=SubmissionState.RECEIVED, case_id=filing.case.id if filing.case else None,
        jurisdiction=jurisdiction,
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
    scope.require_actor(session, actor, submission.jurisdiction)
    before = submission.state
    submission.state = target
    if target in (SubmissionState.GRANTED, SubmissionState.REJECTED):
        submission.decided_on = today or clock.today()
        submission.decision_reasons = note
    submission.events.append(SubmissionEvent(state=target, note=note))
    audit.record(session, actor, f"submission.{target.value}", "submission", submission.receipt_no,
                 {"from": before.value, "to": target.value})
    session.flush()


# --------------------------------------------------------------------------
# Filing (party and public)
# --------------------------------------------------------------------------

def by_idempotency_key(session: Session, key: str | None) -> Submission | None:
    if not key:
        return None
    return session.execute(
        sa.select(Submission).where(Submission.idempotency_key == key)
    ).scalar_one_or_none()


def file(session: Session, profile: Profile, calendar: WorkCalendar, filing: Filing,
         received_on: dt.date, staged: tuple[uploads.StagedFile, ...] | list = ()) -> Receipt:
    """A filing through the portal: exactly once per form token, only inside its window.

    A retry with the same ``idempotency_key`` returns the first filing
    (``created=False``, no query code) and changes nothing: the caller
    discards the files it staged for the retry.
    """
    existing = by_idempotency_key(session, filing.idempotency_key)
    if existing is not None:
        return Receipt(existing, None, False)
    if filing.anonymous:   # an anonymous filer leaves nothing that identifies them
        filing = replace(filing, filer_name=None, filer_contact=None, filer_email=None)
    if filing.kind is K.COMPLAINT:
        if filing.case is not None:
            raise SubmissionError("complaint_on_case", "a complaint is not filed on a case")
        if (filing.jurisdiction and filing.jurisdiction != profile.code
                and rules_of.bureau(session, filing.jurisdiction) is None):
            raise SubmissionError("unknown_jurisdiction", "no such bureau")
    else:
        if filing.case is None:
            raise SubmissionError("case_required", f"a {filing.kind.value} needs its case")
        window = filing_windows.window(session, filing.kind, filing.case, profile, calendar,
                                       received_on)
        if not window.allowed:
            raise FilingRefused(window)
    receipt = receive(session, profile, calendar, filing, received_on)
    if not receipt.created:
        # The first filing with this token was committed after the check above: this is
        # its retry.  Nothing of the retry (files, case step, mail) touches the first filing;
        # the caller discards the retry's staged files.
        return receipt
    submission = receipt.submission
    if filing.kind is K.DEFENCE and filing.case.state is CaseState.PRE_NOTICED:
        cases.record_defence(session, audit.PARTY, filing.case, received_on)
    if staged:
        uploads.attach(session, submission, staged)
    notifications.queue(session, submission, "received")
    return receipt


# --------------------------------------------------------------------------
# Staff steps (the back-office queues call these)
# --------------------------------------------------------------------------

def _who(session: Session, who) -> tuple[StaffUser | None, Actor]:
    """The staff user and the audit actor of a staff step."""
    if who is None or who == audit.SYSTEM:
        return None, audit.SYSTEM
    if isinstance(who, StaffUser):
        return who, Actor.staff(who)
    if isinstance(who, Actor) and who.staff_id is not None:
        user = session.get(StaffUser, who.staff_id)
        if user is None:
            raise cases.PermissionDenied(f"unknown staff user {who.staff_id}")
        return user, who
    raise cases.PermissionDenied(f"{who!r} is not a staff user")


def _case_of(session: Session, submission: Submission) -> Case | None:
    return session.get(Case, submission.case_id) if submission.case_id else None


def require_step(session: Session, user: StaffUser | None, submission: Submission, step: str,
                 today: dt.date, calendar: WorkCalendar | None = None) -> None:
    """Take ``step`` only when ``filing_steps.check`` allows it; else its refusal:
    ``PermissionDenied`` (who), ``InvalidTransition`` (the filing's state) or
    :class:`SubmissionError` (its case's state, or a removal not possible that day)."""
    verdict = filing_steps.check(user, submission, _case_of(session, submission), step, today,
                                 calendar)
    if verdict.allowed:
        return
    if verdict.forbidden:
        raise deny(verdict)
    if verdict.refusal == STATE:
        raise InvalidTransition("submission", submission.state.value, step)
    raise SubmissionError(verdict.reason, f"{step}: {verdict.reason} {verdict.detail or ''}",
                          verdict)


def accept_for_review(session: Session, who, submission: Submission, profile: Profile,
                      calendar: WorkCalendar, today: dt.date) -> None:
    """RECEIVED → UNDER_REVIEW; an objection marks its entry "under objection" at once."""
    user, actor = _who(session, who)
    require_step(session, user, submission, "accept", today)
    transition(session, actor, submission, S.UNDER_REVIEW, "", today)
    case = _case_of(session, submission)
    if submission.kind is K.OBJECTION and case is not None:
        publication.set_objection_marker(session, case, True)
        due = terms.objection_marker_due(rules_of.case(case, profile), submission.received_on, calendar)
        audit.record(session, actor, "submission.objection_marker", "submission",
                     submission.receipt_no, {"case": case.case_no, "set_on": today,
                                             "due": due.due, "late": today > due.due})


def request_material(session: Session, who, submission: Submission, note: str, today: dt.date,
                     profile: Profile, calendar: WorkCalendar) -> None:
    """补正: ask the submitter for more material; the note is shown to them."""
    note = (note or "").strip()
    if not note:
        raise SubmissionError("note_required", "say what material is needed")
    user, actor = _who(session, who)
    require_step(session, user, submission, "request_material", today)
    transition(session, actor, submission, S.AWAITING_MATERIAL, note, today)
    profile = rules_of.submission(session, submission, profile)
    reply = terms.supplement_due(profile, today, calendar)
    pauses = bool(profile.supplement_pauses_clock)
    if pauses:
        submission.paused_since = today
    details = dict(submission.details or {})
    details["material_requests"] = [*details.get("material_requests", []), {
        "requested_on": today.isoformat(), "note": note, "reply_due": reply.due.isoformat(),
        "reply_due_provisional": reply.provisional, "reply_due_basis": reply.basis,
        "pauses_clock": pauses, "replied_on": None, "reply": None,
    }]
    submission.details = details
    session.flush()
    notifications.queue(session, submission, "material_requested", note=note,
                        reply_due=reply.due, reply_due_provisional=reply.provisional,
                        pauses_clock=pauses)


def _merge_basis(*bases: str | None) -> str:
    parts: list[str] = []
    for basis in bases:
        for part in (basis or "").split("+"):
            if part and part not in parts:
                parts.append(part)
    return "+".join(parts)[:80]


def reply_material(session: Session, submission: Submission, text: str, today: dt.date,
                   profile: Profile, calendar: WorkCalendar,
                   staged: tuple[uploads.StagedFile, ...] | list = ()) -> None:
    """The submitter's reply to 补正 with the files that came with it: the clock resumes.

    The request it answers keeps the reply's text, day and files (attachment ids), so
    staff read every exchange in order.

    The working days after ``paused_since`` up to and including ``today`` are
    not counted against the bureau: ``due_on`` moves by that many working days.
    """
    check_submission(submission.state, S.UNDER_REVIEW)
    if submission.state is not S.AWAITING_MATERIAL:
        raise SubmissionError("not_awaiting_material")
    paused = 0
    if submission.paused_since is not None:
        paused = max(0, calendar.working_days_between(submission.paused_since, today))
        if submission.due_on is not None and paused:
            moved = calendar.add_working_days(submission.due_on, paused)
            submission.due_on = moved.due
            submission.due_provisional = submission.due_provisional or moved.provisional
            submission.due_basis = _merge_basis(submission.due_basis, moved.basis)
        submission.paused_since = None
    files = [row.id for row in uploads.attach(session, submission, staged)] if staged else []
    details = dict(submission.details or {})
    requests = [dict(r) for r in details.get("material_requests", [])]
    if requests:
        requests[-1].update(replied_on=today.isoformat(), reply=(text or "").strip(),
                            paused_working_days=paused, files=files)
    details["material_requests"] = requests
    details["paused_working_days"] = int(details.get("paused_working_days", 0)) + paused
    submission.details = details
    actor = audit.PARTY if submission.case_id else audit.PUBLIC
    transition(session, actor, submission, S.UNDER_REVIEW, "", today)


#: What a granted filing does to its case.
REMOVAL_FOR = {
    K.OBJECTION: RemovalReason.OBJECTION_UPHELD,
    K.RECTIFICATION: RemovalReason.RECTIFIED,
    K.CREDIT_REPAIR: RemovalReason.CREDIT_REPAIRED,
}


def _grant(session: Session, user: StaffUser | None, submission: Submission, case: Case | None,
           profile: Profile, key: str, today: dt.date,
           outcome: ObjectionOutcome | None = None) -> None:
    if submission.kind is K.COMPLAINT:
        return
    if case is None:
        raise SubmissionError("case_required")
    note = f"{submission.kind.value} {submission.receipt_no} granted"
    if submission.kind is K.DEFENCE:
        cases.drop_case(session, user, case, note)
        return
    if submission.kind is K.OBJECTION and not outcome.listing_fell:    # corrected, still listed
        cases.correct_facts(session, user, case, profile, key, outcome.facts, outcome.reasons,
                            today, submission.receipt_no)
        if not _other_objection_under_review(session, submission):
            publication.set_objection_marker(session, case, False)
        return
    cases.remove_case(session, user, case, profile, key, REMOVAL_FOR[submission.kind], today, note)


def _other_objection_under_review(session: Session, submission: Submission) -> bool:
    return session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.case_id == submission.case_id, Submission.kind == K.OBJECTION,
            Submission.id != submission.id,
            Submission.state.in_([S.UNDER_REVIEW, S.AWAITING_MATERIAL]))
    ) > 0


def decide(session: Session, who, submission: Submission, granted: bool, reasons: str,
           profile: Profile, calendar: WorkCalendar, key: str, today: dt.date,
           outcome: ObjectionOutcome | None = None) -> None:
    """Grant or reject with reasons the submitter sees; granted filings change the case (an
    objection by its ``outcome``: corrected facts/reasons, or the listing fell)."""
    reasons = (reasons or "").strip()
    if not reasons:
        raise SubmissionError("reasons_required", "a decision states its reasons")
    if granted and submission.kind is K.OBJECTION and not (outcome and (
            outcome.listing_fell or outcome.facts.strip() or outcome.reasons.strip())):
        raise SubmissionError("outcome_required", "state the corrected facts or that the listing fell")
    user, actor = _who(session, who)
    step = "reject"
    if granted:
        step = "grant" if submission.kind is not K.OBJECTION else (
            "grant_fell" if outcome.listing_fell else "grant_corrected")
    require_step(session, user, submission, step, today, calendar)
    transition(session, actor, submission, S.GRANTED if granted else S.REJECTED, reasons, today)
    submission.paused_since = None
    case = _case_of(session, submission)
    if granted:
        _grant(session, user, submission, case, profile, key, today, outcome)
    elif (submission.kind is K.OBJECTION and case is not None
          and not _other_objection_under_review(session, submission)):
        publication.set_objection_marker(session, case, False)
    session.flush()
    notifications.queue(session, submission, "decided")


def reissue_query_code(session: Session, who, submission: Submission) -> str:
    """A new query code for a submitter who lost theirs (staff checked who they are)."""
    user, actor = _who(session, who)
    if actor == audit.SYSTEM:
        raise cases.PermissionDenied("only staff reissue query codes")
    require_step(session, user, submission, "reissue_code", clock.today())
    scope.require_actor(session, actor, submission.jurisdiction)
    code = new_code()
    submission.query_code_hash = hash_code(code)
    audit.record(session, actor, "submission.reissue_code", "submission", submission.receipt_no, {})
    session.flush()
    return code
