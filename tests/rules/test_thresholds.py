"""Ground thresholds as data (Jiamusi art. 5, Zhengzhou §四(三)2), checked by one pure rule."""
from decimal import Decimal

import pytest

from portal.rules.profiles import PROFILE_DIR, ProfileError, load_profile, parse_profile
from portal.rules.thresholds import Figures, shortfall

JM = load_profile("jiamusi")
ZZ = load_profile("zhengzhou")


def test_jiamusi_grounds_carry_the_thresholds_of_article_5():
    def limits(code):
        th = JM.ground(code).threshold
        return th.combine, {(lim.figure, lim.value, lim.inclusive) for lim in th.limits}

    assert limits("J2") == ("any", {("person_times", 20, False), ("amount", 20000, False)})
    assert limits("J3") == ("any", {("amount", 10000, False)})
    assert limits("J4") == ("any", {("months", 6, False), ("amount", 10000, False)})
    assert limits("J6") == ("any", {("amount", 100000, False)})
    assert limits("J7") == ("any", {("amount", 10000, False)})
    assert all(JM.ground(c).threshold is None for c in ("J1", "J5", "J8"))
    assert JM.ground("J3").threshold.alternative.zh == "虽未达到1万元但经责令退回仍拒不退回"
    for code in ("J2", "J3", "J4", "J6", "J7"):
        th = JM.ground(code).threshold
        assert th.source.startswith("000 art. 5(") and th.clause.zh.startswith("第五条第（")


def test_more_than_excludes_the_number_at_least_includes_it():
    j3 = JM.ground("J3")
    assert shortfall(j3, Figures(amount=Decimal("10000"))) is not None          # 超过1万元
    assert shortfall(j3, Figures(amount=Decimal("10000.01"))) is None
    zs2 = ZZ.ground("ZS2")
    assert shortfall(zs2, Figures(amount=Decimal("500000"), months=36)) is None   # 以上 includes


def test_any_one_limit_is_enough_or_all_are_needed():
    j2, j4, zs2 = JM.ground("J2"), JM.ground("J4"), ZZ.ground("ZS2")
    assert shortfall(j2, Figures(person_times=21)) is None
    assert shortfall(j2, Figures(amount=Decimal("20001"))) is None
    short = shortfall(j2, Figures(person_times=20, amount=Decimal("5000")))
    assert short is not None and short.missing == ()
    assert shortfall(j4, Figures(months=7)) is None
    assert shortfall(j4, Figures()).missing == ("amount", "months")
    assert shortfall(zs2, Figures(amount=Decimal("900000"), months=30)) is not None
    assert shortfall(zs2, Figures(amount=Decimal("900000"))).missing == ("months",)


def test_the_alternative_satisfies_only_a_ground_that_names_one():
    assert shortfall(JM.ground("J3"), Figures(amount=Decimal("5000"), alternative_met=True)) is None
    assert shortfall(JM.ground("J6"), Figures(amount=Decimal("5000"), alternative_met=True)) is not None
    assert shortfall(JM.ground("J1"), Figures()) is None                          # no threshold


@pytest.mark.parametrize("old, new, message", [
    ("amount_over = 10000\n", "amount_over = -1\n", "positive"),
    ("amount_over = 10000\n", "", "at least one limit"),
    ('combine = "any"\namount_over = 10000\n', 'combine = "some"\namount_over = 10000\n', "combine"),
    ("amount_over = 100000\n", "amount_over = 100000\namount_at_least = 5\n", "one lower and one upper"),
    ("months_over = 6\n", "months_over = 6.5\n", "whole number"),
])
def test_malformed_thresholds_are_refused(tmp_path, old, new, message):
    text = (PROFILE_DIR / "jiamusi.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "jiamusi.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(ProfileError, match=message):
        parse_profile(path)


def test_zhengzhou_arrears_by_years_are_thresholds_of_the_behaviours():
    """004 §四: 1年以内 = 一般, 2年以上3年以下 = 较重, 3年以上且50万元以上 = 严重 (以上/以下/以内
    include the number)."""
    from portal.rules.grades import catalogue_item
    from portal.rules.thresholds import least_figures

    zg2, zh2, zs2 = (catalogue_item(ZZ, "organisation", c) for c in ("ZG2", "ZH2", "ZS2"))
    assert shortfall(zg2, Figures(months=12)) is None
    assert shortfall(zg2, Figures(months=13)) is not None
    assert shortfall(zh2, Figures(months=24)) is None and shortfall(zh2, Figures(months=36)) is None
    assert shortfall(zh2, Figures(months=18)) is not None and shortfall(zh2, Figures(months=37)) is not None
    assert shortfall(zh2, Figures()).missing == ("months",)
    assert shortfall(zs2, Figures(months=36, amount=Decimal("500000"))) is None
    for item in (zg2, zh2, zs2, JM.ground("J2"), JM.ground("J3")):
        assert shortfall(item, least_figures(item.threshold)) is None
