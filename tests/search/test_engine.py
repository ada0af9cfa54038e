"""SearchIndex against a real index in tmp_path."""

import threading
import time
from collections import Counter
from datetime import date

import pytest

import search_index.engine as engine_mod
from search_index import IndexLockedError, SearchIndex, fingerprint
from search_index.store import CURRENT, LOCK_NAME

GROUNDS = {
    "J1": "未按规定申报、缴纳社会保险费且拒不改正的",
    "J2": "拒绝、阻挠社会保险行政部门依法实施监督检查的",
    "J3": "以欺诈、伪造证明材料或者其他手段骗取社会保险待遇或者基金支出的",
    "J4": "违规出具虚假诊断证明、医疗费用票据骗取医疗保险基金的",
}
DEPT = "佳木斯市人力资源和社会保障局"


def _doc(id, name, ground, year, *, kind="entry", person=False, codes=(), facts=None, **extra):
    doc = {
        "id": id,
        "kind": kind,
        "name": name,
        "codes": list(codes),
        "ground": ground,
        "ground_text": GROUNDS[ground],
        "subject_kind": "person" if person else "organisation",
        "severity": "serious",
        "year": year,
        "listed_on": date(year, 3, 15),
        "department": DEPT,
        "facts": facts
        or f"经查，{name}存在{GROUNDS[ground]}情形，依法列入社会保险领域严重失信主体名单。",
        "removal_reason": None,
    }
    doc.update(extra)
    return doc


DOCS = [
    _doc(
        "E2026-000001",
        "佳木斯市恒达建筑工程有限公司",
        "J3",
        2026,
        codes=["91230800MA1B2C3D4E", "MA1B2C3D4", "230800000012345"],
        facts="该公司2025年以伪造劳动合同方式为12名人员虚构劳动关系，骗取失业保险金8.6万元。",
    ),
    _doc("E2026-000002", "佳木斯恒远商贸有限责任公司", "J1", 2026, codes=["91230800MA1C7K8L9P"]),
    _doc("E2025-000003", "桦南县鑫盛农机农民专业合作社", "J2", 2025, codes=["93230822MA1D2E3F4G"]),
    _doc("E2025-000004", "富锦市宏达粮食贸易有限公司", "J3", 2025, codes=["91230882MA1E4F5G6H"]),
    _doc("E2025-000005", "佳木斯市向阳区华兴餐饮店", "J1", 2025, codes=["230803600012345"]),
    _doc(
        "E2026-000006",
        "张伟",
        "J3",
        2026,
        person=True,
        codes=["2308**********1234"],
        code_hashes=["h:5f2a9c"],
    ),
    _doc("E2024-000007", "李秀兰", "J4", 2024, person=True, codes=["2308**********2345"]),
    _doc("E2025-000008", "王建国", "J3", 2025, person=True, codes=["2308**********3456"]),
    _doc("E2024-000009", "同江市北方物流有限公司", "J2", 2024, codes=["91230881MA1F6G7H8J"]),
    _doc("E2026-000010", "佳木斯东方医院有限公司", "J4", 2026, codes=["91230800MA1G8H9J0K"]),
    _doc("E2024-000011", "汤原县恒达建材经销处", "J1", 2024, codes=["92230828MA1H0J1K2L"]),
    _doc("E2026-000012", "佳木斯市恒达物业服务有限公司", "J3", 2026, codes=["91230800MA1J2K3L4M"]),
    _doc(
        "E2026-000013", "黑龙江龙江建设集团股份有限公司", "J2", 2026, codes=["91230000MA1K4L5M6N"]
    ),
    _doc(
        "E2025-000014",
        "佳木斯<script>alert(1)</script>网络科技有限公司",
        "J1",
        2025,
        facts="法定代表人称<b>不知情</b>，网络科技业务未申报缴费。",
    ),
    _doc("E2025-000015", "抚远市边贸进出口有限公司", "J4", 2025),
    _doc("E2026-000016", "桦川县金穗米业有限公司", "J1", 2026, codes=["91230826MA1L6M7N8P"]),
    _doc("E2024-000017", "佳木斯市郊区永兴砖厂", "J2", 2024),
    _doc("E2026-000018", "富锦市安泰劳务派遣有限公司", "J3", 2026),
    _doc("E2025-000019", "佳木斯顺发汽车运输有限公司", "J3", 2025),
    _doc("E2026-000020", "佳木斯市前进区康宁药店", "J4", 2026),
    _doc("E2026-000021", "刘洋", "J2", 2026, person=True, codes=["2308**********4567"]),
    _doc("E2024-000022", "陈静", "J3", 2024, person=True, codes=["2308**********5678"]),
    _doc("E2025-000023", "佳木斯市鸿运大酒店有限公司", "J1", 2025),
    _doc("E2026-000024", "同江市三江口旅游开发有限公司", "J2", 2026),
    _doc("E2025-000025", "佳木斯瑞祥医疗器械有限公司", "J4", 2025),
    _doc(
        "R2025-000026",
        "佳木斯市永盛装饰工程有限公司",
        "J1",
        2025,
        kind="removal",
        removal_reason="term_expired",
    ),
    _doc("L2026-000027", "佳木斯市诚信保安服务有限公司", "J1", 2026, kind="redlist"),
    _doc("E2026-000028", "佳木斯市东风区新世纪家政服务中心", "J1", 2026),
    _doc("E2025-000029", "汤原县绿源生态农业有限公司", "J2", 2025, version=7),
    _doc("E2026-000030", "佳木斯众鑫人力资源服务有限公司", "J3", 2026),
]
BY_ID = {d["id"]: d for d in DOCS}
ENTRIES = [d for d in DOCS if d["kind"] == "entry"]


def ids_of(results):
    return [h.id for h in results.hits]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("search") / "index"
    ix = SearchIndex(path, refresh_interval=0)
    assert ix.rebuild(iter(DOCS)) == len(DOCS)
    yield ix
    ix.close()


@pytest.fixture
def fresh(tmp_path):
    ix = SearchIndex(tmp_path / "index", refresh_interval=0)
    ix.rebuild(DOCS)
    yield ix
    ix.close()


# ------------------------------------------------------------------ partial names


@pytest.mark.parametrize(
    "q, expected",
    [
        ("恒达", {"E2026-000001", "E2024-000011", "E2026-000012"}),
        ("建筑", {"E2026-000001"}),
        ("金穗", {"E2026-000016"}),
        ("鑫盛农", {"E2025-000003"}),
        ("恒达建", {"E2026-000001", "E2024-000011"}),
        ("达建筑", {"E2026-000001"}),
        ("三江口", {"E2026-000024"}),
        ("秀兰", {"E2024-000007"}),
    ],
)
def test_partial_names(built, q, expected):
    r = built.search(q, per_page=50)
    names = ids_of(r)
    assert expected <= set(names)
    assert set(names[: len(expected)]) == expected  # name matches outrank facts mentions


def test_two_char_query_does_not_match_lookalikes(built):
    assert "E2026-000002" not in ids_of(built.search("恒达", per_page=50))  # 恒远
    assert "E2025-000004" not in ids_of(built.search("恒达", per_page=50))  # 宏达


def test_query_skipping_a_character_still_matches(built):
    # 佳木斯恒达 (without 市): bigram 斯恒 is absent, jieba words still match
    assert set(ids_of(built.search("佳木斯恒达"))[:2]) == {"E2026-000001", "E2026-000012"}


def test_person_full_name(built):
    assert ids_of(built.search("王建国"))[0] == "E2025-000008"


# ------------------------------------------------------------------ pinyin


@pytest.mark.parametrize(
    "q, expected_top",
    [
        ("hengda", {"E2026-000001", "E2024-000011", "E2026-000012"}),
        ("HengDa", {"E2026-000001", "E2024-000011", "E2026-000012"}),
        ("jinsui", {"E2026-000016"}),
        ("lvyuan", {"E2025-000029"}),
        ("hongda", {"E2025-000004"}),
        ("jiamusishiheng", {"E2026-000001", "E2026-000012"}),  # whole-name prefix
        ("hengdaj", {"E2026-000001", "E2024-000011"}),  # 恒达建筑, 恒达建材
        ("hengdajianz", {"E2026-000001"}),  # prefix inside the name
        ("jiamusihengda", {"E2026-000001", "E2026-000012"}),  # 市 skipped
        ("zhangwei", {"E2026-000006"}),
    ],
)
def test_pinyin_full_and_prefix(built, q, expected_top):
    r = built.search(q, per_page=50)
    assert set(ids_of(r)[: len(expected_top)]) == expected_top
    if q.lower() == "hengda":
        assert "E2025-000004" not in ids_of(r)  # hongda is a different name


def test_pinyin_initials(built):
    r = built.search("jms", per_page=50)
    got = set(ids_of(r))
    jms_entries = {d["id"] for d in ENTRIES if d["name"].startswith("佳木斯")}
    assert jms_entries <= got
    assert "E2026-000024" not in got
    assert set(ids_of(built.search("hcx"))) == {"E2026-000016"}  # 桦川县
    assert "<mark>佳木斯</mark>" in r.hits[0].highlights["name"]


def test_initials_inside_the_name(built):
    assert ids_of(built.search("hdjz")) == ["E2026-000001"]  # 恒达建筑
    assert ids_of(built.search("hd"))[:3]  # 2-letter initials of a jieba word


def test_pinyin_highlight(built):
    hit = built.search("hengda").hits[0]
    assert "<mark>恒达</mark>" in hit.highlights["name"]


# ------------------------------------------------------------------ identifiers


def test_uscc_exact(built):
    r = built.search("91230800MA1B2C3D4E")
    assert r.exact and r.total == 1 and ids_of(r) == ["E2026-000001"]
    r = built.search(" 9123 0800 ma1b2c3d4e ")
    assert r.exact and ids_of(r) == ["E2026-000001"]


def test_uscc_near_miss_returns_nothing_exact(built):
    r = built.search("91230800MA1B2C3D4F")
    assert r.exact and r.total == 0 and r.hits == [] and r.suggestion is None


def test_org_code_with_dash_and_derived(built):
    assert ids_of(built.search("MA1B2C3D-4")) == ["E2026-000001"]
    # not listed explicitly: derived from the USCC's characters 9-17
    r = built.search("MA1L6M7N-8")
    assert r.exact and ids_of(r) == ["E2026-000016"]


def test_registration_number(built):
    r = built.search("230800000012345")
    assert r.exact and ids_of(r) == ["E2026-000001"]


def test_masked_person_id_is_not_searchable(built):
    r = built.search("2308**********1234")
    assert not r.exact and "E2026-000006" not in ids_of(r)


def test_code_hash_filter(built):
    r = built.search("", filters={"code_hash": "h:5f2a9c"})
    assert r.exact and ids_of(r) == ["E2026-000006"]


# ------------------------------------------------------------------ facets & filters


def _expected_facets(docs):
    return {
        "ground": dict(Counter(d["ground"] for d in docs)),
        "subject_kind": dict(Counter(d["subject_kind"] for d in docs)),
        "year": dict(Counter(str(d["year"]) for d in docs)),
    }


def test_facets_count_whole_result_set_not_page(built):
    matching = [d for d in ENTRIES if "佳木斯" in d["name"] or "佳木斯" in d["facts"]]
    pages = [built.search("佳木斯", page=p, per_page=3) for p in (1, 2, 3)]
    for r in pages:
        assert r.total == len(matching)
        assert r.facets == _expected_facets(matching)
    seen = [i for r in pages for i in ids_of(r)]
    assert len(seen) == len(set(seen)) == min(9, len(matching))


def test_browse_lists_everything_with_facets(built):
    r = built.search("", per_page=100)
    assert r.total == len(ENTRIES) and set(ids_of(r)) == {d["id"] for d in ENTRIES}
    assert r.facets == _expected_facets(ENTRIES)
    listed = [BY_ID[i]["listed_on"] for i in ids_of(r)]
    assert listed == sorted(listed, reverse=True)


def test_browse_puts_the_latest_written_first_within_a_day(fresh):
    """Entries listed on one day come newest first, and stay in that order whatever
    segments the index writer made (it orders by position inside its segments)."""
    same_day = [i for i in ids_of(fresh.search("", per_page=100))
                if BY_ID[i]["listed_on"] == BY_ID["E2026-000001"]["listed_on"]]
    written = [d["id"] for d in DOCS if d["id"] in same_day]
    assert len(written) > 2 and same_day == written[::-1]
    fresh.upsert([BY_ID[written[0]]])  # written again: now the latest of its day
    again = [i for i in ids_of(fresh.search("", per_page=100)) if i in same_day]
    assert again == [written[0], *written[:0:-1]]


def test_facets_selection(built):
    r = built.search("恒达", facets=("severity", "kind"))
    assert set(r.facets) == {"severity", "kind"}
    assert r.facets["kind"] == {"entry": r.total}
    with pytest.raises(ValueError):
        built.search("恒达", facets=("department",))


@pytest.mark.parametrize(
    "filters, pred",
    [
        ({"year": 2025}, lambda d: d["year"] == 2025),
        ({"year": "2026"}, lambda d: d["year"] == 2026),
        ({"ground": "J3"}, lambda d: d["ground"] == "J3"),
        ({"subject_kind": "person"}, lambda d: d["subject_kind"] == "person"),
        ({"ground": "J3", "year": 2026}, lambda d: d["ground"] == "J3" and d["year"] == 2026),
        ({"severity": "serious"}, lambda d: True),
        ({"ground": ["J2", "J4"]}, lambda d: d["ground"] in ("J2", "J4")),
    ],
)
def test_filters(built, filters, pred):
    r = built.search("", filters=filters, per_page=100)
    assert set(ids_of(r)) == {d["id"] for d in ENTRIES if pred(d)}


def test_filters_with_query(built):
    r = built.search("恒达", filters={"year": 2026}, per_page=50)
    assert set(ids_of(r)) == {"E2026-000001", "E2026-000012"}
    assert r.facets["year"] == {"2026": 2}


def test_kind(built):
    assert ids_of(built.search("永盛")) == []
    assert ids_of(built.search("永盛", kind="removal")) == ["R2025-000026"]
    assert ids_of(built.search("诚信保安", kind=None)) == ["L2026-000027"]
    assert ids_of(built.search("", kind="redlist")) == ["L2026-000027"]
    assert built.search("", kind=None).total == len(DOCS)
    assert ids_of(built.search("", filters={"kind": "removal"})) == ["R2025-000026"]


def test_ground_text_is_searchable_without_per_document_postings(built):
    # "阻挠" only occurs in the legal text of ground J2
    r = built.search("阻挠", per_page=100)
    assert set(ids_of(r)) == {d["id"] for d in ENTRIES if d["ground"] == "J2"}
    assert r.facets["ground"] == {"J2": r.total}


def test_upsert_records_new_ground_texts(fresh):
    doc = _doc("E2026-000300", "佳木斯市新颖广告有限公司", "J1", 2026)
    doc.update(ground="J9", ground_text="提供虚假证明材料协助他人骗取社会保险基金的")
    fresh.upsert([doc])
    assert ids_of(fresh.search("协助他人")) == ["E2026-000300"]


def test_unknown_filter_raises(built):
    with pytest.raises(ValueError, match="unknown search filter"):
        built.search("恒达", filters={"colour": "red"})


# ------------------------------------------------------------------ highlights & ranking


def test_highlight_escaping(built):
    r = built.search("科技")
    hit = next(h for h in r.hits if h.id == "E2025-000014")
    name = hit.highlights["name"]
    assert "<script>" not in name and "&lt;script&gt;alert(1)&lt;/script&gt;" in name
    assert "<mark>科技</mark>" in name
    facts = hit.highlights["facts"]
    assert "<b>" not in facts and "&lt;b&gt;" in facts and "<mark>科技</mark>" in facts


def test_facts_snippet_highlight(built):
    r = built.search("劳动合同")
    assert ids_of(r)[0] == "E2026-000001"
    assert "<mark>劳动合同</mark>" in r.hits[0].highlights["facts"]


def test_script_query_is_harmless(built):
    r = built.search("<script>")
    assert all("<script>" not in h.highlights["name"] for h in r.hits)


def test_legal_suffix_ranking(built):
    r = built.search("恒达有限公司", per_page=50)
    top = ids_of(r)
    assert set(top[:2]) == {"E2026-000001", "E2026-000012"}  # 恒达 … 有限公司
    assert top[2] == "E2024-000011"  # 恒达 without 有限公司 next
    assert "E2026-000002" not in top  # 恒远 has 有限公司 but not 恒达


def test_bare_legal_form_still_returns_results(built):
    r = built.search("有限公司", per_page=50)
    with_form = {d["id"] for d in ENTRIES if "有限公司" in d["name"]}
    assert with_form <= set(ids_of(r))
    assert len({round(h.score, 6) for h in r.hits}) > 1


def test_core_name_outranks_facts_mention(built):
    r = built.search("东方医院")
    assert ids_of(r)[0] == "E2026-000010"


# ------------------------------------------------------------------ pagination & odd input


def test_pagination_bounds(built):
    full = ids_of(built.search("佳木斯", per_page=100))
    pages = []
    for p in range(1, 10):
        r = built.search("佳木斯", page=p, per_page=4)
        assert r.total == len(full) and r.page == p and r.per_page == 4
        pages += ids_of(r)
    assert pages == full
    r = built.search("佳木斯", page=999, per_page=4)
    assert r.hits == [] and r.total == len(full)
    r = built.search("佳木斯", page=0, per_page=0)
    assert r.page == 1 and r.per_page >= 1


@pytest.mark.parametrize("q", ["佳木斯", ""])
def test_an_absurd_page_answers_empty_in_the_same_process(built, q):
    """page=99999999 once asked the index for two thousand million candidates: the
    allocation failed and aborted the whole process (a gunicorn worker)."""
    total = built.search(q).total
    for page in (99_999_999, 2**62):
        r = built.search(q, page=page, per_page=200)
        assert r.hits == [] and r.total == total


def test_a_lone_surrogate_in_a_filter_or_an_id_matches_nothing(built):
    assert built.search("恒达", filters={"ground": "\udcff"}).total == 0
    assert built.search("恒达", filters={"id": ["\ud800", "E2026-000001"]}).total == 1
    assert built.delete(["S\udcff1"]) == 0


def test_pages_beyond_the_result_window_only_count(built, monkeypatch):
    monkeypatch.setattr(engine_mod, "RESULT_WINDOW", 8)
    built.clear_cache()
    assert len(built.search("佳木斯", page=2, per_page=4).hits) == 4
    r = built.search("佳木斯", page=3, per_page=4)
    assert r.hits == [] and r.total == len(ids_of(built.search("佳木斯", per_page=100)))
    assert r.pages == 2 and r.truncated
    whole = built.search("佳木斯", per_page=100)
    assert not whole.truncated and whole.pages == 1


@pytest.mark.parametrize(
    "q",
    [
        "",
        "   ",
        "！？。",
        "<>&\"'",
        "*",
        "\x00",
        "恒" * 500,
        "a" * 500,
        "恒达 " * 100,
        "'; DROP TABLE",
        "恒",
    ],
)
def test_odd_queries_do_not_raise(built, q):
    r = built.search(q)
    assert r.total >= 0 and len(r.hits) <= r.per_page


# ------------------------------------------------------------------ suggest


def test_suggest_one_character_typo(built):
    assert (
        built.suggest("佳木斯市恒大建筑工程有限公司") == "佳木斯市恒达建筑工程有限公司"
    )  # homophone
    assert built.suggest("同江市三江口旅游开放有限公司") == "同江市三江口旅游开发有限公司"
    assert built.suggest("金穗米叶") == "桦川县金穗米业有限公司"
    assert built.suggest("hengdda") is not None


def test_suggest_none_when_nothing_close_or_exact(built):
    assert built.suggest("完全不相关的查询") is None
    assert built.suggest("恒达") is None
    assert built.suggest("") is None
    assert built.suggest("91230800MA1B2C3D4E") is None


def test_search_offers_suggestion_on_zero_hits(built):
    r = built.search("恒大建材经销")  # 恒达 typed by pinyin as 恒大
    assert ids_of(r) == ["E2024-000011"]  # found by sound, and the spelling is offered
    assert r.suggestion == "汤原县恒达建材经销处"
    r = built.search("恒达建材销售")
    assert r.total == 0 and r.suggestion == "汤原县恒达建材经销处"
    assert built.search("恒达建筑").suggestion is None


# ------------------------------------------------------------------ writes


def test_upsert_replaces_and_adds(fresh):
    before = fresh.ids()
    changed = dict(BY_ID["E2026-000002"], name="佳木斯恒远国际贸易有限责任公司", facts="更名。")
    new = _doc("E2026-000099", "佳木斯市新天地超市有限公司", "J1", 2026)
    assert fresh.upsert([changed, new, dict(new)]) == 2
    assert fresh.doc_count() == len(DOCS) + 1
    assert ids_of(fresh.search("国际贸易")) == ["E2026-000002"]
    assert ids_of(fresh.search("商贸")) == []
    assert ids_of(fresh.search("新天地")) == ["E2026-000099"]
    after = fresh.ids()
    assert after["E2026-000002"] != before["E2026-000002"]
    assert after["E2026-000001"] == before["E2026-000001"]


def test_delete_removes(fresh):
    assert fresh.delete(["E2026-000001", "nope", "E2026-000001"]) == 1
    assert fresh.delete(["nope"]) == 0
    assert fresh.delete([]) == 0
    assert "E2026-000001" not in ids_of(fresh.search("恒达"))
    assert fresh.search("91230800MA1B2C3D4E").total == 0
    assert "E2026-000001" not in fresh.ids()
    assert fresh.doc_count() == len(DOCS) - 1
    assert (
        fresh.search("", per_page=100).facets["ground"]["J3"]
        == sum(1 for d in ENTRIES if d["ground"] == "J3") - 1
    )


def test_ids_fingerprints(built):
    ids = built.ids()
    assert set(ids) == set(BY_ID)
    assert ids["E2025-000029"] == "7"  # version wins
    assert ids["E2026-000001"] == fingerprint(BY_ID["E2026-000001"])
    assert len(set(ids.values())) == len(ids)


def test_rebuild_swap_seen_by_open_searcher(tmp_path):
    path = tmp_path / "index"
    writer = SearchIndex(path)
    writer.rebuild(DOCS)
    reader = SearchIndex(path, refresh_interval=0.2)
    assert reader.search("恒达").total == 3  # reader now holds a searcher
    held = reader._gen.searcher
    new_docs = [dict(d) for d in DOCS if d["id"] != "E2026-000001"]
    new_docs.append(_doc("E2026-000100", "佳木斯市恒达新能源有限公司", "J1", 2026))
    assert writer.rebuild(new_docs) == len(DOCS)
    time.sleep(0.25)
    r = reader.search("恒达", per_page=50)
    assert "E2026-000100" in ids_of(r) and "E2026-000001" not in ids_of(r)
    assert reader._gen.searcher is not held
    # two generations kept at most, no build directories left behind
    gens = [p.name for p in path.iterdir() if p.name.startswith("ix-")]
    assert len(gens) <= 2 and (path / CURRENT).read_text().strip() in gens
    assert not [p for p in tmp_path.iterdir() if ".build-" in p.name]
    reader.close()
    writer.close()


def test_failed_rebuild_keeps_old_index(tmp_path):
    ix = SearchIndex(tmp_path / "index", refresh_interval=0)
    (tmp_path / ".index.build-crashed").mkdir()  # left by a killed rebuild
    ix.rebuild(DOCS)
    assert not (tmp_path / ".index.build-crashed").exists()

    def broken():
        yield DOCS[0]
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError, match="database went away"):
        ix.rebuild(broken())
    assert ix.doc_count() == len(DOCS)
    assert not [p for p in tmp_path.iterdir() if ".build-" in p.name]
    with pytest.raises(ValueError):
        ix.upsert([{"name": "no id"}])


def test_searcher_is_reused_not_reopened(fresh, monkeypatch):
    calls = []
    real = engine_mod.open_index
    monkeypatch.setattr(engine_mod, "open_index", lambda *a, **k: calls.append(a) or real(*a, **k))
    fresh.refresh_interval = 60
    fresh.search("恒达")
    s = fresh._gen.searcher
    for q in ("建筑", "hengda", "91230800MA1B2C3D4E", ""):
        fresh.search(q)
    assert fresh._gen.searcher is s and len(calls) <= 1


def test_write_lock_timeout(fresh):
    import fcntl
    import os

    fd = os.open(fresh.path / LOCK_NAME, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another writer holds the lock
    try:
        other = SearchIndex(fresh.path, lock_timeout=0.3)
        t = time.monotonic()
        with pytest.raises(IndexLockedError, match="locked by another writer"):
            other.upsert([DOCS[0]])
        assert time.monotonic() - t < 3
        with pytest.raises(IndexLockedError):
            other.rebuild(DOCS)
        assert other.search("恒达").total == 3  # reading is not blocked
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    assert other.upsert([DOCS[0]]) == 1


def test_concurrent_searches_while_writing(fresh):
    errors = []

    def worker():
        try:
            for q in ("恒达", "hengda", "jms", "佳木斯", "MA1B2C3D-4") * 6:
                fresh.search(q)
        except Exception as e:  # noqa: BLE001 - any error fails the test below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    fresh.upsert([_doc("E2026-000200", "佳木斯市恒达汽配有限公司", "J1", 2026)])
    for t in threads:
        t.join()
    assert not errors
    assert "E2026-000200" in ids_of(fresh.search("恒达", per_page=50))


def test_empty_index(tmp_path):
    ix = SearchIndex(tmp_path / "nothing-yet")
    r = ix.search("恒达")
    assert (
        r.total == 0 and r.hits == [] and r.facets == {"ground": {}, "subject_kind": {}, "year": {}}
    )
    assert ix.ids() == {} and ix.doc_count() == 0 and ix.suggest("恒达") is None
    assert ix.delete(["x"]) == 0
    assert ix.upsert([DOCS[0]]) == 1
    assert ids_of(ix.search("恒达")) == ["E2026-000001"]
    ix.close()


def test_repeated_upserts_never_duplicate(fresh):
    # an upsert deletes the old version in the same commit that adds the new one
    for i in range(6):
        doc = dict(BY_ID["E2026-000001"], facts=f"第{i}次更新。")
        fresh.upsert([doc])
        assert fresh.doc_count() == len(DOCS)
        assert ids_of(fresh.search("91230800MA1B2C3D4E")) == ["E2026-000001"]
    assert fresh.ids()["E2026-000001"] == fingerprint(doc)


def test_forked_child_gets_its_own_searcher(fresh):
    import json
    import os

    assert fresh.search("恒达").total == 3  # parent holds an open searcher
    parent_marker = fresh._searcher_pid_marker()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            total = fresh.search("恒达").total
            payload = json.dumps([total, list(fresh._searcher_pid_marker())])
            os.write(write_fd, payload.encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_fd) as f:
        total, marker = json.loads(f.read())
    assert status == 0 and total == 3
    assert marker[0] == pid and marker[0] != parent_marker[0]
    assert fresh._searcher_pid_marker() == parent_marker


def test_a_stale_searcher_survives_segments_merged_away_by_another_writer(tmp_path):
    """gunicorn workers hold searchers while the worker process commits and merges.

    A searcher opened on small segments that a later commit merged (and deleted)
    must still answer (its own snapshot, then the new commit), never fail.
    """
    import datetime as dt

    def doc(i, name):
        return {"id": f"E{i}", "kind": "entry", "name": name, "codes": [], "ground": "J1",
                "ground_text": "x", "subject_kind": "organisation", "severity": "serious",
                "year": 2026, "listed_on": dt.date(2025, 1, 1), "department": "d", "facts": "f",
                "version": "e1"}

    writer = SearchIndex(tmp_path / "ix")
    writer.rebuild([doc(i, f"佳木斯市恒达{i}建筑工程有限公司") for i in range(50)])
    for round_ in range(30):
        writer.upsert([doc(100 + round_, f"佳木斯市安祥永泰{round_}测速商贸有限公司")])
        reader = SearchIndex(tmp_path / "ix", refresh_interval=1000)
        reader.search("恒达")                    # holds segments that the next commit may merge
        writer.upsert([doc(200 + round_, f"佳木斯市宏图{round_}劳务有限公司")])
        result = reader.search("安祥永泰")       # a near-miss path reads stored fields too
        assert result.total == round_ + 1
        assert reader.search("安祥永秦").total == 0  # a typo that is no homophone
        reader.close()
    writer.close()
