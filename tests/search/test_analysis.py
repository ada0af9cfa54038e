"""search_index.analysis and .highlight on their own (no index)."""

import logging

import jieba
import pytest

from search_index import analysis as an
from search_index import queryplan as qp
from search_index.highlight import highlight_name, highlight_snippet


def test_normalize_folds_full_width_and_case():
    assert an.normalize("ＭＡ１Ｂ（有限合伙）") == "ma1b(有限合伙)"
    assert an.normalize(None) == ""


@pytest.mark.parametrize(
    "name, core, suffix",
    [
        ("佳木斯市恒达建筑工程有限公司", "佳木斯市恒达建筑工程", "有限公司"),
        ("佳木斯恒远商贸有限责任公司", "佳木斯恒远商贸", "有限责任公司"),
        ("黑龙江龙江建设集团股份有限公司", "黑龙江龙江建设集团", "股份有限公司"),
        ("哈尔滨恒达建筑工程有限公司佳木斯分公司", "哈尔滨恒达建筑工程有限公司佳木斯", "分公司"),
        ("佳木斯市瑞丰投资合伙企业(有限合伙)", "佳木斯市瑞丰投资", "合伙企业(有限合伙)"),
        ("桦南县鑫盛农机农民专业合作社", "桦南县鑫盛农机", "农民专业合作社"),
        ("佳木斯市郊区永兴砖厂", "佳木斯市郊区永兴砖厂", ""),  # 厂 is not a legal form
        ("佳木斯东方医院", "佳木斯东方医院", ""),
        ("有限公司", "", "有限公司"),
    ],
)
def test_strip_legal_suffix(name, core, suffix):
    assert an.strip_legal_suffix(an.normalize(name)) == (core, suffix)


def test_legal_form_list_is_longest_first():
    lengths = [len(s) for s in an.LEGAL_FORM_SUFFIXES]
    assert lengths == sorted(lengths, reverse=True)
    assert "集团" not in an.LEGAL_FORM_SUFFIXES and "厂" not in an.LEGAL_FORM_SUFFIXES


@pytest.mark.parametrize(
    "q, expected",
    [
        ("91230800MA1B2C3D4E", "91230800MA1B2C3D4E"),
        (" 9123 0800 ma1b2c3d4e ", "91230800MA1B2C3D4E"),
        ("ＭＡ１Ｂ２Ｃ３Ｄ－４", "MA1B2C3D4"),
        ("MA1B2C3D-4", "MA1B2C3D4"),
        ("12345678-9", "123456789"),
        ("230800000012345", "230800000012345"),
        ("hengdajianzhu", None),
        ("jiamusishi", None),
        ("hengdaxin", None),  # 9 letters, no digit: pinyin, not an org code
        ("2308**********1234", None),  # masked person ID
        ("恒达", None),
        ("", None),
        ("9123080", None),
    ],
)
def test_identifier_of(q, expected):
    assert an.identifier_of(q) == expected


def test_code_tokens_normalise_and_derive_org_code():
    toks = an.code_tokens(["91230800MA1B2C3D4E", "ma1b2c3d-4", "2308**********1234", None, ""])
    assert toks == ["91230800MA1B2C3D4E", "MA1B2C3D4", "2308**********1234"]


def test_analyze_name_tokens():
    nt = an.analyze_name("佳木斯市恒达建筑工程有限公司")
    assert nt.core == "佳木斯市恒达建筑工程"
    for bigram in ("恒达", "建筑", "佳木", "公司"):
        assert bigram in nt.name
    assert "佳木斯市" in nt.name  # jieba search-mode word
    assert "恒达" in nt.core_tokens and "公司" not in nt.core_tokens
    assert nt.py1[:6] == ["jia", "mu", "si", "shi", "heng", "da"]
    assert "heng_da" in nt.py2
    assert {"jms", "hd", "jmss"} <= set(nt.pyi)
    assert "hengda" in nt.pyw
    assert "jiamusishihengdajianzhugongchengyouxiangongsi" in nt.pyw


def test_analyze_name_mixed_script_and_single_chars():
    nt = an.analyze_name("王*明 ABC科技")
    assert "王" in nt.name and "明" in nt.name  # isolated characters are kept
    assert "abc" in nt.name and "科技" in nt.name


def test_text_tokens_are_bigrams_and_ascii_words():
    assert an.text_tokens("伪造ABC合同") == ["伪造", "abc", "合同"]
    assert an.text_tokens("") == []


def test_pinyin_segmentations():
    segs = qp.pinyin_segmentations("xian", partial_last=False)
    assert ["xian"] in segs and ["xi", "an"] in segs
    assert qp.pinyin_segmentations("hengd", partial_last=True)[0] == ["heng", "d"]
    assert qp.pinyin_segmentations("hengd", partial_last=False) == []
    assert qp.pinyin_segmentations("jms", partial_last=True) == []
    assert qp.pinyin_segmentations("lvyuan", partial_last=False)[0] == ["lv", "yuan"]


def test_analyze_query_legal_suffix_is_optional():
    plan = qp.analyze_query("恒达有限公司")
    (c,) = plan.clauses
    assert c.text == "恒达" and c.bigrams == ["恒达"]
    assert c.suffix == "有限公司" and c.suffix_bigrams == ["有限", "限公", "公司"]
    assert not c.optional


def test_analyze_query_bare_legal_form_is_required():
    (c,) = qp.analyze_query("有限公司").clauses
    assert c.text == "有限公司" and not c.optional
    plan = qp.analyze_query("恒达 公司")
    assert [cl.optional for cl in plan.clauses] == [False, True]


def test_analyze_query_relaxes_across_jieba_words():
    (c,) = qp.analyze_query("佳木斯恒达").clauses
    assert "斯恒" in c.bigrams
    assert "斯恒" not in c.relaxed and {"佳木", "木斯", "恒达"} <= set(c.relaxed)


def test_relaxed_bigrams_keep_single_character_words_attached():
    (c,) = qp.analyze_query("月飞农业").clauses
    assert c.relaxed == []  # 月|飞|农业: nothing may be dropped
    assert qp.pinyin_segmentations("fuxiang", partial_last=True)[0] == ["fu", "xiang"]


def test_analyze_query_identifier_and_words():
    assert qp.analyze_query("MA1B2C3D-4").identifier == "MA1B2C3D4"
    plan = qp.analyze_query("Hengda 2026")
    assert [c.text for c in plan.clauses] == ["hengda", "2026"]
    assert plan.clauses[0].prefix and plan.clauses[0].segmentations[0] == ["heng", "da"]
    assert plan.clauses[1].segmentations == []


@pytest.mark.parametrize("q", ["", "   ", "！？。、", "<>&*", None, "\x00\x01"])
def test_analyze_query_empty_like(q):
    assert qp.analyze_query(q).empty


def test_analyze_query_truncates_long_input():
    plan = qp.analyze_query("恒" * 1000)
    assert len(plan.text) == qp.MAX_QUERY_CHARS


def test_substring_distance():
    assert qp.substring_distance("恒达", "佳木斯市恒达建筑") == 0
    assert qp.substring_distance("恒大建筑", "佳木斯市恒达建筑") == 1
    assert qp.substring_distance(["heng", "da"], ["jia", "heng", "da"]) == 0
    assert qp.substring_distance("", "x") == 0


def test_warm_up_is_idempotent_and_quiet():
    an.warm_up()
    an.warm_up()
    assert (
        logging.getLogger("jieba").level >= logging.WARNING
        or jieba.default_logger.level >= logging.WARNING
    )


def test_highlight_escapes_and_marks():
    plan = qp.analyze_query("科技")
    out = highlight_name("佳木斯<script>alert(1)</script>网络科技有限公司", plan)
    assert "<script>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "<mark>科技</mark>" in out


def test_highlight_merges_adjacent_bigrams():
    out = highlight_name("佳木斯市恒达建筑工程有限公司", qp.analyze_query("恒达建筑"))
    assert out == "佳木斯市<mark>恒达建筑</mark>工程有限公司"


def test_highlight_pinyin_and_initials():
    name = "佳木斯市恒达建筑工程有限公司"
    assert (
        highlight_name(name, qp.analyze_query("hengda"))
        == "佳木斯市<mark>恒达</mark>建筑工程有限公司"
    )
    assert highlight_name(name, qp.analyze_query("jms")).startswith("<mark>佳木斯</mark>市")


def test_highlight_without_match_is_plain_escaped():
    assert highlight_name("A&B商行", qp.analyze_query("恒达")) == "A&amp;B商行"
    assert highlight_name("A&B商行", None) == "A&amp;B商行"


def test_snippet_window_and_ellipsis():
    facts = (
        "经查，" + "某" * 100 + "该单位以伪造劳动合同方式骗取失业保险金<b>共计</b>。" + "另" * 100
    )
    out = highlight_snippet(facts, qp.analyze_query("伪造"))
    assert out.startswith("…") and out.endswith("…")
    assert "<mark>伪造</mark>" in out
    assert "&lt;b&gt;" in out
    assert len(highlight_snippet("短文本", None)) == 3
