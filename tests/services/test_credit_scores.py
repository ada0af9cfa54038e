"""The credit score and its score → grade tables through the services (Zhengzhou §三 ¶1),
on both databases: computed on read, right after every change; four-eyes tables; back-test."""
import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa

from portal.models import AuditEvent, Role, ScoreGradeTable, ScoreTableStatus, SubjectKind
from portal.rules.profiles import ScoreBand
from portal.services import audit, credit_scores, grades, jurisdictions, score_tables
from portal.services.permissions import PermissionDenied
from portal.services.scope import scope_of
from tests.factories import make_staff, make_subject
from tests.grades_support import COMPLAINANT_ID, KEY, TODAY, admitted, complaint, finding

ZZ_CODE = "zhengzhou"


@pytest.fixture
def zz(app, session):
    """A Zhengzhou bureau beside the portal's first one (its records, its table)."""
    jurisdictions.ensure_seeded(session, ZZ_CODE)
    session.commit()
    return scope_of(session, [ZZ_CODE])


def bands(*pairs):
    return tuple(ScoreBand(g, Decimal(str(m))) for g, m in pairs)


def score(session, subject, scope, day=TODAY, jurisdiction=ZZ_CODE):
    return credit_scores.credit_score_of(session, {subject.id}, day, scope, jurisdiction)


def test_no_score_for_an_unknown_subject_or_a_bureau_whose_rules_have_none(session, zz):
    unit = make_subject(session)
    assert credit_scores.credit_score_of(session, set(), TODAY, zz, ZZ_CODE) is None
    assert score(session, unit, zz, jurisdiction="jiamusi") is None
    assert score(session, unit, zz, jurisdiction="nowhere") is None
    clean = score(session, unit, zz)
    assert (clean.total, clean.grade, clean.result.contributions) == (Decimal(100), "A", ())
    assert clean.table.provisional and clean.table.version == "provisional"


def test_the_score_follows_findings_as_they_are_recorded_withdrawn_and_annulled(session, zz):
    unit = make_subject(session)
    heavy = finding(session, unit, "ZH1")
    assert (score(session, unit, zz).total, score(session, unit, zz).grade) == (80, "B")
    serious = finding(session, unit, "ZS4")
    assert (score(session, unit, zz).total, score(session, unit, zz).grade) == (40, "D")
    reviewer = make_staff(session, Role.REVIEWER)
    grades.withdraw_finding(session, reviewer, serious, "稽核数据有误", TODAY)
    assert score(session, unit, zz).total == 80           # same transaction, nothing stored
    grades.annul_finding(session, reviewer, heavy, "复议撤销", TODAY)
    assert score(session, unit, zz).total == 100
    session.commit()
    old = finding(session, unit, "ZG1", on=TODAY - dt.timedelta(days=183))
    faded = score(session, unit, zz)
    assert faded.result.contributions[0].ref == old.finding_no
    assert Decimal(-6) < faded.total - 100 < Decimal(-4)              # about half of −10
    assert score(session, unit, zz, day=TODAY + dt.timedelta(days=400)).total == 100


def test_red_list_criteria_add_points_while_the_unit_is_on_it(session, zz):
    unit = make_subject(session)
    entry = admitted(session, unit)
    on_list = score(session, unit, zz)
    assert on_list.total == 112                            # six employer criteria × 2
    assert {c.ref for c in on_list.result.contributions} == {entry.public_id}
    entry.removed_on = TODAY
    assert score(session, unit, zz).total == 100


def test_complaint_outcomes_count_for_the_unit_and_for_a_false_complainant(session, zz):
    unit = make_subject(session, unit_kind="medical_institution")
    granted = complaint(session, granted=True)
    grades.record_complaint_finding(session, make_staff(session, Role.CLERK), None, granted, unit,
                                    "ZH5", "经核实，该院存在挂床住院。", TODAY, TODAY)
    found = score(session, unit, zz)
    assert found.total == 75 and found.grade == "B"        # −20 for the behaviour, −5 verified
    assert [(c.source, c.code, c.ref) for c in found.result.contributions] == [
        ("finding", "ZH5", found.result.contributions[0].ref),
        ("complaint", "verified", granted.receipt_no)]
    rejected = complaint(session, granted=False)
    false = grades.record_false_complaint(session, make_staff(session, Role.CLERK), None, KEY,
                                          rejected, COMPLAINANT_ID, "举报内容经核实不实。",
                                          TODAY, TODAY)
    person = false.subject
    assert person.kind is SubjectKind.PERSON
    assert score(session, person, zz).total == 50          # −40 serious ZP5, −10 found false


def test_records_of_a_bureau_outside_the_scope_are_not_counted(session, zz):
    unit = make_subject(session)
    f = finding(session, unit, "ZH1")
    assert score(session, unit, zz).total == 80
    f.jurisdiction = "jiamusi"
    session.flush()
    assert score(session, unit, zz).total == 100


def test_the_summary_the_status_answer_and_the_webhooks_give(session, zz):
    unit = make_subject(session)
    finding(session, unit, "ZG1")
    finding(session, unit, "ZG3")
    admitted_unit = make_subject(session)
    assert credit_scores.summary(None) is None
    said = credit_scores.summary(score(session, unit, zz))
    assert said == {"score": 80.0, "grade": "B", "base": 100.0, "table": "provisional",
                    "provisional": True, "profile": "zhengzhou",
                    "contributions": [{"source": "finding", "code": "ZG1", "count": 1,
                                       "points": -10.0},
                                      {"source": "finding", "code": "ZG3", "count": 1,
                                       "points": -10.0}]}
    assert credit_scores.summary(score(session, admitted_unit, zz))["contributions"] == []


def _propose(session, user=None, table=(("A", 95), ("B", 80), ("C", 50), ("D", 0)), note="试行"):
    user = user or make_staff(session, Role.REVIEWER)
    return score_tables.propose(session, user, ZZ_CODE, bands(*table), note, TODAY)


def test_a_table_is_proposed_by_one_and_put_in_force_by_another_approver(session, zz):
    unit = make_subject(session)
    finding(session, unit, "ZG1")                            # 90: A under the provisional
    approver, other = make_staff(session, Role.APPROVER), make_staff(session, Role.APPROVER)
    row = _propose(session, approver)
    assert row.status is ScoreTableStatus.PROPOSED and row.table_no.startswith("ZHE-T2026-")
    assert score(session, unit, zz).grade == "A"            # a proposal changes nothing
    with pytest.raises(PermissionDenied, match="four-eyes"):
        score_tables.approve(session, approver, row, TODAY)
    with pytest.raises(PermissionDenied):
        score_tables.approve(session, make_staff(session, Role.REVIEWER), row, TODAY)
    assert score_tables.approve(session, other, row, TODAY, "局长办公会通过") is None
    assert row.status is ScoreTableStatus.IN_FORCE and row.in_force_from == TODAY
    now = score(session, unit, zz)
    assert now.grade == "B" and now.table.version == row.table_no and not now.table.provisional
    with pytest.raises(score_tables.ScoreTableError, match="decided"):
        score_tables.approve(session, make_staff(session, Role.APPROVER), row, TODAY)
    later = _propose(session, table=(("甲", 85), ("乙", 0)), note="简化为两档")
    assert score_tables.approve(session, approver, later, TODAY) is row
    assert row.status is ScoreTableStatus.SUPERSEDED and row.superseded_on == TODAY
    assert score_tables.in_force(session, ZZ_CODE) is later
    assert score(session, unit, zz).grade == "甲"
    session.commit()
    events = session.execute(sa.select(AuditEvent.action, AuditEvent.entity_id, AuditEvent.data,
                                       AuditEvent.jurisdiction)
                             .where(AuditEvent.entity_type == "score_table")
                             .order_by(AuditEvent.seq)).all()
    assert [(e.action, e.entity_id) for e in events] == [
        ("score_table.propose", row.table_no), ("score_table.approve", row.table_no),
        ("score_table.propose", later.table_no), ("score_table.approve", later.table_no)]
    assert events[0].data == {"bands": "A ≥ 95, B ≥ 80, C ≥ 50, D ≥ 0", "note": "试行"}
    assert events[1].data["replaces"] == "provisional"
    assert events[3].data["replaces"] == row.table_no
    assert {e.jurisdiction for e in events} == {ZZ_CODE}
    assert audit.verify(session) == []


def test_who_may_propose_and_reject_and_what_a_table_must_be(session, zz):
    with pytest.raises(PermissionDenied):
        _propose(session, make_staff(session, Role.CLERK))
    with pytest.raises(PermissionDenied):
        _propose(session, make_staff(session, Role.ADMIN))
    for table, code in ((("A", 90),), "too_few"), ((("A", 90), ("A", 0)), "duplicate_grade"), \
            ((("A", 90), ("B", 90)), "duplicate_score"), ((("A B", 9), ("C", 0)), "grade"):
        with pytest.raises(score_tables.ScoreTableError, match=code):
            _propose(session, table=table)
    with pytest.raises(score_tables.ScoreTableError, match="note_required"):
        _propose(session, note="  ")
    with pytest.raises(score_tables.ScoreTableError, match="no_score"):
        score_tables.propose(session, make_staff(session, Role.REVIEWER), "jiamusi",
                             bands(("A", 90), ("B", 0)), "x", TODAY)
    proposer = make_staff(session, Role.REVIEWER)
    row = _propose(session, proposer)
    approver = make_staff(session, Role.APPROVER)
    with pytest.raises(score_tables.ScoreTableError, match="reason_required"):
        score_tables.reject(session, approver, row, " ", TODAY)
    score_tables.reject(session, approver, row, "分档过严", TODAY)
    assert row.status is ScoreTableStatus.REJECTED and row.decision_note == "分档过严"
    assert score_tables.in_force(session, ZZ_CODE) is None
    assert score_tables.pending(session, ZZ_CODE) == []
    assert score_tables.decided(session, ZZ_CODE) == [row]


def test_parse_bands_reads_lines_in_several_spellings():
    assert score_tables.parse_bands("A 90\nB, 75\nC: 60\n\nD ≥ 0\n") == bands(
        ("A", 90), ("B", 75), ("C", 60), ("D", 0))
    assert score_tables.parse_bands("D 0\nA >= 90.5") == bands(("A", "90.5"), ("D", 0))
    for text, code in (("A\nB 0", "format"), ("A x\nB 0", "format"), ("A 90", "too_few"),
                       ("A 1e9\nB 0", "score"), ("A nan\nB 0", "score")):
        with pytest.raises(score_tables.ScoreTableError, match=code):
            score_tables.parse_bands(text)


def test_backtest_counts_the_grades_over_the_current_data(session, zz):
    clean, general, serious = (make_subject(session) for _ in range(3))
    admitted(session, clean)
    finding(session, general, "ZG1")
    finding(session, serious, "ZS4")
    finding(session, serious, "ZH1")
    make_subject(session)                                   # no record: not scored
    result = credit_scores.backtest(session, ZZ_CODE, TODAY, zz,
                                    {"two": bands(("好", 95), ("差", 0))})
    assert result.subjects == 3 and sorted(result.totals) == [40, 90, 112]
    assert result.current.provisional
    assert result.distributions == {"current": {"A": 2, "B": 0, "C": 0, "D": 1},
                                    "two": {"好": 1, "差": 2}}
    with pytest.raises(score_tables.ScoreTableError, match="no_score"):
        credit_scores.backtest(session, "jiamusi", TODAY, zz)


def test_a_stored_table_reads_back_as_bands(session, zz):
    row = _propose(session)
    session.commit()
    session.expire_all()
    stored = session.get(ScoreGradeTable, row.id)
    assert stored.bands[0] == {"grade": "A", "min_score": "95"}
    assert score_tables.bands_of(stored) == bands(("A", 95), ("B", 80), ("C", 50), ("D", 0))
