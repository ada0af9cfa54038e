"""Rarest-first matching, homophone typos, traditional characters and the time limit."""

import random
from datetime import date

import pytest
from whoosh import query as wq

import search_index.deadline as deadline_mod
import search_index.fastmatch as fastmatch
import search_index.querybuild as querybuild
import search_index.skipping as skipping
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


def _plain(monkeypatch):
    """Build queries with whoosh's own Term and And (the engine before rarest-first)."""
    monkeypatch.setattr(querybuild, "Term", wq.Term)
    monkeypatch.setattr(querybuild, "And", wq.And)


@pytest.mark.parametrize("min_bytes", [fastmatch.MIN_DIRECTORY_BYTES, 0])
def test_rarest_first_finds_the_same_results_as_whoosh(big, monkeypatch, min_bytes):
    queries = _queries()
    fastmatch.DIRECTORIES.clear()
    monkeypatch.setattr(fastmatch, "MIN_DIRECTORY_BYTES", min_bytes)
    fast = []
    for q in queries:
        big.clear_cache()
        r = big.search(q, per_page=50)
        fast.append((r.total, [(h.id, round(h.score, 6)) for h in r.hits], r.facets))
    assert len(fastmatch.DIRECTORIES) > 0  # the skipping matcher was used
    _plain(monkeypatch)
    for q, expected in zip(queries, fast):
        big.clear_cache()
        r = big.search(q, per_page=50)
        assert (r.total, [(h.id, round(h.score, 6)) for h in r.hits], r.facets) == expected, q


def test_skipping_matcher_skips_like_whoosh(big):
    checked = 0
    for leaf, _ in big._get_searcher().reader().leaf_readers():
        if leaf.doc_count_all() < 1000:
            continue
        plain = leaf.postings("name_t", "有限")
        fast = leaf.postings("name_t", "有限")
        m = fastmatch._leaf(fast)
        m.__class__ = fastmatch.SkippingLeafMatcher
        m._dir_key = ("test", m._startoffset, "name_t")
        for t in sorted(random.Random(3).sample(range(leaf.doc_count_all()), 200)):
            if not plain.is_active():
                break
            plain.skip_to(t)
            fast.skip_to(t)
            assert plain.is_active() == fast.is_active()
            if plain.is_active():
                assert (plain.id(), plain.weight()) == (fast.id(), fast.weight())
                checked += 1
    assert checked > 50


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


def test_directory_reading_checks_the_deadline(big, monkeypatch):
    fastmatch.DIRECTORIES.clear()
    monkeypatch.setattr(fastmatch, "MIN_DIRECTORY_BYTES", 0)
    seen = []
    real = deadline_mod.check_deadline

    def counting():
        seen.append(1)
        real()

    monkeypatch.setattr(skipping, "check_deadline", counting)
    big.clear_cache()
    big.search("佳木斯市恒达建筑工程")
    assert seen


def test_term_table_cache_probes_each_term_once():
    class Table(dict):
        probes = 0

        def __getitem__(self, key):
            Table.probes += 1
            return dict.__getitem__(self, key)

        def range_for_key(self, key):
            Table.probes += 1
            return (len(key), 1)

        def keys_from(self, prefix):
            return [k for k in sorted(self) if k.startswith(prefix)]

    cached = fastmatch.CachedTermTable(Table({b"a": b"1", b"ab": b"2"}), max_items=10)
    for _ in range(3):
        assert cached[b"a"] == b"1" and b"ab" in cached and b"zz" not in cached
        assert cached.range_for_key(b"ab") == (2, 1)
    assert Table.probes == 4  # a, ab, zz, range(ab): once each
    with pytest.raises(KeyError):
        cached[b"zz"]
    assert cached.keys_from(b"a") == [b"a", b"ab"]  # everything else goes to the table


def test_open_searchers_cache_their_term_tables(big):
    for leaf, _ in big._get_searcher().reader().leaf_readers():
        assert isinstance(leaf._terms._tindex, fastmatch.CachedTermTable)


def test_opening_a_searcher_is_outside_the_budget(tmp_path, monkeypatch):
    """After a rebuild the first search opens the index and loads its facet arrays
    (seconds at a million entries): that must not turn into a SearchTimeout."""
    SearchIndex(tmp_path / "index").rebuild(DOCS)
    ix = SearchIndex(tmp_path / "index", time_limit=5.0)
    real, jump = deadline_mod.time.monotonic, [0.0]
    monkeypatch.setattr(deadline_mod.time, "monotonic", lambda: real() + jump[0])
    opened = ix._open

    def slow_open(gen):
        jump[0] += 60.0
        opened(gen)

    monkeypatch.setattr(ix, "_open", slow_open)
    assert ix.search("佳木斯").total > 0
    ix.close()


def test_a_repeated_search_is_answered_from_the_page_cache(tmp_path, monkeypatch):
    import search_index.engine as engine_mod

    ix = SearchIndex(tmp_path / "index", refresh_interval=0)
    ix.rebuild(DOCS)
    calls = []
    real = engine_mod.top_docs
    monkeypatch.setattr(engine_mod, "top_docs", lambda *a, **k: calls.append(1) or real(*a, **k))
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
