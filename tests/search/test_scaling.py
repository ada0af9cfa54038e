"""Matching over many names, homophone typos, traditional characters and the time limit."""

import random
from datetime import date

import pytest
import search_index.deadline as deadline_mod
import search_index.querybuild as querybuild
from search_index.queryplan import analyze_query
from search_index import SearchIndex, SearchTimeout
from tests.search.test_engine import DOCS, _doc, ids_of

PLACES = ["佳木斯市", "佳木斯市向阳区", "桦南县", "汤原县", "富锦市", ""]
BRAND = "恒达鑫盛隆华兴源泰丰瑞祥宏远金银福安康宁永昌顺发众诚信德通利和新天地东方"
TRADES = ["建筑工程", "商贸", "物流", "餐饮管理", "农业科技", "劳务派遣", "物业服务", "木业"]
FORMS = ["有限公司", "有限公司", "有限责任公司", "分公司", "农民专业合作社", "经销处"]


def _many(n, seed=5):
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        brand = "".join(rnd.choice(BRAND) for _ in range(rnd.choice((2, 3))))
        name = rnd.choice(PLACES) + brand + rnd.choice(TRADES) + rnd.choice(FORMS)
        out.append(
            _doc(f"E2025-{i:06d}", name, rnd.choice(["J1", "J2", "J3"]), rnd.choice([2025, 2026]),
                 codes=[f"91230800MA{i:08d}"], listed_on=date(2025, 1 + i % 12, 1 + i % 28))
        )
    return out


MANY = _many(3000)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    ix = SearchIndex(tmp_path_factory.mktemp("scaling") / "index", refresh_interval=0)
    ix.rebuild(MANY)
    # later commits leave deletions in the big segment and add small segments
    ix.upsert([dict(d, name=d["name"].replace("有限", "有限责任")) for d in MANY[::97]])
    ix.delete([d["id"] for d in MANY[5::113]])
    yield ix
    ix.close()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    ix = SearchIndex(tmp_path_factory.mktemp("scaling-small") / "index", refresh_interval=0)
    ix.rebuild(DOCS + [_doc("E2026-000400", "佳木斯市恆豐餐飲管理有限公司", "J1", 2026)])
    yield ix
    ix.close()


def _queries(n=60, seed=9):
    rnd = random.Random(seed)
    out = ["佳木斯", "有限公司", "佳木斯市恒达", "jiamusi", "jms", "hengda", "餐饮管理有限公司"]
    for d in rnd.sample(MANY, n):
        name = d["name"]
        out += [name, name[2:7], name[len(name) // 2 : len(name) // 2 + 3]]
    return out


def test_every_name_holding_the_query_is_found(big):
    """Intersections of common bigrams (有限, 公司, 佳木) lose nothing: every indexed
    name that contains a query's characters is among its matches."""
    live = {d["id"]: d for d in MANY}
    for d in MANY[::97]:
        live[d["id"]] = dict(d, name=d["name"].replace("有限", "有限责任"))
    for d in MANY[5::113]:
        live.pop(d["id"])
    checked = 0
    for q in _queries():
        if len(q) < 2 or not all("\u4e00" <= ch <= "\u9fff" for ch in q):
            continue
        expected = {i for i, d in live.items() if q in d["name"]}
        big.clear_cache()
        r = big.search(q, per_page=200)
        if r.total > 200:
            continue
        assert expected <= set(ids_of(r)), q
        assert r.total >= len(expected)
        checked += 1
    assert checked > 100


def test_the_whole_name_ranks_first(big):
    for d in MANY[1::61]:
        if d["id"] in {x["id"] for x in MANY[5::113]} or d in MANY[::97]:
            continue
        same = [x for x in MANY if x["name"] == d["name"]]
        r = big.search(d["name"], per_page=len(same))
        assert {h.id for h in r.hits} == {x["id"] for x in same}, d["name"]


#: characters of BRAND typed as another of the same sound (a pinyin input method's slip)
SOUNDS_ALIKE = str.maketrans("达盛华兴源泰丰祥宏福诚德利和", "大胜花星元太风翔红富成得力合")


def _several_clauses(n=40, seed=11):
    """Queries of several runs: a rare brand next to common places, trades and forms, also
    typed with a homophone."""
    rnd = random.Random(seed)
    out = []
    for d in rnd.sample(MANY, n):
        name = d["name"]
        trade = next(t for t in TRADES if t in name)
        brand = name[: name.index(trade)]
        for place in PLACES:
            if place and brand.startswith(place):
                brand = brand[len(place):]
        out += [f"{brand}{trade}(佳木斯)有限公司", f"佳木斯 {brand}", f"{trade} {brand}有限公司",
                f"{brand}（桦南县）", f"jiamusi {brand}", f"{brand}恒达 佳木斯",
                f"{brand.translate(SOUNDS_ALIKE)}{trade}(佳木斯)"]
    return out


def test_anchoring_on_a_rare_clause_changes_no_match_and_no_score(big, monkeypatch):
    """Next to a rare clause the common ones are evaluated only where it could match: the
    same documents in the same order with the same scores as without that shortcut."""
    gen = big._current()
    anchored = [q for q in _several_clauses()
                if gen.builder._anchor_terms(analyze_query(q), gen.grounds) is not None]
    assert len(anchored) > 100
    plain = querybuild.Builder(gen.ix.schema, gen.expand)   # no document counts: no anchor
    for q in _several_clauses():
        big.clear_cache()
        fast = big.search(q, per_page=50, facets=())
        monkeypatch.setattr(gen, "builder", plain)
        big.clear_cache()
        slow = big.search(q, per_page=50, facets=())
        monkeypatch.undo()
        assert fast.total == slow.total, q
        assert sorted((round(h.score, 3), h.id) for h in fast.hits) == sorted(
            (round(h.score, 3), h.id) for h in slow.hits), q


def test_a_rare_clause_that_matches_nothing_anchors_an_empty_search(big):
    assert big.search("佳木斯 鑫鑫鑫鑫鑫鑫").total == 0
    assert big.search("佳木斯 恒达").total > 0


# ------------------------------------------------------------------ homophones


def test_homophone_typo_finds_the_name(small):
    # 达 (da) typed as 大 (da): the same syllables, another character
    r = small.search("佳木斯市恒大建筑工程")
    assert ids_of(r)[0] == "E2026-000001"
    assert r.suggestion == "佳木斯市恒达建筑工程有限公司"
    assert ids_of(small.search("同江市三江口旅游开花"))[:1] == []  # hua ≠ fa: no homophone


def test_exact_characters_rank_above_homophones(small):
    extra = _doc("E2026-000401", "佳木斯市恒大建筑工程有限公司", "J1", 2026)
    small.upsert([extra])
    try:
        assert ids_of(small.search("佳木斯市恒大建筑工程"))[:2] == ["E2026-000401", "E2026-000001"]
        assert ids_of(small.search("佳木斯市恒达建筑工程"))[:2] == ["E2026-000001", "E2026-000401"]
    finally:
        small.delete(["E2026-000401"])


def test_two_character_queries_do_not_match_by_sound(small):
    assert "E2026-000001" not in ids_of(small.search("恒大"))


def test_repeated_syllables_do_not_match_two_character_names_by_sound(tmp_path):
    ix = SearchIndex(tmp_path / "index", refresh_interval=0)
    ix.rebuild([_doc("E2026-000501", "李丽", "J1", 2026, person=True),
                _doc("E2026-000502", "黎力", "J1", 2026, person=True)])
    try:
        # 李莉莉 has one distinct syllable pair (li_li): as broad as a two-character query
        for q in ("李莉莉", "力力力"):
            assert ids_of(ix.search(q)) == [], q
    finally:
        ix.close()


# ------------------------------------------------------------------ traditional characters


def test_traditional_query_finds_simplified_name(small):
    assert ids_of(small.search("恆達建築工程"))[0] == "E2026-000001"
    hit = small.search("恆達建築").hits[0]
    assert "<mark>恒达建筑</mark>" in hit.highlights["name"]


def test_simplified_query_finds_traditional_name(small):
    r = small.search("恒丰餐饮")
    assert ids_of(r) == ["E2026-000400"]
    assert "<mark>恆豐餐飲</mark>" in r.hits[0].highlights["name"]
    assert ids_of(small.search("hengfengcanyin"))[:1] == ["E2026-000400"]


# ------------------------------------------------------------------ time limit


class _Clock:
    """monotonic() that advances one second per call."""

    def __init__(self):
        self.now = 0.0
        self.calls = 0

    def __call__(self):
        self.now += 1.0
        self.calls += 1
        return self.now


def test_search_timeout(big, monkeypatch):
    clock = _Clock()
    monkeypatch.setattr(deadline_mod.time, "monotonic", clock)
    big.clear_cache()
    with pytest.raises(SearchTimeout):
        big.search("佳木斯市恒达建筑工程", time_limit=3)
    assert 3 < clock.calls < 10  # checked inside the search, not only at its start
    monkeypatch.undo()
    assert big.search("佳木斯", time_limit=30).total > 0  # the index is usable afterwards


def test_default_time_limit_of_the_instance(tmp_path, monkeypatch):
    ix = SearchIndex(tmp_path / "index", time_limit=2.0)
    ix.rebuild(DOCS)
    monkeypatch.setattr(deadline_mod.time, "monotonic", _Clock())
    with pytest.raises(SearchTimeout):
        ix.search("佳木斯")
    assert ix.search("佳木斯", time_limit=1e9).total > 0  # per call overrides
    ix.close()


def test_no_time_limit_by_default(small, monkeypatch):
    monkeypatch.setattr(deadline_mod.time, "monotonic", _Clock())
    assert small.search("佳木斯").total > 0


def test_opening_a_searcher_is_outside_the_budget(tmp_path, monkeypatch):
    """After a rebuild the first search opens the index and loads its facet arrays
    (seconds at a million entries): that must not turn into a SearchTimeout."""
    SearchIndex(tmp_path / "index").rebuild(DOCS)
    ix = SearchIndex(tmp_path / "index", time_limit=5.0)
    real, jump = deadline_mod.time.monotonic, [0.0]
    monkeypatch.setattr(deadline_mod.time, "monotonic", lambda: real() + jump[0])
    opened = ix._open

    def slow_open(*args):
        jump[0] += 60.0
        opened(*args)

    monkeypatch.setattr(ix, "_open", slow_open)
    assert ix.search("佳木斯").total > 0
    ix.close()


def test_a_repeated_search_is_answered_from_the_page_cache(tmp_path, monkeypatch):
    ix = SearchIndex(tmp_path / "index", refresh_interval=0)
    ix.rebuild(DOCS)
    calls = []
    real = querybuild.Builder.text
    monkeypatch.setattr(
        querybuild.Builder, "text", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    first = ix.search("恒达", per_page=5)
    first.hits.clear()  # a caller's change does not reach the cache
    again = ix.search("恒達", per_page=5)  # the same query, traditional
    assert len(calls) == 1 and ids_of(again) == ids_of(ix.search("恒达", per_page=5))
    assert again.hits and len(calls) == 1
    ix.search("佳木斯", per_page=5)
    ix.search("佳木斯", page=2, per_page=5)
    assert len(calls) == 3  # another query, another page: other entries
    ix.upsert([_doc("E2026-000500", "佳木斯市恒达新材料有限公司", "J1", 2026)])
    assert "E2026-000500" in ids_of(ix.search("恒达", per_page=50))  # a new generation
    ix.close()
