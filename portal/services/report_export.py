"""The periodic dishonesty report for the supervising authority (SPEC §4 step 8): export.

The cases *decided* in the period (a month for a monthly profile, a quarter
for Zhengzhou), still decided, published or since removed (not a listing annulled by an
upheld objection or a revoked decision: it was wrong), in the columns of
the profile's report (``report_format``), as CSV (with a BOM for Excel) or
XLSX.  The report carries full ID numbers, so it is staff-only (clerk,
reviewer, approver) and every export appends a ``report.export`` audit event.
"""
from __future__ import annotations

import calendar as _stdcal
import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from portal.models import Case, CaseReportData, PersonRole, Role, StaffUser, Subject
from portal.rules import terms
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import EVER_LISTED_STATES
from portal.services import audit, cases, rules_of, scope
from portal.services.audit import Actor
from portal.services.report_files import to_csv, to_xlsx
from portal.services.report_format import ReportFormat, report_format

__all__ = ["ReportPeriod", "parse_period", "last_period", "recent_periods", "decided_cases",
           "report_table", "export", "due_dates", "EXPORT_ROLES"]

EXPORT_ROLES = (Role.CLERK, Role.REVIEWER, Role.APPROVER)
_PERIOD = re.compile(r"^(\d{4})-(?:(\d{2})|Q([1-4]))$")


@dataclass(frozen=True)
class ReportPeriod:
    year: int
    number: int          # month 1–12 or quarter 1–4
    frequency: str       # "monthly" | "quarterly"

    @property
    def code(self) -> str:
        return f"{self.year}-{self.number:02d}" if self.frequency == "monthly" else f"{self.year}-Q{self.number}"

    @property
    def months(self) -> tuple[int, int]:
        if self.frequency == "monthly":
            return self.number, self.number
        return 3 * self.number - 2, 3 * self.number

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, self.months[0], 1)

    @property
    def end(self) -> dt.date:
        last = self.months[1]
        return dt.date(self.year, last, _stdcal.monthrange(self.year, last)[1])

    def previous(self) -> "ReportPeriod":
        if self.number > 1:
            return ReportPeriod(self.year, self.number - 1, self.frequency)
        return ReportPeriod(self.year - 1, 12 if self.frequency == "monthly" else 4, self.frequency)


def frequency(profile: Profile) -> str:
    return profile.report.frequency if profile.report is not None else "monthly"


def parse_period(text: str | None, profile: Profile) -> ReportPeriod | None:
    """"2026-03" (monthly) or "2026-Q1" (quarterly); None if malformed or of the other kind."""
    m = _PERIOD.match((text or "").strip().upper())
    if not m or not 2000 <= int(m[1]) <= 2100:
        return None
    freq = frequency(profile)
    if freq == "monthly" and m[2] and 1 <= int(m[2]) <= 12:
        return ReportPeriod(int(m[1]), int(m[2]), freq)
    if freq == "quarterly" and m[3]:
        return ReportPeriod(int(m[1]), int(m[3]), freq)
    return None


def last_period(profile: Profile, today: dt.date) -> ReportPeriod:
    """The period a report is due for next: the last month that has ended; for a quarterly
    report due within its own last month (Zhengzhou: by the 20th), the current quarter."""
    freq = frequency(profile)
    if freq == "quarterly":
        return ReportPeriod(today.year, (today.month - 1) // 3 + 1, freq)
    return ReportPeriod(today.year, today.month, freq).previous()


def recent_periods(profile: Profile, today: dt.date, count: int = 8) -> list[ReportPeriod]:
    period = last_period(profile, today)
    found = []
    for _ in range(count):
        found.append(period)
        period = period.previous()
    return found


def due_dates(profile: Profile, period: ReportPeriod,
              calendar: WorkCalendar | None) -> terms.ReportDue | None:
    """The report's due date (and forward date) computed from the profile; None: no duty."""
    return terms.report_due(profile, period.year, period.number, calendar)


def decided_cases(session: Session, profile: Profile, period: ReportPeriod,
                  jurisdiction: str | None = None) -> list[Case]:
    """The cases of the report: of ``jurisdiction`` (a bureau reports its own decisions), or
    of every jurisdiction under ``profile`` when none is named."""
    owner = Case.jurisdiction == jurisdiction if jurisdiction else Case.profile == profile.code
    return list(session.execute(
        sa.select(Case).where(owner, Case.state.in_(EVER_LISTED_STATES),
                              Case.decided_on >= period.start, Case.decided_on <= period.end,
                              # an upheld objection or a revoked decision: the listing was wrong
                              sa.or_(Case.removal_reason.is_(None),
                                     Case.removal_reason.not_in(cases.ANNULLING_REASONS)))
        .options(selectinload(Case.subject).selectinload(Subject.people))
        .order_by(Case.decided_on, Case.id)).scalars())


def _money(value) -> str:
    return f"{value:,.2f}元" if value is not None else ""


def _case_values(n: int, case: Case, profile: Profile, extra: dict) -> dict[str, object]:
    """Every report meaning of one case; imported cases add what the case has no column for."""
    subject = case.subject
    rep = next((p for p in subject.people if p.role is PersonRole.LEGAL_REPRESENTATIVE), None)
    try:
        ground_text = profile.ground(case.ground).text.zh
    except KeyError:
        ground_text = case.ground
    months = extra.get("months")
    values: dict[str, object] = {
        "seq": n,
        "cause": f"{ground_text}（{case.ground}）",
        "date": case.decided_on.isoformat() if case.decided_on else "",
        "document_no": case.document_no or "",
        "name": subject.name,
        "code": subject.uscc or subject.org_code or subject.reg_no or subject.id_number or "",
        "uscc": subject.uscc or "",
        "org_code": subject.org_code or "",
        "reg_no": subject.reg_no or "",
        "rep_name": rep.name if rep else "",
        "rep_id": (rep.id_number or "") if rep else "",
        "insured": extra.get("insured", ""),
        "arrears": "；".join(x for x in (f"{months}个月" if months is not None else "",
                                        _money(case.amount)) if x),
        "violations": extra.get("violations") or case.facts,
        "collection": extra.get("collection", ""),
        "remarks": "；".join(x for x in (extra.get("remarks", ""), f"案件编号：{case.case_no}") if x),
        "other": "；".join(x for x in (f"案件编号：{case.case_no}",
                                      (f"列入期限至{case.term_last_day}（含当日），"
                                       f"{case.leaves_list_on}起移出名单") if case.leaves_list_on else "",
                                      extra.get("other", "")) if x),
        "amount": str(case.amount) if case.amount is not None else "",
    }
    return values


def report_table(session: Session, profile: Profile, period: ReportPeriod,
                 fmt: ReportFormat | None = None,
                 jurisdiction: str | None = None) -> tuple[list[str], list[list[object]]]:
    """Header (the template's Chinese column names) and one row per decided case; with a
    ``jurisdiction``, its cases in its profile's template."""
    if jurisdiction:
        profile = rules_of.jurisdiction(session, jurisdiction, profile)
    fmt = fmt or report_format(profile)
    found = decided_cases(session, profile, period, jurisdiction)
    extras = dict(session.execute(sa.select(CaseReportData.case_id, CaseReportData.values)
                                  .where(CaseReportData.case_id.in_([c.id for c in found]))).all()) \
        if found else {}
    columns = fmt.report_columns
    rows = []
    for n, case in enumerate(found, start=1):
        extra = extras.get(case.id) or {}
        values = _case_values(n, case, profile, extra)
        rows.append([extra.get("extras", {}).get(col.label.zh, "") if col.key.startswith("extra_")
                     else values.get(col.key, "") for col in columns])
    return [col.label.zh for col in columns], rows


def export(session: Session, user: StaffUser, profile: Profile, period: ReportPeriod,
           file_format: str, jurisdiction: str | None = None) -> tuple[bytes, int]:
    """The report file of ``jurisdiction`` and its row count; audited (who exported which
    period, how many)."""
    if user.role not in EXPORT_ROLES:
        raise cases.PermissionDenied(f"role {user.role.value} may not export the report")
    jurisdiction = jurisdiction or profile.code
    scope.require(session, user, jurisdiction)
    if file_format not in ("csv", "xlsx"):
        raise ValueError(file_format)
    if jurisdiction:
        profile = rules_of.jurisdiction(session, jurisdiction, profile)
    header, rows = report_table(session, profile, period, jurisdiction=jurisdiction)
    if file_format == "csv":
        data = to_csv(header, rows)
    else:
        data = to_xlsx(header, rows, title=f"{period.code} 失信信息报送")
    audit.record(session, Actor.staff(user), "report.export", "report", period.code, {
        "profile": profile.code, "period": period.code, "count": len(rows), "format": file_format},
        jurisdiction=jurisdiction)
    return data, len(rows)
