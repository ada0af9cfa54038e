"""Profiles: the law as data (SPEC §3), one file per seed plus the national default."""
from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest

from portal.rules.profiles import (
    DEADLINE_KEYS,
    PROFILE_DIR,
    SOURCE_PATTERN,
    Period,
    Profile,
    ProfileError,
    Text,
    UnknownGround,
    UnknownProfile,
    available_profiles,
    load_profile,
    parse_profile,
)
from portal.rules.terms import profile_warning

CODES = ("chizhou", "fuzhou", "jiamusi", "national", "shanghai", "zhengzhou")
SEEDS = {"jiamusi": "000", "chizhou": "001", "shanghai": "002", "fuzhou": "003", "zhengzhou": "004",
         "national": None}
# a source names a seed (with a location), the national overlay, a statute, the SPEC default or a bureau setting
LAW_SOURCE = re.compile(r"^(00[0-4] (art\.|§)|national: |law: |SPEC §\d|bureau setting)")


@pytest.fixture(params=CODES)
def profile(request) -> Profile:
    return load_profile(request.param)


def _texts(p: Profile):
    yield p.name
    yield p.authority
    yield p.document
    for g in p.grounds:
        yield g.text
        yield g.legal_basis
    for m in p.measures:
        yield m.text
        yield m.implementing_units
        yield m.legal_basis
    yield from p.channels
    yield from p.removal_channels
    yield from p.sharing_platforms
    for c in p.red_list_criteria:
        yield c.text
    yield from p.red_list_incentives
    for b in p.behaviours:
        yield b.text
    yield from p.repair.conditions
    yield from p.interpretations
    if p.report:
        yield from p.report.fields


# -- loading -----------------------------------------------------------------

def test_available_profiles_lists_all_six():
    assert available_profiles() == CODES


def test_every_profile_loads_and_is_cached(profile):
    assert profile.code in CODES
    assert load_profile(profile.code) is profile
    assert profile.seed == SEEDS[profile.code]
    assert hash(profile) == hash(load_profile(profile.code))


def test_unknown_profile():
    with pytest.raises(UnknownProfile):
        load_profile("atlantis")
    with pytest.raises(UnknownProfile):
        load_profile("../jiamusi")
    assert issubclass(UnknownProfile, KeyError)


def test_unknown_ground(profile):
    with pytest.raises(UnknownGround):
        profile.ground("NOPE")
    assert issubclass(UnknownGround, KeyError)


def test_profile_is_frozen(profile):
    with pytest.raises(dataclasses.FrozenInstanceError):
        profile.code = "x"  # type: ignore[misc]
    with pytest.raises(TypeError):
        profile.deadlines["publication"] = Period(1, "days", "x")  # type: ignore[index]


# -- sources and texts -----------------------------------------------------------

def test_every_deadline_key_present_with_a_source(profile):
    assert set(profile.deadlines) == set(DEADLINE_KEYS)
    for name in DEADLINE_KEYS:
        period = profile.deadline(name)
        assert LAW_SOURCE.match(period.source), (profile.code, name, period.source)


def test_every_ground_has_sources_for_itself_and_its_term(profile):
    for g in profile.grounds:
        assert LAW_SOURCE.match(g.source), (profile.code, g.code)
        assert LAW_SOURCE.match(g.term.source), (profile.code, g.code)
        if profile.seed:
            # the ground itself comes from the seed, not from a default
            assert g.source.startswith(profile.seed), (profile.code, g.code, g.source)


def test_every_measure_criterion_behaviour_has_a_source(profile):
    for item in (*profile.measures, *profile.red_list_criteria, *profile.behaviours):
        assert LAW_SOURCE.match(item.source), (profile.code, item.code, item.source)


def test_repair_repeat_report_sources(profile):
    assert SOURCE_PATTERN.match(profile.repair.source)
    assert SOURCE_PATTERN.match(profile.repair.check.source)
    assert SOURCE_PATTERN.match(profile.repeat.source)
    for p in profile.repair.min_period.values():
        assert p.source.startswith("national: ")
    if profile.report:
        assert SOURCE_PATTERN.match(profile.report.source)
        assert profile.report.fields_source is None or SOURCE_PATTERN.match(profile.report.fields_source)
    assert "supplement_pauses_clock" in profile.sources


def test_the_profile_lending_its_report_fields_has_them_with_a_citation():
    from portal.rules.profiles import REPORT_FIELDS_PROFILE
    report = load_profile(REPORT_FIELDS_PROFILE).report
    assert len(report.fields) == 8 and report.fields[0].zh == "失信信息产生的事由"
    assert SOURCE_PATTERN.match(report.fields_source)


def test_sources_never_cite_articles_of_a_seed_that_does_not_exist(profile):
    for g in profile.grounds:
        for src in (g.source, g.term.source):
            for seed in re.findall(r"\b(00\d) ", src):
                assert seed in {"000", "001", "002", "003", "004"}


def test_every_text_is_bilingual(profile):
    for t in _texts(profile):
        assert isinstance(t, Text)
        assert t.zh.strip() and t.en.strip()
        assert re.search(r"[\u4e00-\u9fff]", t.zh), t.zh
        assert t.get("en") == t.en and t.get("en_GB") == t.en
        assert t.get("zh_CN") == t.zh and t.get(None) == t.zh


def test_ground_invariants(profile):
    for g in profile.grounds:
        assert g.severity in ("light", "general", "heavy", "serious")
        assert g.subject_kinds and g.subject_kinds <= {"organisation", "person"}
        if g.public:
            assert g.severity in profile.public_severities
        assert g.term.unit in ("days", "months", "years")


def test_standard_settings_of_every_profile(profile):
    d = profile.deadlines
    assert (d["objection_marker"].amount, d["objection_marker"].unit) == (1, "working_days")
    assert (d["reconsideration"].amount, d["reconsideration"].unit) == (60, "days")
    assert (d["litigation"].amount, d["litigation"].unit) == (6, "months")
    assert "行政诉讼法" in d["litigation"].source and "art. 46" in d["litigation"].source
    assert "行政复议法" in d["reconsideration"].source
    assert (d["supplement_reply"].amount, d["supplement_reply"].unit) == (10, "working_days")
    assert d["supplement_reply"].source.startswith("bureau setting")
    assert (d["complaint_decision"].amount, d["complaint_decision"].unit) == (15, "working_days")
    assert d["complaint_decision"].source.startswith("bureau setting")
    assert "silent" in d["complaint_decision"].source
    assert profile.supplement_pauses_clock is True
    assert (d["defence_window"].amount, d["defence_window"].unit) == (5, "working_days")
    assert d["defence_window"].source.startswith("SPEC §4.2")


# -- Jiamusi (000) ---------------------------------------------------------------

def test_jiamusi_grounds_terms_and_thresholds():
    p = load_profile("jiamusi")
    assert [g.code for g in p.grounds] == [f"J{i}" for i in range(1, 9)]
    one_year = {"J1", "J4", "J6", "J7"}
    for g in p.grounds:
        expected = 1 if g.code in one_year else 3
        assert (g.term.amount, g.term.unit) == (expected, "years"), g.code
        assert g.term.source == ("000 art. 10 ¶1" if g.code in one_year else "000 art. 10 ¶2")
        assert g.rectifiable is (g.code in one_year)
        assert g.severity == "serious" and g.public
    assert "20人次" in p.ground("J2").text.zh and "2万元" in p.ground("J2").text.zh
    assert "1万元" in p.ground("J3").text.zh and "拒不退回" in p.ground("J3").text.zh
    assert "6个月" in p.ground("J4").text.zh and "1万元" in p.ground("J4").text.zh
    assert "10万元" in p.ground("J6").text.zh
    assert "1万元" in p.ground("J7").text.zh
    assert p.ground("J1").subject_kinds == {"organisation"}


def test_jiamusi_deadlines_repeat_repair():
    p = load_profile("jiamusi")
    assert (p.deadline("publication").amount, p.deadline("publication").source) == (7, "000 art. 8")
    assert (p.deadline("sharing").amount, p.deadline("sharing").source) == (7, "000 art. 9")
    assert (p.deadline("rectification_window").amount, p.deadline("rectification_window").unit) == (3, "months")
    assert p.deadline("rectification_check").amount == 30
    assert p.deadline("repair_check").amount == 60
    assert p.deadline("repair_check").source == "000 art. 12"
    assert p.repeat.term == Period(3, "years", "000 art. 10 ¶2")
    assert p.repair.allowed and p.repair.commitment_required
    assert p.repair.opens_after_rectification_window
    assert not p.national_overlay and not p.repair.min_period
    assert any("信用中国" in c.zh for c in p.channels)
    assert {"“信用黑龙江”", "“信用佳木斯”"} <= {c.zh for c in p.removal_channels}
    assert len(p.measures) == 1 and "合作备忘录" in p.measures[0].text.zh
    assert p.report is None and not p.red_list_criteria


# -- Chizhou (001) ---------------------------------------------------------------

def test_chizhou():
    p = load_profile("chizhou")
    assert [g.code for g in p.grounds] == [f"C{i}" for i in range(1, 8)]
    for g in p.grounds:
        expected = 3 if g.code in {"C4", "C5", "C6"} else 1
        assert (g.term.amount, g.term.unit) == (expected, "years")
        assert g.rectifiable is False
    assert p.repair.commitment_required is True
    assert "100%" in p.repair.source
    assert [m.code for m in p.measures] == ["CM1", "CM2", "CM3"]
    assert all(m.source.startswith("001 §二(二)3") for m in p.measures)
    assert p.deadline("publication").amount == 7 and p.deadline("sharing").amount == 7
    assert p.deadline("publication").source.startswith("001 §二(二)2")
    r = p.report
    assert r.frequency == "monthly"
    assert (r.due.amount, r.due.unit, r.due.source) == (7, "working_days", "001 §二(二)5")
    assert (r.forward_due.amount, r.forward_due.unit) == (3, "days")
    assert p.repeat.term is None and not p.national_overlay


# -- Shanghai (002) --------------------------------------------------------------

def test_shanghai_kinds_measures_objection():
    p = load_profile("shanghai")
    assert len(p.grounds) == 9
    general = [g for g in p.grounds if g.severity == "general"]
    serious = [g for g in p.grounds if g.severity == "serious"]
    assert len(general) == 6 and all(g.source.startswith("002 art. 5") for g in general)
    assert len(serious) == 3 and all(g.source.startswith("002 art. 6") for g in serious)
    assert all((g.term.amount, g.term.unit) == (1, "years") for g in general)
    assert all((g.term.amount, g.term.unit) == (3, "years") for g in serious)
    assert all(g.term.source.startswith("national: ") and "002 gives no term" in g.term.source
               for g in p.grounds)
    assert p.national_overlay
    assert (p.deadline("objection_decision").amount, p.deadline("objection_decision").source[:10]) == \
        (5, "002 art. 9")
    assert [m.code for m in p.measures[:5]] == ["SM1", "SM2", "SM3", "SM4", "SM5"]
    assert p.measures[5].severities == {"serious"}
    assert p.repair.certificate and "002 art. 10" in p.repair.source
    assert p.report.frequency == "monthly" and p.report.due is None
    zh_fields = [f.zh for f in p.report.fields]
    assert any("事由" in f for f in zh_fields) and any("文书编号" in f for f in zh_fields)
    assert any("法定代表人" in f for f in zh_fields)


def test_shanghai_validity_and_warning():
    p = load_profile("shanghai")
    assert (p.valid_from, p.valid_until) == (date(2018, 8, 1), date(2023, 7, 31))
    assert p.is_in_force(date(2018, 8, 1)) and p.is_in_force(date(2023, 7, 31))
    assert not p.is_in_force(date(2023, 8, 1)) and not p.is_in_force(date(2018, 7, 31))
    assert profile_warning(p, date(2020, 1, 1)) is None
    assert profile_warning(p, date(2023, 7, 31)) is None
    assert profile_warning(p, date(2023, 8, 1)) == "expired"
    assert profile_warning(p, date(2026, 3, 15)) == "expired"
    assert profile_warning(p, date(2018, 7, 31)) == "not_yet_in_force"
    assert profile_warning(load_profile("jiamusi"), date(2026, 3, 15)) is None


# -- Fuzhou (003) ----------------------------------------------------------------

def test_fuzhou_measures_name_the_kinds_of_subject_they_apply_to():
    """003 §三: measures against 'dishonest enterprises' are not imposed on natural persons;
    (一) and (十四) concern individuals only."""
    p = load_profile("fuzhou")
    for_persons = {m.code for m in p.measures_for("serious", "person")}
    for_units = {m.code for m in p.measures_for("serious", "organisation")}
    enterprise_only = {"FM2", "FM3", "FM5", "FM6", "FM11", "FM12", "FM13"}
    assert not enterprise_only & for_persons
    assert enterprise_only <= for_units
    assert {"FM1", "FM14"} <= for_persons and not {"FM1", "FM14"} & for_units
    assert {"FM4", "FM15", "FM17", "FM18"} <= for_persons & for_units
    assert len(for_persons | for_units) == 18


def test_a_measure_without_subject_kinds_is_refused(tmp_path):
    text = (PROFILE_DIR / "fuzhou.toml").read_text(encoding="utf-8")
    start = text.index('code = "FM6"')
    line = text.index('subject_kinds = ["organisation"]\n', start)
    bad = text[:line] + text[line + len('subject_kinds = ["organisation"]\n'):]
    assert bad != text
    path = tmp_path / "fuzhou.toml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ProfileError, match="subject_kinds"):
        parse_profile(path)


def test_fuzhou_kinds_and_18_measures():
    p = load_profile("fuzhou")
    assert [g.code for g in p.grounds] == [f"F{i}" for i in range(1, 10)]
    assert all(g.severity == "serious" and g.term.source.startswith("national: ") for g in p.grounds)
    assert len(p.measures) == 18
    assert [m.code for m in p.measures] == [f"FM{i}" for i in range(1, 19)]
    for m in p.measures:
        assert m.implementing_units.zh and m.implementing_units.en
        assert m.legal_basis.zh and m.legal_basis.en
        assert m.source.startswith("003 §三(")
    assert p.measures[0].implementing_units.zh == "市委组织部、人社局"
    assert "公务员法" in p.measures[0].legal_basis.zh
    assert "第八十四条" in p.measures[1].legal_basis.zh and "国发〔2016〕33号" in p.measures[1].legal_basis.zh
    assert p.measures[2].legal_basis == p.measures[3].legal_basis  # one table row for measures 3 and 4
    assert "国发〔2014〕21号" in p.measures[4].legal_basis.zh
    for m in p.measures[5:]:
        # the Memorandum is the public basis; that the table gives none of its own is a staff note
        assert "1704号" in m.legal_basis.zh and "未载明" not in m.legal_basis.zh
        assert "no specific basis" in m.source
    assert p.measures[16].implementing_units.zh == "市委网信办"
    assert "延长公示期限" in p.measures[1].text.zh
    assert p.repeat.term == Period(3, "years", p.repeat.term.source)
    assert p.repeat.term.source.startswith("003 §三(二)") and "national" in p.repeat.term.source
    assert len(p.channels) >= 5


# -- Zhengzhou (004) -------------------------------------------------------------

def test_zhengzhou_catalogue_red_list_report():
    p = load_profile("zhengzhou")
    assert [len(p.behaviours_of(g)) for g in ("general", "heavy", "serious")] == [10, 9, 23]
    assert len(p.behaviours) == 42
    assert "4.5%" in p.red_list_criteria[1].text.zh
    assert len(p.red_list_criteria) == 7
    assert [c.source for c in p.red_list_criteria] == [f"004 §一({n})" for n in "一二三四五六七"]
    incentives = " ".join(t.zh for t in p.red_list_incentives)
    for word in ("优先办理", "简化程序", "绿色通道", "免于稽核"):
        assert word in incentives
    assert p.public_severities == {"serious"}
    serious_units = [g for g in p.grounds if g.code.startswith("ZS")]
    personal = [g for g in p.grounds if g.code.startswith("ZP")]
    assert len(serious_units) == 23 and len(personal) == 5 and len(p.grounds) >= 28
    assert all(g.public and g.subject_kinds == {"organisation"} for g in serious_units)
    assert all(not g.public and g.subject_kinds == {"person"} for g in personal)
    assert {g.text.zh for g in personal} == {"欺诈骗取社会保险待遇", "业务审批资料造假", "冒领养老金",
                                             "虚构劳动关系违规补缴", "虚假投诉举报"}
    assert not p.publish_individuals
    r = p.report
    assert r.frequency == "quarterly" and r.due_day_of_month == 20 and r.forward_day_of_month == 30
    assert [f.zh for f in r.fields] == ["序号", "单位名称", "组织机构代码", "工商注册号",
                                        "法定代表人(负责人)姓名", "法定代表人(负责人)身份证号",
                                        "参保职工数", "欠费月数及金额", "违法情况(可另附)", "催缴情况", "备注"]
    assert "法制处" in r.recipient.zh
    assert "no numbers" in p.sources["score_grades"]           # the table is provisional
    assert p.score.table_source.startswith("bureau setting (provisional")
    # arrears thresholds quoted faithfully
    assert "拖欠社会保险费1年以内的" == p.behaviours_of("general")[1].text.zh
    assert "拖欠社会保险费2年以上3年以下的" == p.behaviours_of("heavy")[1].text.zh
    assert "拖欠社会保险费3年以上、拖欠金额50万元以上的" == p.ground("ZS2").text.zh
    assert {b.subject for b in p.behaviours} == {"employer", "medical_institution"}


# -- national --------------------------------------------------------------------

def test_national_overlay_classes():
    p = load_profile("national")
    assert p.national_overlay and p.seed is None and p.valid_from == date(2026, 4, 1)
    mp = p.repair.min_period
    assert (mp["light"].amount, mp["general"].amount, mp["general"].unit, mp["serious"].amount,
            mp["serious"].unit) == (0, 3, "months", 1, "years")
    assert p.repair.commitment_required and p.repair.free and p.repair.stops_publication
    assert len(p.grounds) == 9 and all(g.term == Period(3, "years", g.term.source) for g in p.grounds)
    assert "light" not in p.public_severities
    assert all(src.startswith("national: ") for src in (p.repair.source, *[g.source for g in p.grounds]))


def test_city_profiles_without_term_fall_back_to_the_overlay():
    for code in ("jiamusi", "chizhou"):
        assert load_profile(code).national_overlay is False
    for code in ("shanghai", "fuzhou", "zhengzhou"):
        p = load_profile(code)
        assert p.national_overlay is True
        assert "national" in p.sources["national_overlay"]


# -- malformed files -------------------------------------------------------------

@pytest.fixture
def jiamusi_text() -> str:
    return (PROFILE_DIR / "jiamusi.toml").read_text(encoding="utf-8")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_parse_profile_of_a_copy_works(tmp_path, jiamusi_text):
    assert parse_profile(_write(tmp_path, jiamusi_text)).code == "jiamusi"


def test_bad_unit_names_the_key(tmp_path, jiamusi_text):
    text = jiamusi_text.replace('[deadlines.sharing]\namount = 7\nunit = "working_days"',
                                '[deadlines.sharing]\namount = 7\nunit = "weeks"')
    with pytest.raises(ProfileError, match=r"broken\.toml: deadlines\.sharing\.unit: 'weeks'"):
        parse_profile(_write(tmp_path, text))


def test_missing_deadline_names_the_key(tmp_path, jiamusi_text):
    text = jiamusi_text.replace("[deadlines.litigation]", "[unused_litigation]")
    with pytest.raises(ProfileError, match=r"deadlines\.litigation: missing required key"):
        parse_profile(_write(tmp_path, text))


def test_unknown_key_rejected(tmp_path, jiamusi_text):
    text = jiamusi_text.replace('code = "J3"\n', 'code = "J3"\nlimit = 10000\n')
    with pytest.raises(ProfileError, match=r"grounds\[2\]\.limit: unknown key"):
        parse_profile(_write(tmp_path, text))


def test_ground_without_source_rejected(tmp_path, jiamusi_text):
    text = jiamusi_text.replace('source = "000 art. 5(二); term art. 10 ¶2"\n', "")
    with pytest.raises(ProfileError, match=r"grounds\[1\]\.source: missing required key"):
        parse_profile(_write(tmp_path, text))


def test_unsourced_value_rejected(tmp_path, jiamusi_text):
    text = jiamusi_text.replace('source = "000 art. 8"', 'source = "because"', 1)
    with pytest.raises(ProfileError, match=r"deadlines\.publication\.source: source 'because'"):
        parse_profile(_write(tmp_path, text))


def test_bad_severity_and_duplicate_code(tmp_path, jiamusi_text):
    bad = jiamusi_text.replace('code = "J8"\narticle = "art. 5(八)"\nseverity = "serious"',
                               'code = "J8"\narticle = "art. 5(八)"\nseverity = "grave"')
    with pytest.raises(ProfileError, match=r"grounds\[7\]\.severity: 'grave'"):
        parse_profile(_write(tmp_path, bad))
    dup = jiamusi_text.replace('code = "J8"', 'code = "J7"')
    with pytest.raises(ProfileError, match=r"grounds: duplicate code 'J7'"):
        parse_profile(_write(tmp_path, dup))


def test_invalid_toml_and_wrong_types(tmp_path, jiamusi_text):
    with pytest.raises(ProfileError, match="not valid TOML"):
        parse_profile(_write(tmp_path, "code = \n"))
    text = jiamusi_text.replace("national_overlay = false", 'national_overlay = "no"')
    with pytest.raises(ProfileError, match=r"national_overlay: expected true or false"):
        parse_profile(_write(tmp_path, text))
    text = jiamusi_text.replace("valid_from = 2020-06-23", 'valid_from = "2020-06-23"')
    with pytest.raises(ProfileError, match=r"valid_from: expected a date"):
        parse_profile(_write(tmp_path, text))


def test_public_ground_must_have_a_public_severity(tmp_path, jiamusi_text):
    text = jiamusi_text.replace('public_severities = ["serious"]', 'public_severities = ["general"]')
    with pytest.raises(ProfileError, match=r"grounds\[0\]\.public"):
        parse_profile(_write(tmp_path, text))


# -- grading and red-list criteria (Zhengzhou §一, §三, §四) -------------------------

@pytest.fixture
def zhengzhou_text() -> str:
    return (PROFILE_DIR / "zhengzhou.toml").read_text(encoding="utf-8")


def test_zhengzhou_grading_settings():
    p = load_profile("zhengzhou")
    g = p.grading
    assert g is not None and g.false_complaint_ground == "ZP5" and g.red_list_validity is None
    assert set(g.finding_periods) == {"general", "heavy", "serious"}
    assert all(LAW_SOURCE.match(x.source) for x in g.finding_periods.values())
    assert LAW_SOURCE.match(g.source)
    assert [c.code for c in p.red_list_criteria if c.subjects] == ["R5"]
    assert p.red_list_criteria[4].subjects == {"medical_institution"}
    assert all(load_profile(c).grading is None for c in CODES if c != "zhengzhou")


def test_grading_validation(tmp_path, zhengzhou_text):
    bad = zhengzhou_text.replace("\nheavy = { amount = 1", "\ngrave = { amount = 1")
    with pytest.raises(ProfileError, match=r"grading\.finding_periods\.grave: 'grave'"):
        parse_profile(_write(tmp_path, bad))
    bad = zhengzhou_text.replace('\nheavy = { amount = 1, unit = "years"', '\nheavy = { amount = 5, unit = "working_days"')
    with pytest.raises(ProfileError, match=r"grading\.finding_periods\.heavy: a finding counts"):
        parse_profile(_write(tmp_path, bad))
    bad = zhengzhou_text.replace('false_complaint_ground = "ZP5"', 'false_complaint_ground = "ZS1"')
    with pytest.raises(ProfileError, match=r"grading\.false_complaint_ground: 'ZS1' is not a ground for persons"):
        parse_profile(_write(tmp_path, bad))
    bad = zhengzhou_text.replace('subjects = ["medical_institution"]', 'subjects = ["hospital"]')
    with pytest.raises(ProfileError, match=r"red_list_criteria\[4\]\.subjects: 'hospital'"):
        parse_profile(_write(tmp_path, bad))
    missing = re.sub(r"\nheavy = \{[^\n]*\n", "\n", zhengzhou_text)
    with pytest.raises(ProfileError, match=r"no period for grade 'heavy'"):
        parse_profile(_write(tmp_path, missing))


def test_an_internal_note_in_public_wording_is_refused(tmp_path, jiamusi_text):
    """Measures and bases are read by the public and the parties: staff notes go in ``source``."""
    basis = "（发改财金〔2018〕1704号）"
    assert basis in jiamusi_text
    noted = jiamusi_text.replace(basis, "（发改财金〔2018〕1704号，文号见003）", 1)
    with pytest.raises(ProfileError,
                       match=r"measures\[0\]\.legal_basis\.zh: number reference note"):
        parse_profile(_write(tmp_path, noted))
    english = jiamusi_text.replace("Jiamusi Interim Measures, Article 5 item (1)",
                                   "Jiamusi Interim Measures, art. 5 item (1)", 1)
    with pytest.raises(ProfileError, match=r"grounds\[0\]\.legal_basis\.en: article shorthand"):
        parse_profile(_write(tmp_path, english))
    doubled = jiamusi_text.replace('zh = "《佳木斯市社会保险领域严重失信人名单管理暂行办法》"',
                                   'zh = "《《佳木斯市社会保险领域严重失信人名单管理暂行办法》》"', 1)
    with pytest.raises(ProfileError, match=r"document\.zh: doubled title marks"):
        parse_profile(_write(tmp_path, doubled))


@pytest.mark.parametrize("code", available_profiles())
def test_every_source_reads_as_a_citation_without_internal_marks(code):
    from portal.rules.public_text import internal_markers
    from portal.rules.profiles.citations import cite

    profile = load_profile(code)
    sources = [g.source for g in profile.grounds] + [g.term.source for g in profile.grounds]
    sources += [p.source for p in profile.deadlines.values()] + [m.source for m in profile.measures]
    sources += [profile.repair.source, profile.repeat.source, *profile.sources.values()]
    for source in sources:
        text = cite(profile, source)
        assert text.zh and text.en
        assert not internal_markers(text.zh) and not internal_markers(text.en), (source, text)
    assert cite(load_profile("jiamusi"), "000 art. 10 ¶2").zh == \
        "《佳木斯市社会保险领域严重失信人名单管理暂行办法》第十条第二款"
    assert cite(profile, "SPEC §4.2 (000 art. 7; default 5 working days)").zh.startswith("本局设定")
