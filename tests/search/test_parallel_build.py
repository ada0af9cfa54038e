"""A rebuild analysed in several processes answers exactly like a one-process rebuild."""

import pytest

from search_index import SearchIndex, parallel
from tests.search.test_engine import _doc
from tests.search.test_scaling import MANY


@pytest.fixture
def split_small(monkeypatch):
    monkeypatch.setattr(parallel, "MIN_DOCUMENTS", 0)
    monkeypatch.setattr(parallel, "BATCH", 170)        # several batches per process


def test_two_processes_build_the_index_one_process_builds(tmp_path, split_small):
    one = SearchIndex(tmp_path / "one", refresh_interval=0)
    assert one.rebuild(MANY, total=len(MANY), parts=1) == len(MANY)
    two = SearchIndex(tmp_path / "two", refresh_interval=0)
    assert two.rebuild(iter(MANY), total=len(MANY), parts=2) == len(MANY)
    assert two.ids() == one.ids()
    for q in ("恒达", "佳木斯", "hengda", "jms", "有限公司", "餐饮管理", "富锦市恒达", "91230800MA00000042",
              "桦南县", "wuliu", ""):
        a, b = one.search(q, per_page=50), two.search(q, per_page=50)
        assert [round(h.score, 6) for h in a.hits] == [round(h.score, 6) for h in b.hits], q
        # equal scores may come in another order (segments differ); above the page's
        # last score, the same entries
        last = round(a.hits[-1].score, 6) if a.hits else 0
        assert {h.id for h in a.hits if round(h.score, 6) > last} == {
            h.id for h in b.hits if round(h.score, 6) > last}, q
        assert (a.total, a.facets) == (b.total, b.facets), q
    assert two.search("恒达", filters={"ground": "J2"}).total == one.search(
        "恒达", filters={"ground": "J2"}).total
    one.close()
    two.close()


def test_a_wrong_total_still_indexes_every_document(tmp_path, split_small):
    ix = SearchIndex(tmp_path / "ix", refresh_interval=0)
    assert ix.rebuild(MANY[:500], total=100, parts=3) == 500        # the total is only a hint
    assert len(ix.ids()) == 500
    ix.close()


def test_a_failing_process_fails_the_rebuild_and_keeps_the_old_index(tmp_path, split_small):
    ix = SearchIndex(tmp_path / "ix", refresh_interval=0)
    ix.rebuild(MANY[:300], total=300, parts=2)
    bad = [*MANY[:400], {**_doc("E2026-999999", "佳木斯市坏数据有限公司", "J1", 2026), "codes": 5}]
    with pytest.raises(parallel.BuildFailed):
        ix.rebuild(bad, total=len(bad), parts=2)
    assert len(ix.ids()) == 300
    assert not [p for p in tmp_path.iterdir() if ".build-" in p.name]
    ix.close()
