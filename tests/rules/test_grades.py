"""Credit grades from findings, and red-list eligibility (Zhengzhou §一, §三, §四): no app."""
import dataclasses
import datetime as dt

import pytest

from portal.rules import grades
from portal.rules.profiles import load_profile

ZZ = load_profile("zhengzhou")


@dataclasses.dataclass
class F:
    grade: str
    found_on: dt.date
    status: str = "live"


D = dt.date(2026, 3, 16)


def test_no_findings_no_grade():
    assert grades.standing([], D, ZZ) == grades.Standing(None, (), None)


def test_worst_live_finding_decides():
    findings = [F("general", D), F("heavy", D - dt.timedelta(days=10)), F("general", D)]
    s = grades.standing(findings, D, ZZ)
    assert s.grade == "heavy" and len(s.counting) == 3
    assert s.counting[0].grade == "heavy"


def test_withdrawn_and_annulled_findings_do_not_count():
    findings = [F("serious", D, "withdrawn"), F("serious", D, "annulled"), F("general", D)]
    assert grades.standing(findings, D, ZZ).grade == "general"
    assert grades.standing(findings[:2], D, ZZ).grade is None


def test_a_finding_counts_for_its_grades_period_from_the_profile():
    periods = ZZ.grading.finding_periods
    assert (periods["general"].amount, periods["general"].unit) == (1, "years")
    assert (periods["serious"].amount, periods["serious"].unit) == (3, "years")
    general = F("general", D)
    # ends on the same date a year later; the next day it no longer counts
    assert grades.counts_on(general, dt.date(2027, 3, 16), ZZ)
    assert not grades.counts_on(general, dt.date(2027, 3, 17), ZZ)
    assert grades.standing([general], dt.date(2027, 3, 16), ZZ).until == dt.date(2027, 3, 17)
    serious = F("serious", D)
    assert grades.counts_on(serious, dt.date(2029, 3, 16), ZZ)
    assert not grades.counts_on(serious, dt.date(2029, 3, 17), ZZ)


def test_a_finding_dated_later_does_not_count_yet():
    assert grades.standing([F("serious", D)], D - dt.timedelta(days=1), ZZ).grade is None


def test_grade_drops_when_the_worst_finding_expires():
    findings = [F("heavy", dt.date(2025, 1, 10)), F("general", dt.date(2025, 12, 1))]
    assert grades.standing(findings, dt.date(2026, 1, 10), ZZ).grade == "heavy"
    assert grades.standing(findings, dt.date(2026, 1, 11), ZZ).grade == "general"
    assert grades.standing(findings, dt.date(2026, 12, 2), ZZ).grade is None


def test_catalogue_for_units_and_persons():
    units = grades.catalogue(ZZ, "organisation")
    assert len(units) == 42 and {i.subject for i in units} == {"employer", "medical_institution"}
    persons = grades.catalogue(ZZ, "person")
    assert [i.code for i in persons] == ["ZP1", "ZP2", "ZP3", "ZP4", "ZP5"]
    assert all(i.grade == "serious" for i in persons)
    assert grades.catalogue_item(ZZ, "person", "ZS1") is None
    assert grades.catalogue_item(ZZ, "organisation", "ZG2").grade == "general"


def test_only_serious_behaviours_have_a_listing_ground():
    assert grades.serious_ground(ZZ, "ZS9", "organisation").code == "ZS9"
    assert grades.serious_ground(ZZ, "ZS9", "person") is None
    assert grades.serious_ground(ZZ, "ZH1", "organisation") is None
    assert grades.serious_ground(ZZ, "ZP5", "person").code == ZZ.grading.false_complaint_ground
    assert grades.leads_to_blacklist(ZZ, "serious") and not grades.leads_to_blacklist(ZZ, "heavy")


def test_score_table_is_left_to_the_bureau():
    """The seed gives no numbers: the profile's table is a provisional bureau setting."""
    assert "no numbers" in ZZ.sources["score_grades"]
    assert ZZ.score.table_source.startswith("bureau setting (provisional")


def test_criterion_five_applies_only_to_medical_institutions():
    employer = [c.code for c in grades.applicable_criteria(ZZ, "employer")]
    medical = [c.code for c in grades.applicable_criteria(ZZ, "medical_institution")]
    assert employer == ["R1", "R2", "R3", "R4", "R6", "R7"]
    assert medical == ["R1", "R2", "R3", "R4", "R5", "R6", "R7"]
    assert grades.missing_criteria(ZZ, "employer", employer) == ()
    assert grades.missing_criteria(ZZ, "medical_institution", employer) == ("R5",)
    assert grades.missing_criteria(ZZ, "employer", ["R1"]) == ("R2", "R3", "R4", "R6", "R7")


def test_red_list_obstacles():
    assert grades.red_list_obstacles(listed=False, open_case=False, live_finding=False) == ()
    assert grades.red_list_obstacles(listed=True, open_case=True, live_finding=True,
                                     missing=("R2",)) == ("listed", "open_case", "live_finding",
                                                          "criteria")


def test_red_list_has_no_end_date_without_a_profile_setting():
    assert ZZ.grading.red_list_validity is None
    assert grades.red_list_valid_until(ZZ, D) is None


@pytest.mark.parametrize("code", ["jiamusi", "chizhou", "shanghai", "fuzhou", "national"])
def test_other_profiles_have_no_grading(code):
    profile = load_profile(code)
    assert not grades.grading_enabled(profile)


def test_each_behaviour_names_the_kinds_of_unit_it_applies_to():
    units = {b.code: b.units for b in ZZ.behaviours}
    everyone = {"employer", "medical_institution", "pharmacy"}
    assert units["ZG2"] == units["ZH2"] == units["ZS2"] == everyone        # arrears: any unit
    assert units["ZS9"] == {"medical_institution"}                          # 分解项目、串换项目收费
    assert units["ZH5"] == {"medical_institution"}                          # 挂床住院
    assert units["ZS21"] == {"medical_institution", "pharmacy"}             # 虚构购药事实
    item = grades.catalogue_item(ZZ, "organisation", "ZS9")
    assert not grades.fits(item, "organisation", "employer")
    assert not grades.fits(item, "organisation", None)                      # not stated: an employer
    assert grades.fits(item, "organisation", "medical_institution")
    zp = grades.catalogue_item(ZZ, "person", "ZP1")
    assert grades.fits(zp, "person", None) and not grades.fits(zp, "organisation", "employer")
