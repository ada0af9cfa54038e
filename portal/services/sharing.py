"""Uploads to the credit-information sharing platform (Jiamusi art. 9; Order 36).

A listing decision is uploaded within the profile's ``sharing`` deadline; a
removal is reported the same way, so that the platform stops sharing the
record (a credit repair ends sharing, Order 36). The bureau exports a file of
the pending records, uploads it to the platform, then marks the records as
uploaded. The file goes to another authority, not to the public: it carries
the identifiers the platform needs to match the subject, so every export is
audited and only case handlers may make one.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from portal.models import Case, Role, StaffUser, Subject
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import load_profile
from portal.rules.workflow import EVER_LISTED_STATES, LISTED_STATES, CaseState
from portal.services import audit, cases, scope
from portal.services.audit import Actor
from portal.services.calendar import load_calendar

LISTINGS = "listings"
REMOVALS = "removals"
KINDS = (LISTINGS, REMOVALS)
ROLES = (Role.CLERK, Role.APPROVER)

#: Columns of the exchange file: key, Chinese heading, English heading.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("record", "记录类型", "Record"),
    ("case_no", "案件编号", "Case number"),
    ("name", "主体名称", "Subject name"),
    ("kind", "主体类别", "Subject kind"),
    ("uscc", "统一社会信用代码", "Unified social credit code"),
    ("org_code", "组织机构代码", "Organisation code"),
    ("reg_no", "工商注册号", "Business registration number"),
    ("id_number", "身份证号码", "Resident ID number"),
    ("legal_rep", "法定代表人(负责人)", "Legal representative"),
    ("legal_rep_id", "法定代表人(负责人)身份证号码", "Legal representative's ID number"),
    ("ground", "失信行为", "Dishonest conduct"),
    ("severity", "失信等级", "Severity"),
    ("basis", "认定依据", "Legal basis"),
    ("document_no", "决定文书号", "Decision document number"),
    ("department", "认定部门", "Deciding department"),
    ("decided_on", "决定日期", "Decided on"),
    ("term_start", "公示起始日期", "Term starts"),
    ("term_last_day", "列入期限至（含当日）", "Listed until (inclusive)"),
    ("leaves_list_on", "移出名单日期（期满次日）", "Leaves the list on"),
    ("removed_on", "实际移出日期", "Removed on"),
    ("removal_reason", "移出原因", "Reason for removal"),
)

_RECORD = {LISTINGS: ("列入", "listing"), REMOVALS: ("移出", "removal")}
_KIND = {"organisation": ("法人和其他组织", "organisation"), "person": ("自然人", "person")}
_REASON = {
    "term_expired": ("期满移出", "term expired"),
    "rectified": ("整改移出", "rectified"),
    "credit_repaired": ("信用修复，终止公示和共享", "credit repaired: publication and sharing end"),
    "objection_upheld": ("异议成立，信息更正", "objection upheld, information corrected"),
    "revoked": ("决定被撤销", "decision revoked"),
}
_SEVERITY = {"light": ("轻微", "minor"), "general": ("一般", "general"),
             "heavy": ("较重", "serious (grade 2)"), "serious": ("严重", "severe")}


class SharingError(ValueError):
    """The records cannot be exported or marked (wrong kind, not pending, bad date)."""


@dataclass(frozen=True)
class Pending:
    case: Case
    due_on: dt.date | None
    provisional: bool


def _base(kind: str) -> sa.Select:
    stmt = sa.select(Case).options(selectinload(Case.subject).selectinload(Subject.people))
    if kind == LISTINGS:
        return stmt.where(Case.state.in_(LISTED_STATES),
                          Case.shared_on.is_(None))
    if kind == REMOVALS:
        return stmt.where(Case.state == CaseState.REMOVED, Case.shared_on.is_not(None),
                          Case.removal_shared_on.is_(None))
    raise SharingError(f"unknown kind {kind!r}")


def removal_due(case: Case, calendar: WorkCalendar):
    """The removal is reported within the same ``sharing`` deadline as the listing."""
    if case.removed_on is None:
        return None
    return terms.deadline(load_profile(case.profile), "sharing", case.removed_on, calendar)


def pending_query(kind: str, within: scope.Scope | None = None) -> sa.Select:
    """The records of ``kind`` still to be uploaded; ``within``: of the jurisdictions that
    scope may change (each bureau uploads its own).  The sharing page lists it, the landing
    page counts it."""
    stmt = _base(kind)
    return stmt if within is None else within.filter(stmt, Case.jurisdiction, write=True)


def pending(session: Session, kind: str, calendar: WorkCalendar,
            within: scope.Scope | None = None) -> list[Pending]:
    """Records still to be uploaded, the most urgent first."""
    found = session.execute(pending_query(kind, within).order_by(Case.id)).scalars().all()
    out = []
    for case in found:
        if kind == LISTINGS:
            out.append(Pending(case, case.share_due_on, case.deadlines_provisional))
        else:
            due = removal_due(case, calendar)
            out.append(Pending(case, due.due if due else None, bool(due and due.provisional)))
    return sorted(out, key=lambda p: (p.due_on or dt.date.max, p.case.id))


def select(session: Session, kind: str, case_ids: list[int]) -> list[Case]:
    """The chosen records, all of them still pending (anything else is refused)."""
    ids = sorted(set(case_ids))
    if not ids:
        raise SharingError("no records chosen")
    found = session.execute(_base(kind).where(Case.id.in_(ids)).order_by(Case.id)).scalars().all()
    if len(found) != len(ids):
        raise SharingError("some records are not pending")
    return list(found)


def _uploaded(kind: str) -> sa.Select:
    """Records of ``kind`` already recorded as uploaded."""
    if kind == LISTINGS:
        return sa.select(Case).where(Case.state.in_(EVER_LISTED_STATES), Case.shared_on.is_not(None))
    if kind == REMOVALS:
        return sa.select(Case).where(Case.state == CaseState.REMOVED, Case.removal_shared_on.is_not(None))
    raise SharingError(f"unknown kind {kind!r}")


def uploaded_on(case: Case, kind: str) -> dt.date | None:
    """The day the platform accepted the record of ``kind`` of ``case``, if recorded."""
    return case.shared_on if kind == LISTINGS else case.removal_shared_on


def select_to_mark(session: Session, kind: str, case_ids: list[int]) -> tuple[list[Case], list[Case]]:
    """The chosen records still pending, and the chosen ones already recorded as uploaded (a
    colleague recorded them meanwhile, or the page was old): those are left as they are, not
    a reason to refuse the others.  Any other record is refused."""
    ids = sorted(set(case_ids))
    if not ids:
        raise SharingError("no records chosen")
    pending_ = list(session.execute(_base(kind).where(Case.id.in_(ids)).order_by(Case.id)).scalars())
    done = list(session.execute(_uploaded(kind).where(Case.id.in_(ids)).order_by(Case.id)).scalars())
    if len(pending_) + len(done) != len(ids):
        raise SharingError("some records are neither pending nor uploaded")
    return pending_, done


def _pair(table: dict, key: str | None, english: bool) -> str:
    if key is None:
        return ""
    zh, en = table.get(key, (key, key))
    return en if english else zh


def row(case: Case, kind: str, english: bool = False) -> dict:
    """One line of the exchange file (full identifiers: the platform matches on them)."""
    subject = case.subject
    profile = load_profile(case.profile)
    ground = profile.ground(case.ground)
    rep = subject.legal_representative
    return {
        "record": _pair(_RECORD, kind, english),
        "case_no": case.case_no,
        "name": subject.name,
        "kind": _pair(_KIND, subject.kind.value, english),
        "uscc": subject.uscc or "",
        "org_code": subject.org_code or "",
        "reg_no": subject.reg_no or "",
        "id_number": subject.id_number or "",
        "legal_rep": rep.name if rep else "",
        "legal_rep_id": (rep.id_number or "") if rep else "",
        "ground": ground.text.get("en" if english else "zh"),
        "severity": _pair(_SEVERITY, case.severity, english),
        "basis": ground.legal_basis.get("en" if english else "zh"),
        "document_no": case.document_no or "",
        "department": case.department,
        "decided_on": case.decided_on,
        "term_start": case.term_start,
        "term_last_day": case.term_last_day,
        "leaves_list_on": case.leaves_list_on,
        "removed_on": case.removed_on if kind == REMOVALS else None,
        "removal_reason": _pair(_REASON, case.removal_reason.value, english)
        if kind == REMOVALS and case.removal_reason else "",
    }


def export(session: Session, user: StaffUser, kind: str, chosen: list[Case], fmt: str,
           english: bool = False) -> list[dict]:
    """The rows of an exchange file; the export itself is audited (who, which records)."""
    actor = _actor(user)
    for case in chosen:
        scope.require(session, user, case.jurisdiction)
    rows = [row(case, kind, english) for case in chosen]
    audit.record(session, actor, "sharing.export", "sharing", kind, {
        "format": fmt, "count": len(rows), "cases": [c.case_no for c in chosen],
    }, jurisdiction=_one({c.jurisdiction for c in chosen}))
    session.flush()
    return rows


def mark_uploaded(session: Session, user: StaffUser, kind: str, chosen: list[Case],
                  uploaded_on: dt.date) -> int:
    """Record that the platform accepted the records (one audit event per case)."""
    actor = _actor(user)
    for case in chosen:
        scope.require(session, user, case.jurisdiction)
    for case in chosen:
        floor = case.decided_on if kind == LISTINGS else case.removed_on
        if floor is not None and uploaded_on < floor:
            raise SharingError(f"{case.case_no}: uploaded before {floor}")
        if kind == LISTINGS:
            cases.mark_shared(session, user, case, uploaded_on)
        else:
            case.removal_shared_on = uploaded_on
            due = removal_due(case, load_calendar(session))
            audit.record(session, actor, "case.share_removal", "case", case.case_no, {
                "shared_on": uploaded_on, "due": due.due if due else None,
                "reason": case.removal_reason.value if case.removal_reason else None,
            })
    session.flush()
    return len(chosen)


def _one(codes: set) -> str | None:
    return next(iter(codes)) if len(codes) == 1 else None


def _actor(user: StaffUser) -> Actor:
    if user is None or user.role not in ROLES:
        raise cases.PermissionDenied("only clerks and approvers upload to the sharing platform")
    return Actor.staff(user)
