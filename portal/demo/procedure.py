"""Drive one demo case through the listing procedure — through the services.

Every step is a call into :mod:`portal.services.cases` by the staff member
whose role may take it (clerk opens and proposes, reviewer reviews, a
different approver signs: four-eyes), on dates that follow the working-day
calendar: pre-notice a few working days after opening, review after the
defence window, publication and sharing within their statutory deadlines.
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from sqlalchemy.orm import Session

from portal.models import Case, CaseOrigin, StaffUser, Subject
from portal.rules.calendar import WorkCalendar
from portal.rules.profiles import Profile
from portal.rules.workflow import CaseState, SubmissionKind, SubmissionState
from portal.services import audit, cases, letters, submissions
from portal.services.submissions import Filing

DEFENCE_BODIES = {
    "organisation": (
        ("本单位对事先告知书认定的事实有异议：涉及人员中有{n}人系本单位正式职工，劳动合同及工资发放记录附后，"
         "请求不予列入严重失信人名单。"),
        "本单位已于收到告知书后补缴全部款项，并已建立内部核查制度，恳请从轻处理、不予列入。",
        "告知书认定的金额计算有误，其中{n}个月的款项已按期缴纳，现提交银行回单作为证据，请求复核。",
    ),
    "person": (
        "本人因病长期住院，未能及时知悉待遇资格变化，并非故意，且已退回部分款项，请求不予列入。",
        "告知书所列金额计算有误，其中{n}个月的待遇系依法领取，现提交银行流水作为证据，请求复核。",
        "本人对有关证明材料系他人代办并不知情，请求调查核实后不予列入。",
    ),
}
DEFENCE_REJECTED = "经复核，申辩所提事实和理由不能成立，不予采纳。"
DEFENCE_UPHELD = "经复核，申辩理由成立，决定不予列入严重失信人名单。"


@dataclass
class Staff:
    """The staff of the demo bureau, by role."""

    clerk: StaffUser
    reviewer: StaffUser
    approver: StaffUser
    admin: StaffUser


class Procedure:
    def __init__(self, session: Session, profile: Profile, calendar: WorkCalendar, key: str,
                 staff: Staff, rng: random.Random, today: dt.date) -> None:
        self.session, self.profile, self.cal, self.key = session, profile, calendar, key
        self.staff, self.rng, self.today = staff, rng, today

    # ------------------------------------------------------------ dates

    def workday(self, day: dt.date) -> dt.date:
        """``day`` if it is a working day, else the next one."""
        return day if self.cal.is_workday(day) else self.cal.next_workday(day)

    def add_wd(self, day: dt.date, n: int) -> dt.date:
        return self.cal.add_working_days(day, n).due

    def back_wd(self, day: dt.date, n: int) -> dt.date:
        """The working day ``n`` working days before ``day``."""
        while n > 0:
            day -= dt.timedelta(days=1)
            if self.cal.is_workday(day):
                n -= 1
        return day

    # ------------------------------------------------------------ steps

    def open(self, subject: Subject, data: cases.CaseInput, opened_on: dt.date) -> Case:
        return cases.open_case(self.session, self.staff.clerk, self.profile, subject, data,
                               self.workday(opened_on))

    def pre_notice(self, case: Case, served_on: dt.date) -> None:
        served_on = self.workday(served_on)
        cases.serve_pre_notice(self.session, self.staff.clerk, case, self.profile, self.cal,
                               served_on)
        self.letter(self.staff.clerk, case, "pre_notice", served_on)

    def letter(self, user: StaffUser, case: Case, step: str, on: dt.date) -> None:
        """Number the letter of the act in the register, as the back office does with it."""
        letters.issue_with_step(self.session, user, case, self.profile, step, on)

    def defence(self, case: Case, filer: str, contact: str, received_on: dt.date):
        """The party files a 陈述申辩 within the window; the case waits for review."""
        body = self.rng.choice(DEFENCE_BODIES[case.subject.kind.value]).format(n=self.rng.randint(2, 9))
        receipt = submissions.receive(
            self.session, self.profile, self.cal,
            Filing(kind=SubmissionKind.DEFENCE, body=body, case=case, filer_name=filer,
                   filer_contact=contact, category="facts"),
            received_on)
        cases.record_defence(self.session, audit.PARTY, case, received_on)
        return receipt.submission

    def review(self, case: Case, on: dt.date) -> None:
        cases.complete_review(self.session, self.staff.reviewer, case, on, note="材料齐全，事实清楚")

    def propose(self, case: Case) -> None:
        cases.propose_listing(self.session, self.staff.clerk, case)

    def approve(self, case: Case, on: dt.date) -> None:
        cases.approve_listing(self.session, self.staff.approver, case, self.profile, self.cal, on)
        self.letter(self.staff.approver, case, "approve", on)

    def publish(self, case: Case, on: dt.date) -> None:
        cases.publish_case(self.session, self.staff.clerk, case, self.profile, self.key, on)

    def share(self, case: Case, on: dt.date) -> None:
        cases.mark_shared(self.session, self.staff.clerk, case, on)

    def remove(self, case: Case, reason, on: dt.date, note: str = "") -> None:
        cases.remove_case(self.session, self.staff.approver, case, self.profile, self.key,
                          reason, on, note)
        self.letter(self.staff.approver, case, "remove", on)

    def drop(self, case: Case, reason: str) -> None:
        cases.drop_case(self.session, self.staff.reviewer, case, reason)

    def decide_submission(self, sub, granted: bool, on: dt.date, note: str) -> None:
        actor = audit.Actor.staff(self.staff.clerk)
        if sub.state is SubmissionState.RECEIVED:
            submissions.transition(self.session, actor, sub, SubmissionState.UNDER_REVIEW,
                                   "已受理，正在审查", today=on)
        target = SubmissionState.GRANTED if granted else SubmissionState.REJECTED
        submissions.transition(self.session, actor, sub, target, note, today=on)

    # ------------------------------------------------------- whole runs

    def run(self, subject: Subject, data: cases.CaseInput, decided_on: dt.date, *,
            stop: CaseState = CaseState.PUBLISHED, defence_by: tuple[str, str] | None = None,
            defence_upheld: bool = False, opened_on: dt.date | None = None,
            served_on: dt.date | None = None) -> Case:
        """Open a case and take it as far as ``stop``; the decision falls on ``decided_on``
        (moved to the next working day, and never before the earlier steps)."""
        rng = self.rng
        opened = self.workday(opened_on or decided_on - dt.timedelta(days=rng.randint(50, 85)))
        case = self.open(subject, data, opened)
        if stop is CaseState.OPENED:
            return case
        served = self.workday(served_on or self.add_wd(opened, rng.randint(2, 8)))
        self.pre_notice(case, served)
        if stop is CaseState.PRE_NOTICED:
            return case
        defence_sub = None
        if defence_by is not None:
            window = self.cal.working_days_between(served, case.defence_due_on)
            filed = min(self.add_wd(served, rng.randint(1, max(1, window))), self.today)
            defence_sub = self.defence(case, defence_by[0], defence_by[1], filed)
            if stop is CaseState.DEFENCE_FILED:
                return case
            reviewed = self.add_wd(filed, rng.randint(1, 3))
            if reviewed <= case.defence_due_on:
                reviewed = self.add_wd(case.defence_due_on, 1)
        else:
            reviewed = self.add_wd(case.defence_due_on, rng.randint(1, 4))
        if stop is CaseState.DROPPED:
            if defence_sub is not None:
                self.decide_submission(defence_sub, defence_upheld, reviewed,
                                       DEFENCE_UPHELD if defence_upheld else DEFENCE_REJECTED)
            self.drop(case, "申辩理由成立，不予列入" if defence_upheld else "证据不足，不予列入")
            return case
        self.review(case, reviewed)
        if stop is CaseState.REVIEWED:
            return case
        self.propose(case)
        if stop is CaseState.PROPOSED:
            return case
        decided = self.workday(decided_on)
        if decided <= reviewed:
            decided = self.add_wd(reviewed, 1)
        self.approve(case, decided)
        if defence_sub is not None:
            self.decide_submission(defence_sub, False, decided, DEFENCE_REJECTED)
        if stop is CaseState.DECIDED:
            return case
        published = self.add_wd(decided, rng.choice((1, 1, 2, 2, 3, 4, 5)))
        published = min(published, case.publish_due_on)
        self.publish(case, published)
        shared = min(self.add_wd(published, rng.choice((0, 0, 1, 2))), case.share_due_on)
        self.share(case, max(shared, published))
        return case


def case_origin(kind: str, rng: random.Random) -> CaseOrigin:
    if kind == "commitment":
        return CaseOrigin.COMMITMENT
    if kind in ("arrears", "registration"):
        return rng.choice((CaseOrigin.INSPECTION, CaseOrigin.INSPECTION, CaseOrigin.IMPORT))
    if kind == "medical":
        return rng.choice((CaseOrigin.AUDIT, CaseOrigin.INSPECTION))
    return rng.choice((CaseOrigin.INSPECTION, CaseOrigin.AUDIT, CaseOrigin.REPORT))


