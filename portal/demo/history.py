"""Play the demo city's plan through the services: listings, early removals,
filings (granted, rejected and still pending) and the back-office queues.

Every date is derived from the profile's deadlines and the working-day
calendar, so the demo never shows a rectification granted after its window,
a repair before its minimum period or a removal after the term had ended.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import Counter

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.demo import facts as factgen
from portal.demo.city import Listing
from portal.demo.names import NamePools
from portal.demo.places import Place
from portal.demo.procedure import Procedure, case_origin
from portal.demo.subjects import SubjectFactory
from portal.models import Case, CaseOrigin, Subject, Submission
from portal.rules import terms
from portal.rules.profiles import Ground
from portal.rules.workflow import CaseState, RemovalReason, SubmissionKind, SubmissionState
from portal.services import audit, publication, submissions
from portal.services.cases import CaseInput
from portal.services.submissions import Filing

ONE_DAY = dt.timedelta(days=1)

REMOVAL_NOTES = {
    RemovalReason.REVOKED: ("经行政复议，复议机关决定撤销原列入决定", "经人民法院判决撤销原列入决定"),
    RemovalReason.OBJECTION_UPHELD: ("经核查异议成立，原列入信息有误，予以更正并移出",),
    RemovalReason.RECTIFIED: ("首次列入且在规定期限内完成整改，经核查准予提前移出",),
    RemovalReason.CREDIT_REPAIRED: ("已履行相关义务并作出书面信用承诺，经核查准予信用修复",),
}
OBJECTION_CATEGORIES = {
    "identity": "列入名单的主体信息有误，本单位与被处罚单位系同名不同主体，统一社会信用代码不一致。",
    "facts": "认定事实有误：所涉款项已于列入决定作出前全部退回，附银行回单。",
    "term": "公示期限计算有误，应自列入决定之日起计算一年，现仍在公示。",
    "amount": "公示的涉案金额与处罚决定书不一致，请予以更正。",
}
RECTIFICATION_BODIES = (
    "本单位已于{on}补办社会保险登记并足额缴纳全部社会保险费，现提交缴费凭证，申请提前移出名单。",
    "已于{on}全额退回冒领的社会保险待遇，附退款凭证，申请提前移出。",
    "已于{on}偿还社会保险基金先行支付的工伤保险待遇，附还款凭证及整改报告。",
    "已按服务协议完成整改并退回违规结算费用，附整改报告，申请提前移出。",
)
REPAIR_BODIES = (
    "已履行行政处罚决定确定的全部义务，主动消除不良影响，并签署书面信用承诺书，申请信用修复。",
    "失信行为已纠正，相关款项已全部缴清，附信用承诺书及履行义务的证明材料，申请信用修复。",
)
COMPLAINT_BODIES = (
    "该单位长期未为职工缴纳社会保险费，入职时要求员工签署自愿放弃参保声明。",
    "该单位以虚假劳动关系为非本单位人员挂靠参保，收取挂靠费用。",
    "有人在其父亲去世后仍继续领取养老金，已持续两年以上。",
    "该药店允许参保人员使用医保卡购买生活用品。",
    "该诊所存在虚开诊疗项目、挂床住院的情况。",
    "该单位按最低基数为职工缴纳社会保险，与实际工资严重不符。",
)


def mobile(rng: random.Random) -> str:
    return "1" + rng.choice("3578") + "".join(rng.choice("0123456789") for _ in range(9))


class CityHistory:
    def __init__(self, session: Session, proc: Procedure, factory: SubjectFactory,
                 pools: NamePools, place: Place, contact: str,
                 jurisdiction: str | None = None, department: str | None = None) -> None:
        self.session, self.proc, self.factory, self.pools = session, proc, factory, pools
        self.place, self.contact = place, contact
        self.profile, self.rng, self.today, self.cal = proc.profile, proc.rng, proc.today, proc.cal
        # the bureau deciding the cases: the city's own by default (a county under its rules)
        self.jurisdiction = jurisdiction or self.profile.code
        self.department = department or self.profile.authority.zh
        self.doc_numbers: Counter[int] = Counter()
        self.clerk = audit.Actor.staff(proc.staff.clerk)
        self.touched: set[int] = set()   # cases that already carry an open filing

    # --------------------------------------------------------------- inputs

    def document_no(self, year: int) -> str:
        self.doc_numbers[year] += 1
        return f"{self.place.doc_abbr}失决〔{year}〕{self.doc_numbers[year]}号"

    def new_subject(self, person: bool, kind: str = "other", flavour: str = "company") -> Subject:
        if person:
            return self.factory.person(self.rng, older=kind == "impersonation" and self.rng.random() < 0.3)
        return self.factory.organisation(self.rng, flavour)

    def case_input(self, ground: Ground, kind: str, subject: Subject, decided: dt.date,
                   with_document: bool = True) -> CaseInput:
        composed = factgen.compose(self.rng, ground, kind, subject.name,
                                   subject.kind.value == "person", decided, self.pools.person)
        return CaseInput(
            ground=ground.code, facts=composed.facts, reasons=composed.reasons,
            origin=case_origin(kind, self.rng), amount=composed.amount,
            months=composed.months, person_times=composed.person_times,
            document_no=self.document_no(decided.year) if with_document else None,
            department=self.department, department_contact=self.contact,
            jurisdiction=self.jurisdiction,
        )

    def party(self, subject: Subject) -> tuple[str, str]:
        """Who files for the subject, and a mobile number."""
        rep = subject.legal_representative
        name = rep.name if rep is not None else subject.name
        if rep is not None and self.rng.random() < 0.3:
            name = f"{self.pools.person(self.rng)}（委托代理人）"
        return name, mobile(self.rng)

    def receive(self, kind: SubmissionKind, case: Case | None, on: dt.date, body: str, **extra):
        filer = self.party(case.subject) if case is not None else (self.pools.person(self.rng),
                                                                    mobile(self.rng))
        filing = Filing(kind=kind, body=body, case=case, filer_name=extra.pop("filer_name", filer[0]),
                        filer_contact=filer[1], **extra)
        return submissions.receive(self.session, self.profile, self.cal, filing, on).submission

    def move(self, sub, target: SubmissionState, on: dt.date, note: str = "") -> None:
        submissions.transition(self.session, self.clerk, sub, target, note, today=on)

    # ------------------------------------------------------------ listings

    def play(self, item: Listing) -> Case:
        """The whole procedure up to publication, then the early removal of its fate."""
        if item.repeat_of is not None and item.repeat_of.subject is not None:
            subject = item.repeat_of.subject
        else:
            subject = self.new_subject(item.person, item.kind, item.flavour)
        item.subject = subject
        data = self.case_input(item.ground, item.kind, subject, item.decided)
        defence = self.party(subject) if self.rng.random() < 0.2 else None
        item.case = case = self.proc.run(subject, data, item.decided, defence_by=defence)
        finish = getattr(self, f"_finish_{item.fate}", None)
        if finish is not None and not finish(case):
            item.fate = "listed" if case.leaves_list_on > self.today else "term_expired"
        return case

    def _latest_removal(self, case: Case) -> dt.date:
        """Last day an early removal can happen: before the term ends and before demo-today."""
        return min(case.leaves_list_on, self.today) - ONE_DAY

    def _granted_removal(self, case: Case, sub, reason: RemovalReason, granted: dt.date) -> bool:
        latest = self._latest_removal(case)
        if granted > latest:
            granted = latest if self.cal.is_workday(latest) else self.proc.back_wd(latest, 1)
        if granted <= sub.received_on:
            self.move(sub, SubmissionState.UNDER_REVIEW, sub.received_on, "已受理")
            return False
        self.proc.decide_submission(sub, True, granted, REMOVAL_NOTES[reason][0])
        self.proc.remove(case, reason, granted, REMOVAL_NOTES[reason][0])
        return True

    def _finish_rectified(self, case: Case) -> bool:
        elig = terms.rectification_eligibility(self.profile, case.ground, case.decided_on,
                                               case.prior_listings, case.published_on, self.cal)
        if not elig.allowed:
            return False
        span = (elig.closes_on - case.published_on).days
        received = self.proc.workday(case.published_on + dt.timedelta(days=self.rng.randint(3, max(4, span - 5))))
        received = min(received, elig.closes_on)
        sub = self.receive(SubmissionKind.RECTIFICATION, case, received,
                           self.rng.choice(RECTIFICATION_BODIES).format(on=f"{received:%Y年%-m月%-d日}"),
                           details={"rectified_on": received.isoformat()})
        granted = min(self.proc.add_wd(received, self.rng.randint(5, 25)), sub.due_on or received)
        return self._granted_removal(case, sub, RemovalReason.RECTIFIED, granted)

    def _finish_credit_repaired(self, case: Case) -> bool:
        elig = terms.repair_eligibility(self.profile, case.ground, case.decided_on, case.published_on,
                                        case.leaves_list_on, prior_listings=case.prior_listings,
                                        calendar=self.cal)
        if elig.opens_on is None:
            return False
        received = self.proc.workday(max(elig.opens_on, case.published_on + dt.timedelta(days=5))
                                     + dt.timedelta(days=self.rng.randint(0, 40)))
        if received > self._latest_removal(case):
            return False
        sub = self.receive(SubmissionKind.CREDIT_REPAIR, case, received, self.rng.choice(REPAIR_BODIES),
                           details={"commitment_signed": True, "obligations_fulfilled": True})
        granted = min(self.proc.add_wd(received, self.rng.randint(10, 50)), sub.due_on or received)
        return self._granted_removal(case, sub, RemovalReason.CREDIT_REPAIRED, granted)

    def _finish_objection_upheld(self, case: Case) -> bool:
        received = self.proc.workday(case.published_on + dt.timedelta(days=self.rng.randint(3, 40)))
        if received >= self._latest_removal(case):
            return False
        category = self.rng.choice(("identity", "facts", "amount"))
        sub = self.receive(SubmissionKind.OBJECTION, case, received, OBJECTION_CATEGORIES[category],
                           category=category)
        accepted = self.proc.add_wd(received, 1)
        self.move(sub, SubmissionState.UNDER_REVIEW, accepted, "已受理，异议期间在公示信息上标注“异议处理中”")
        publication.set_objection_marker(self.session, case, True)
        granted = max(min(self.proc.add_wd(received, self.rng.randint(2, 5)), sub.due_on), accepted)
        return self._granted_removal(case, sub, RemovalReason.OBJECTION_UPHELD, granted)

    def _finish_revoked(self, case: Case) -> bool:
        revoked = self.proc.workday(case.decided_on + dt.timedelta(days=self.rng.randint(60, 150)))
        revoked = min(revoked, self._latest_removal(case))
        if revoked <= case.published_on:
            return False
        self.proc.remove(case, RemovalReason.REVOKED, revoked, self.rng.choice(REMOVAL_NOTES[RemovalReason.REVOKED]))
        return True

    # ------------------------------------------------- filings on the list

    def rejected_filings(self, listed: list[Case], count: int) -> Counter:
        """Objections, rectifications and repairs decided against the party (history)."""
        done: Counter = Counter()
        for case in self.rng.sample(listed, min(count, len(listed))):
            received = self.proc.workday(case.published_on + dt.timedelta(days=self.rng.randint(5, 60)))
            if received >= self.today - dt.timedelta(days=20):
                continue
            category = self.rng.choice(("facts", "term"))
            sub = self.receive(SubmissionKind.OBJECTION, case, received, OBJECTION_CATEGORIES[category],
                               category=category)
            self.move(sub, SubmissionState.UNDER_REVIEW, self.proc.add_wd(received, 1), "已受理")
            publication.set_objection_marker(self.session, case, True)
            self.move(sub, SubmissionState.REJECTED, min(self.proc.add_wd(received, 4), sub.due_on),
                      "经核查，列入信息准确，异议不成立，维持原列入决定。")
            publication.set_objection_marker(self.session, case, False)
            done["objection"] += 1
        for case in listed[: count * 3]:
            if done["credit_repair"] >= count:
                break
            elig = terms.repair_eligibility(self.profile, case.ground, case.decided_on, self.today,
                                            case.leaves_list_on, prior_listings=case.prior_listings,
                                            calendar=self.cal)
            if elig.opens_on is None or elig.opens_on > self.today - dt.timedelta(days=100):
                continue
            received = self.proc.workday(elig.opens_on + dt.timedelta(days=self.rng.randint(0, 20)))
            sub = self.receive(SubmissionKind.CREDIT_REPAIR, case, received, self.rng.choice(REPAIR_BODIES),
                               details={"commitment_signed": False, "obligations_fulfilled": False})
            self.move(sub, SubmissionState.UNDER_REVIEW, self.proc.add_wd(received, 1), "已受理")
            self.move(sub, SubmissionState.REJECTED, self.proc.add_wd(received, self.rng.randint(10, 40)),
                      "经核查，申请人尚未履行行政处罚决定确定的义务，且未提交书面信用承诺，不予修复。")
            done["credit_repair"] += 1
        return done

    def pending_filings(self, listed: list[Case], per_kind: int) -> Counter:
        """Filings still open on demo-today, in every state of the queue."""
        done: Counter = Counter()
        states = [SubmissionState.RECEIVED, SubmissionState.UNDER_REVIEW,
                  SubmissionState.AWAITING_MATERIAL]
        recent = self.today - dt.timedelta(days=18)
        # objections on published entries
        for i, case in enumerate(self.rng.sample(listed, min(per_kind, len(listed)))):
            received = self.proc.workday(max(recent, case.published_on + ONE_DAY)
                                         + dt.timedelta(days=self.rng.randint(0, 12)))
            received = min(received, self.today)
            category = self.rng.choice(tuple(OBJECTION_CATEGORIES))
            sub = self.receive(SubmissionKind.OBJECTION, case, received, OBJECTION_CATEGORIES[category],
                               category=category)
            self._advance(sub, states[i % 3], received, marker_case=case)
            done["objection"] += 1
        # rectification inside its window, first listings on rectifiable grounds
        eligible = []
        for case in listed:
            elig = terms.rectification_eligibility(self.profile, case.ground, case.decided_on,
                                                   case.prior_listings, self.today, self.cal)
            if elig.allowed and case.published_on < self.today:
                eligible.append(case)
        for i, case in enumerate(eligible[:per_kind]):
            received = min(self.today, self.proc.workday(
                case.published_on + dt.timedelta(days=self.rng.randint(1, 20))))
            sub = self.receive(SubmissionKind.RECTIFICATION, case, received,
                               self.rng.choice(RECTIFICATION_BODIES).format(on=f"{received:%Y年%-m月%-d日}"),
                               details={"rectified_on": received.isoformat()})
            self._advance(sub, states[i % 3], received)
            done["rectification"] += 1
        # credit repair, once the window is open
        for case in listed:
            if done["credit_repair"] >= per_kind:
                break
            elig = terms.repair_eligibility(self.profile, case.ground, case.decided_on, self.today,
                                            case.leaves_list_on, prior_listings=case.prior_listings,
                                            calendar=self.cal)
            if not elig.allowed or case.id in self.touched:
                continue
            received = min(self.today, self.proc.workday(max(elig.opens_on, recent)))
            sub = self.receive(SubmissionKind.CREDIT_REPAIR, case, received, self.rng.choice(REPAIR_BODIES),
                               details={"commitment_signed": True, "obligations_fulfilled": True})
            self._advance(sub, states[done["credit_repair"] % 3], received)
            done["credit_repair"] += 1
        # complaints and reports by the public (some anonymous)
        for i in range(per_kind):
            received = self.proc.workday(recent + dt.timedelta(days=self.rng.randint(0, 15)))
            received = min(received, self.today)
            anonymous = i % 2 == 0
            reported = self.pools.company(self.rng)
            sub = self.receive(SubmissionKind.COMPLAINT, None, received, self.rng.choice(COMPLAINT_BODIES),
                               anonymous=anonymous, reported_name=reported, category="fraud",
                               filer_name=None if anonymous else self.pools.person(self.rng))
            self._advance(sub, states[i % 3], received)
            done["complaint"] += 1
        return done

    def _advance(self, sub, state: SubmissionState, received: dt.date, marker_case: Case | None = None) -> None:
        if sub.case_id:
            self.touched.add(sub.case_id)
        if state is SubmissionState.RECEIVED:
            return
        on = min(self.proc.add_wd(received, 1), max(self.today, received))
        self.move(sub, SubmissionState.UNDER_REVIEW, on, "已受理，正在审查")
        if marker_case is not None:
            publication.set_objection_marker(self.session, marker_case, True)
        if state is SubmissionState.AWAITING_MATERIAL:
            self.move(sub, SubmissionState.AWAITING_MATERIAL, on,
                      "请于10个工作日内补充提交相关证明材料（补正期间暂停计算办理期限）。")

    # ------------------------------------------------------------ complaints

    def decided_complaints(self, count: int) -> list:
        """Older complaints: some confirmed (a case is opened on them), some not."""
        confirmed = []
        for i in range(count):
            received = self.proc.workday(self.today - dt.timedelta(days=self.rng.randint(40, 200)))
            anonymous = i % 3 == 0
            sub = self.receive(SubmissionKind.COMPLAINT, None, received, self.rng.choice(COMPLAINT_BODIES),
                               anonymous=anonymous, reported_name=self.pools.company(self.rng),
                               category="fraud", filer_name=None if anonymous else self.pools.person(self.rng))
            self.move(sub, SubmissionState.UNDER_REVIEW, self.proc.add_wd(received, 1), "已受理")
            granted = i % 2 == 0
            self.move(sub, SubmissionState.GRANTED if granted else SubmissionState.REJECTED,
                      self.proc.add_wd(received, self.rng.randint(5, 14)),
                      "经核查，举报事项属实，已立案处理。" if granted else "经核查，举报事项不属实。")
            if granted:
                confirmed.append(sub)
        return confirmed

    # ----------------------------------------------------------- the queues

    def queues(self, grounds: list[Ground], per_state: int, complaints: list) -> Counter:
        """Cases still in the procedure on demo-today, for the back office."""
        done: Counter = Counter()
        proc, rng, today = self.proc, self.rng, self.today

        def fresh(ground: Ground | None = None):
            ground = ground or rng.choice(grounds)
            kind, flavour = factgen.kind_of(ground)
            person = "person" in ground.subject_kinds and (
                "organisation" not in ground.subject_kinds or rng.random() < 0.3)
            subject = self.new_subject(person, kind, flavour)
            return ground, kind, subject

        plans = [
            (CaseState.OPENED, {"opened_on": proc.back_wd(today, rng.randint(0, 6))}),
            (CaseState.PRE_NOTICED, {"served_on": proc.back_wd(today, 2)}),
            (CaseState.DEFENCE_FILED, {"served_on": proc.back_wd(today, 3), "defence": True}),
            (CaseState.REVIEWED, {"served_on": proc.back_wd(today, 9)}),
            (CaseState.PROPOSED, {"served_on": proc.back_wd(today, 12)}),
            (CaseState.DECIDED, {"decided": proc.back_wd(today, 2)}),
            (CaseState.DROPPED, {"served_on": proc.back_wd(today, 20), "defence": True}),
        ]
        for state, opts in plans:
            for i in range(per_state):
                ground, kind, subject = fresh()
                decided = opts.get("decided", today)
                served = opts.get("served_on")
                opened = opts.get("opened_on") or (proc.back_wd(served, rng.randint(3, 8)) if served
                                                   else decided - dt.timedelta(days=rng.randint(40, 70)))
                data = self.case_input(ground, kind, subject, decided,
                                       with_document=state is CaseState.DECIDED)
                if state is CaseState.OPENED and i < len(complaints):
                    data = dataclasses.replace(data, origin=CaseOrigin.REPORT)
                defence = self.party(subject) if opts.get("defence") else None
                case = proc.run(subject, data, decided, stop=state, defence_by=defence,
                                defence_upheld=state is CaseState.DROPPED and i % 2 == 0,
                                opened_on=opened, served_on=served)
                done[case.state.value] += 1
                if state is CaseState.DEFENCE_FILED and i % 2 == 1:
                    sub = case_defence(self.session, case)
                    if sub is not None:
                        self.move(sub, SubmissionState.UNDER_REVIEW, today, "已收到申辩材料，正在复核")
        return done


def case_defence(session: Session, case: Case) -> Submission | None:
    return session.execute(
        sa.select(Submission).where(Submission.case_id == case.id,
                                    Submission.kind == SubmissionKind.DEFENCE)
    ).scalars().first()
