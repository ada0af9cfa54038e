"""Staff sources as the back office shows them: document and articles in words, no shorthand."""
import pytest

from portal.rules.profiles import load_profile
from portal.rules.profiles.citations import article_label, cite, zh_number


@pytest.mark.parametrize(("n", "zh"), [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (46, "四十六")])
def test_chinese_numbers(n, zh):
    assert zh_number(n) == zh


def test_seed_articles_in_chinese_and_english():
    jiamusi = load_profile("jiamusi")
    text = cite(jiamusi, "000 art. 5(六); term art. 10 ¶1; rectification art. 11")
    assert text.zh == "《佳木斯市社会保险领域严重失信人名单管理暂行办法》第五条第（六）项、第十条第一款"
    assert text.en.endswith(", Article 5 item (6); Article 10 paragraph 1")
    assert cite(jiamusi, "000 silent (no red list)").zh == "《佳木斯市社会保险领域严重失信人名单管理暂行办法》未作规定"


def test_sections_as_the_documents_cite_themselves():
    zhengzhou = load_profile("zhengzhou")
    text = cite(zhengzhou, "004 §四(三)2, §四 last ¶ (serious units are blacklisted)")
    assert text.zh.endswith("》四（三）2、四末段")
    assert text.en.endswith("Part IV(3) item 2; Part IV, last paragraph")
    assert cite(load_profile("chizhou"), "001 §二(二)4(1)").zh.endswith("》二（二）4（1）")
    assert article_label("§四(三)9").zh == "四（三）9"
    assert article_label("art. 5(一)").zh == "第五条第（一）项"


def test_statutes_national_rules_and_defaults():
    shanghai = load_profile("shanghai")
    assert cite(shanghai, "law: 行政复议法 (2023 rev.) art. 20 — 60 days").zh == "《中华人民共和国行政复议法》第二十条"
    litigation = cite(shanghai, "law: 行政诉讼法 art. 46 — 6 months")
    assert litigation.en == "Administrative Litigation Law, Article 46"
    national = cite(shanghai, "national: 国办发〔2025〕22号 / NDRC Order No. 36 (serious class)")
    assert "国家发展和改革委员会令第36号" in national.zh and "NDRC Order No. 36" in national.en
    for source in ("SPEC §4.2 (002 has no pre-notice procedure; default 5 working days)",
                   "bureau setting (补正; seed silent; default 10 working days)"):
        assert cite(shanghai, source).zh.startswith("本局设定")
        assert "SPEC" not in cite(shanghai, source).en and "seed" not in cite(shanghai, source).en
