"""The position marker (where the index stands in its change log) and copies of an index."""

import tarfile
from datetime import date

import pytest

from search_index import SearchIndex, SnapshotError


def _doc(id, name, year=2026, kind="entry"):
    return {"id": id, "kind": kind, "name": name, "codes": [], "ground": "J1",
            "ground_text": "未按规定申报、缴纳社会保险费且拒不改正的", "subject_kind": "organisation",
            "severity": "serious", "year": year, "listed_on": date(year, 3, 15),
            "department": "佳木斯市人力资源和社会保障局", "facts": f"{name}的事实", "version": "e1"}


@pytest.fixture
def index(tmp_path):
    ix = SearchIndex(tmp_path / "ix", refresh_interval=0)
    ix.rebuild([_doc("E1", "恒达建筑有限公司"), _doc("E2", "佳木斯顺发物流有限公司")],
               position={"low": 7, "above": []})
    return ix


def test_rebuild_records_position_and_the_marker_is_no_record(index):
    assert index.position() == {"low": 7, "above": []}
    assert index.doc_count() == 2
    assert set(index.ids()) == {"E1", "E2"}
    assert {h.id for h in index.search("", kind=None, per_page=50).hits} == {"E1", "E2"}
    assert index.search("", kind=None).total == 2
    assert index.search("~position", kind=None).total == 0
    assert index.search("", filters={"kind": "~"}, kind=None).total == 0
    assert index.search("", filters={"id": "~position"}, kind=None).total == 0


def test_apply_writes_changes_and_position_in_one_commit(index):
    written, deleted = index.apply([_doc("E3", "黑龙江鑫源商贸有限公司")], ["E1"],
                                   {"low": 9, "above": [11]})
    assert (written, deleted) == (1, 1)
    assert index.position() == {"low": 9, "above": [11]}
    assert set(index.ids()) == {"E2", "E3"}
    assert index.doc_count() == 2
    # a position alone (rows that changed nothing) moves it too
    index.apply([], [], {"low": 12, "above": []})
    assert index.position() == {"low": 12, "above": []}
    assert index.doc_count() == 2


def test_a_failed_commit_keeps_the_old_position(index, monkeypatch):
    import search_index.writing as writing

    def broken(fields):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writing, "to_document", broken)
    with pytest.raises(RuntimeError):
        index.apply([_doc("E3", "黑龙江鑫源商贸有限公司")], [], {"low": 99, "above": []})
    assert index.position() == {"low": 7, "above": []}
    assert "E3" not in index.ids()


def test_upsert_and_delete_keep_the_position(index):
    index.upsert([_doc("E3", "黑龙江鑫源商贸有限公司")])
    index.delete(["E1", "~position"])
    assert index.position() == {"low": 7, "above": []}
    assert set(index.ids()) == {"E2", "E3"}


def test_snapshot_and_restore_carry_documents_and_position(index, tmp_path):
    copy = tmp_path / "copy.tar.gz"
    assert index.snapshot(copy) == {"documents": 2, "position": {"low": 7, "above": []}}
    other = SearchIndex(tmp_path / "other", refresh_interval=0)
    assert not other.exists()
    assert other.restore(copy) == {"documents": 2, "position": {"low": 7, "above": []}}
    assert other.exists() and other.current()
    assert other.position() == {"low": 7, "above": []}
    assert [h.id for h in other.search("恒达").hits] == ["E1"]
    # the restored copy is an index of its own: it takes changes like any other
    other.apply([_doc("E9", "双鸭山市宏图煤业有限公司")], [], {"low": 8, "above": []})
    assert other.doc_count() == 3 and index.doc_count() == 2


def test_restore_refuses_what_is_not_a_copy(index, tmp_path):
    bad = tmp_path / "bad.tar.gz"
    with tarfile.open(bad, "w:gz") as tar:
        note = tmp_path / "note.txt"
        note.write_text("x")
        tar.add(note, arcname="../escape.txt")
    with pytest.raises(SnapshotError):
        index.restore(bad)
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(SnapshotError):
        index.restore(tmp_path / "junk.tar.gz")
    assert index.position() == {"low": 7, "above": []} and index.doc_count() == 2
    assert not (tmp_path / "escape.txt").exists()


def test_snapshot_without_an_index(tmp_path):
    with pytest.raises(FileNotFoundError):
        SearchIndex(tmp_path / "none").snapshot(tmp_path / "x.tar.gz")
