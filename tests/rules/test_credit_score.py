"""The credit score of Zhengzhou §三 ¶1 as pure functions: points, decay, tables (no app)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

import pytest

from portal.rules import credit_score as cs
from portal.rules.profiles import (
    PROFILE_DIR,
    ScoreBand,
    available_profiles,
    load_profile,
    parse_profile,
)

ZZ = load_profile("zhengzhou")
MODEL = ZZ.score
DAY = date(2026, 10, 12)


@dataclass
class F:
    behaviour_code: str
    grade: str
    found_on: date
    status: str = "live"
    finding_no: str | None = None


@dataclass
class E:
    criteria: list
    admitted_on: date
    valid_until: date | None = None
    removed_on: date | None = None
    public_id: str = "G-1"


def bands(*pairs) -> tuple[ScoreBand, ...]:
    return tuple(ScoreBand(g, Decimal(str(m))) for g, m in pairs)


def run(findings=(), entries=(), complaints=(), day=DAY, model=MODEL, table=None):
    return cs.score(findings, entries, complaints, day, model, table)


def test_only_zhengzhou_has_a_score_and_every_profile_still_loads():
    scored = {code for code in available_profiles() if load_profile(code).score is not None}
    assert scored == {"zhengzhou"}
    assert MODEL.base == 100 and MODEL.decay == "linear" and MODEL.floor == 0
    assert MODEL.periods is ZZ.grading.finding_periods           # the grade rules' validity
    assert [(b.grade, b.min_score) for b in MODEL.provisional_table] == [
        ("A", 90), ("B", 75), ("C", 60), ("D", 0)]
    assert MODEL.table_source.startswith("bureau setting (provisional")
    assert set(MODEL.criterion_points) == {c.code for c in ZZ.red_list_criteria}
    assert set(MODEL.complaint_points) == {"verified", "found_false"}


def test_a_subject_without_records_has_the_base_score_and_the_top_grade():
    result = run()
    assert (result.total, result.grade, result.contributions) == (Decimal(100), "A", ())


def test_a_finding_counts_in_full_on_its_day_and_fades_to_nothing_when_it_stops_counting():
    found = date(2026, 1, 1)
    f = F("ZG2", "general", found, finding_no="ZHE-F2026-000001")
    until = date(2027, 1, 2)          # 1 year: the last day it counts is 2027-01-01
    length = (until - found).days
    on_its_day = run([f], day=found)
    c = on_its_day.contributions[0]
    assert (c.source, c.code, c.ref, c.points, c.weight, c.counted) == (
        "finding", "ZG2", "ZHE-F2026-000001", Decimal(-10), Decimal(1), Decimal(-10))
    assert c.until == until and on_its_day.total == 90 and on_its_day.grade == "A"
    halfway = found + timedelta(days=length // 2)
    half = run([f], day=halfway).contributions[0]
    assert half.counted == Decimal("-5.0") and half.weight == Decimal("0.5")
    last = run([f], day=until - timedelta(days=1))
    assert last.contributions[0].weight == (Decimal(1) / length).quantize(Decimal("0.0001"))
    assert run([f], day=until).contributions == () and run([f], day=until).total == 100
    assert run([f], day=found - timedelta(days=1)).total == 100      # not yet made


def test_serious_findings_count_for_three_years_and_withdrawn_or_annulled_ones_never():
    found = date(2026, 6, 1)
    serious = F("ZS9", "serious", found)
    assert run([serious], day=found).total == 60 and run([serious], day=found).grade == "C"
    assert run([serious], day=date(2029, 6, 1)).contributions            # last day of 3 years
    assert run([serious], day=date(2029, 6, 2)).contributions == ()
    for status in ("withdrawn", "annulled"):
        assert run([F("ZS9", "serious", found, status)], day=found).total == 100


def test_a_code_override_beats_its_grades_points_and_the_floor_holds():
    model = dataclasses.replace(MODEL, behaviour_points={"ZS9": Decimal(-55)})
    assert run([F("ZS9", "serious", DAY)], model=model).total == 45
    assert run([F("ZS1", "serious", DAY)], model=model).total == 60
    many = [F(f"ZS{i}", "serious", DAY) for i in range(1, 6)]
    assert run(many).total == 0 and run(many).grade == "D"                # floor 0
    capped = dataclasses.replace(MODEL, ceiling=Decimal(105))
    entry = E(["R1", "R2", "R3", "R4", "R6", "R7"], date(2026, 1, 5))
    assert run(entries=[entry]).total == 112 and run(entries=[entry], model=capped).total == 105


def test_red_list_criteria_count_while_the_admission_is_current_each_once():
    entry = E(["R1", "R4"], date(2026, 1, 5), public_id="G-ABC")
    result = run(entries=[entry])
    assert result.total == 104
    assert [(c.source, c.code, c.ref, c.counted) for c in result.contributions] == [
        ("red_list", "R1", "G-ABC", Decimal(2)), ("red_list", "R4", "G-ABC", Decimal(2))]
    assert run(entries=[E(["R1"], date(2026, 1, 5), removed_on=DAY)]).total == 100
    assert run(entries=[E(["R1"], date(2026, 1, 5), valid_until=DAY)]).total == 102
    assert run(entries=[E(["R1"], date(2026, 1, 5), valid_until=DAY - timedelta(1))]).total == 100
    assert run(entries=[E(["R1"], DAY + timedelta(1))]).total == 100     # admitted later
    twice = [E(["R1", "R2"], date(2026, 1, 5)), E(["R1"], date(2026, 2, 5))]
    assert run(entries=twice).total == 104


def test_complaint_outcomes_count_and_fade_with_their_finding():
    found = date(2026, 1, 1)
    verified = cs.ComplaintOutcome("ZHE-C-1", "verified", found, "heavy")
    behaviour = F("ZH5", "heavy", found)
    on_day = run([behaviour], complaints=[verified], day=found)
    assert on_day.total == 75 and on_day.grade == "B"
    assert on_day.by_source() == {"finding": Decimal(-20), "complaint": Decimal(-5),
                                  "red_list": Decimal(0)}
    later = run([behaviour], complaints=[verified], day=date(2026, 7, 2))
    assert later.by_source()["complaint"] == Decimal("-2.5")
    false = cs.ComplaintOutcome("ZHE-C-2", "found_false", found, "serious")
    assert run(complaints=[false], day=found).total == 90
    withdrawn = dataclasses.replace(verified, status="withdrawn")
    assert run(complaints=[withdrawn], day=found).total == 100


def test_without_decay_a_finding_counts_in_full_while_it_counts():
    model = dataclasses.replace(MODEL, decay="none")
    f = F("ZG1", "general", date(2026, 1, 1))
    assert run([f], day=date(2026, 12, 31), model=model).total == 90
    assert run([f], day=date(2027, 1, 2), model=model).total == 100


def test_the_table_given_grades_the_total_and_a_total_below_every_band_gets_the_lowest():
    table = bands(("优", 95), ("良", 80), ("差", 50))
    assert run(table=table).grade == "优"
    f = F("ZG1", "general", DAY)
    assert run([f], table=table).grade == "良"
    assert cs.grade_for(Decimal(80), table) == "良" and cs.grade_for(Decimal("79.9"), table) == "差"
    assert cs.grade_for(Decimal(-3), table) == "差"
    assert cs.grade_for(Decimal(90), MODEL.provisional_table) == "A"
    assert cs.grade_for(Decimal("89.9"), MODEL.provisional_table) == "B"


def test_distribution_counts_totals_per_band_highest_first():
    totals = [Decimal(x) for x in (100, 95, 90, 89, 60, 10, -5)]
    assert list(cs.distribution(totals, MODEL.provisional_table).items()) == [
        ("A", 3), ("B", 1), ("C", 1), ("D", 2)]
    assert cs.distribution([], bands(("X", 10), ("Y", 0))) == {"X": 0, "Y": 0}


@pytest.mark.parametrize("table, problem", [
    (bands(("A", 90)), "too_few"),
    (bands(*[(str(i), i) for i in range(11)]), "too_many"),
    (bands(("A A", 90), ("B", 0)), "grade"),
    (bands(("", 90), ("B", 0)), "grade"),
    (bands(("ABCDEFGHIJK", 90), ("B", 0)), "grade"),
    (bands(("A\x01", 90), ("B", 0)), "grade"),
    (bands(("<b>", 90), ("B", 0)), "grade"),
    (bands(("A", 90), ("A", 0)), "duplicate_grade"),
    (bands(("A", 90), ("B", 90)), "duplicate_score"),
    (bands(("A", 1001), ("B", 0)), "score"),
    ((ScoreBand("A", Decimal("NaN")), ScoreBand("B", Decimal(0))), "score"),
    (bands(("A", 90), ("B", 0)), None),
])
def test_band_problems(table, problem):
    assert cs.band_problem(table) == problem


def _variant(tmp_path, old: str, new: str):
    path = tmp_path / "zhengzhou.toml"
    text = (PROFILE_DIR / "zhengzhou.toml").read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return parse_profile(path)


@pytest.mark.parametrize("old, new, message", [
    ("behaviour_points = {}", 'behaviour_points = { ZX99 = -3 }', "not a behaviour"),
    ("R7 = 2 }", "R9 = 2 }", "not a red-list criterion"),
    ("found_false = -10 }", "found_false = -10, ignored = 1 }", "not one of"),
    ("grade_points = { general = -10, heavy = -20, serious = -40 }",
     "grade_points = { general = -10, serious = -40 }", "no points for grade 'heavy'"),
    ('decay = "linear"', 'decay = "fast"', "not one of"),
    ('{ grade = "D", min_score = 0 },', '{ grade = "D", min_score = 90 },', "duplicate_score"),
    ("base = 100", 'base = "100"', "expected a number"),
])
def test_a_malformed_score_section_is_refused_naming_the_key(tmp_path, old, new, message):
    from portal.rules.profiles import ProfileError

    with pytest.raises(ProfileError, match=message):
        _variant(tmp_path, old, new)


def test_a_code_override_in_the_profile_is_read(tmp_path):
    p = _variant(tmp_path, "behaviour_points = {}", "behaviour_points = { ZS2 = -60, ZP5 = -50 }")
    assert p.score.behaviour_points == {"ZS2": Decimal(-60), "ZP5": Decimal(-50)}
