"""Scoring of names for batch screening (pure: no app, no database)."""
import pytest

from portal.rules import legal_forms, name_match, regions
from portal.rules.name_match import prepare, score


def _score(query, listed, person=False):
    return score(prepare(query), prepare(listed, person=person))


def test_normalising_folds_width_case_traditional_and_punctuation():
    text, marks = name_match.clean("  恆達（佳木斯）Ａ.Ｂ 有限公司 ")
    assert text == "恒达(佳木斯)ab有限公司"
    assert marks == {"full_width", "traditional", "punctuation"}
    assert name_match.clean("恒达")[1] == frozenset()


@pytest.mark.parametrize("name, core, form", [
    ("恒达建筑有限公司", "恒达建筑", "有限公司"),
    ("恒达建筑有限责任公司", "恒达建筑", "有限责任公司"),
    ("恒达建筑股份有限公司", "恒达建筑", "股份有限公司"),
    ("恒达控股集团有限公司", "恒达", "控股集团有限公司"),
    ("鸿运劳务合伙企业(普通合伙)", "鸿运劳务", "合伙企业(普通合伙)"),
    ("王记五金个体工商户", "王记五金", "个体工商户"),
    ("有限公司", "有限公司", ""),                      # never the whole name
])
def test_the_legal_form_is_set_aside(name, core, form):
    assert name_match.split_form(name) == (core, form)


def test_the_forms_are_data():
    assert {"有限公司", "有限责任公司", "股份有限公司", "分公司", "(普通合伙)", "个体工商户"} <= set(legal_forms.LEGAL_FORMS)
    assert "集团" in legal_forms.GROUP_WORDS


def test_the_place_prefix_is_found_in_short_or_full_form():
    assert regions.split_place("黑龙江省佳木斯市恒达建筑") == ("黑龙江省佳木斯市", "恒达建筑")
    assert regions.split_place("佳木斯兴隆建筑") == ("佳木斯", "兴隆建筑")   # 兴隆 the trade name here
    assert regions.split_place("北京市") == ("", "北京市")
    assert regions.short_place("黑龙江省佳木斯市") == "黑龙江佳木斯"
    name = prepare("恒达建筑（佳木斯）有限公司")
    assert (name.place, name.rest, name.core) == ("佳木斯", "恒达建筑", "佳木斯恒达建筑")


def test_the_same_name_in_other_spellings_scores_one():
    assert _score("佳木斯市恒达建筑工程有限公司", "佳木斯市恒达建筑工程有限公司") == (1.0, ("same_name",))
    assert _score("佳木斯市恆達建築工程有限公司", "佳木斯市恒达建筑工程有限公司") == \
        (1.0, ("same_name", "traditional"))
    assert _score("恒达建筑工程（佳木斯）有限公司", "佳木斯市恒达建筑工程有限公司") == \
        (1.0, ("full_width", "punctuation"))
    assert _score("佳木斯 恒达 建筑工程 有限公司", "佳木斯市恒达建筑工程有限公司")[0] == 1.0


def test_another_legal_form_costs_a_little():
    value, reasons = _score("佳木斯恒达建筑有限责任公司", "佳木斯恒达建筑有限公司")
    assert value == name_match.FORM_DIFFERS and reasons == ("legal_form_stripped",)
    assert _score("佳木斯恒达建筑", "佳木斯恒达建筑有限公司")[0] == name_match.FORM_MISSING


@pytest.mark.parametrize("query", [
    "jiamusi hengda jianzhu gongcheng youxian gongsi",
    "jiamusihengdajianzhugongcheng",
    "Jiāmùsī Héngdá Jiànzhù Gōngchéng",
    "JIA2MU4SI1 HENG2DA2 JIAN4ZHU4 GONG1CHENG2",
])
def test_a_name_typed_in_pinyin_matches(query):
    value, reasons = _score(query, "佳木斯市恒达建筑工程有限公司")
    assert value >= name_match.FORM_MISSING and "pinyin" in reasons and "typo" not in reasons


def test_pinyin_reads_words_and_umlauts():
    assert name_match.pinyin_key("重庆") == "chongqing"          # jieba words: not zhongqing
    assert name_match.pinyin_key("吕") == name_match.pinyin_text("lü") == name_match.pinyin_text("lv")


def test_a_place_left_out_still_matches_but_another_city_does_not():
    assert _score("华兴建筑有限公司", "北京华兴建筑有限公司") == (name_match.PLACE_OMITTED, ("place_omitted",))
    assert _score("北京华兴建筑有限公司", "上海华兴建筑有限公司")[0] < 0.8
    assert _score("黑龙江省佳木斯市恒达建筑有限公司", "佳木斯恒达建筑有限公司")[0] == name_match.PLACE_OMITTED


def test_a_slip_in_a_long_name_matches_another_trade_name_does_not():
    value, reasons = _score("佳木斯市恒达建筑工城有限公司", "佳木斯市恒达建筑工程有限公司")
    assert 0.85 < value < 1.0 and reasons == ("typo", "homophone")
    value, reasons = _score("北京华星建筑有限公司", "北京华兴建筑有限公司")
    assert value < 0.8 and "other_trade_name" in reasons and "homophone" in reasons
    assert _score("佳木斯宏运劳务派遣有限公司", "佳木斯宏达劳务派遣有限公司")[0] < 0.85


def test_words_in_another_order():
    assert _score("恒达建筑工程佳木斯有限公司", "佳木斯市恒达建筑工程有限公司") == \
        (name_match.WORD_ORDER, ("word_order",))


def test_persons_match_on_the_whole_name_only():
    assert _score("张伟", "张伟", person=True) == (1.0, ("same_name",))
    assert _score("zhang wei", "张伟", person=True) == (1.0, ("pinyin",))
    assert _score("张炜", "张伟", person=True)[0] < 0.5
    assert _score("欧阳娜", "欧阳娜娜", person=True)[0] < 0.8


def test_scores_are_bounded_and_empty_names_score_nothing():
    for query, listed in [("", "恒达"), ("恒达", ""), ("!!!", "恒达"), ("a", "b"), ("\ud800恒达", "恒达"),
                          ("\x00\x1f", "恒达"), ("𠀀𠀁公司", "恒达"), ("ⅷ", "恒达"), ("恒" * 300, "恒达")]:
        value, _reasons = _score(query, listed)
        assert 0.0 <= value <= 1.0
    assert _score("", "恒达")[0] == 0.0
    assert _score("\ud800佳木斯恒达建筑", "佳木斯恒达建筑") == (1.0, ("same_name",))
    assert set(name_match.REASONS) >= {"exact_code", "same_name", "legal_form_stripped", "traditional",
                                       "pinyin", "former_name", "typo"}
