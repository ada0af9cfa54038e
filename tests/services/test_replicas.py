"""Several hosts' indexes tail one outbox; superseded rows are pruned without losing a change."""
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import IndexReplica, OutboxEvent, PublishedEntry
from portal.rules.workflow import RemovalReason
from portal.services import indexer
from portal.services.indexer import Position
from portal.services.outbox_pruning import prune
from search_index import SearchIndex
from tests.factories import published_case, remove_published

RETENTION = dt.timedelta(days=30)


def _pid(session, case):
    return session.scalar(sa.select(PublishedEntry.public_id).where(PublishedEntry.case_id == case.id))


def _index(tmp_path, name):
    return SearchIndex(tmp_path / name, refresh_interval=0)


def _drain(session, index):
    total = 0
    while done := indexer.sync(session, index):
        total += done
    session.rollback()
    return total


def test_position_runs_and_gaps():
    now = dt.datetime(2026, 12, 6, 8, tzinfo=dt.UTC)
    fresh, old = now - dt.timedelta(seconds=5), now - dt.timedelta(minutes=5)
    settle = dt.timedelta(seconds=60)
    # contiguous rows move the low mark; a fresh gap holds it and remembers what lies beyond
    after = Position(4).advance([(5, fresh), (6, fresh), (9, fresh), (10, fresh)], now, settle)
    assert after == Position(6, frozenset({9, 10}))
    assert after.as_dict() == {"low": 6, "above": [[9, 10]]}
    assert Position.of(after.as_dict()) == after
    # the gap settles (a rolled-back or pruned id): the mark passes it
    assert after.advance([(9, old), (10, old)], now, settle) == Position(10)
    # the missing ids commit after all
    assert after.advance([(7, fresh), (8, fresh), (9, fresh), (10, fresh)], now, settle) == Position(10)
    assert Position.of(None) is None and Position.of({"low": "x"}) is None


def test_two_indexes_tail_one_outbox_on_their_own(app, session, tmp_path):
    a, b = _index(tmp_path, "a"), _index(tmp_path, "b")
    indexer.rebuild(session, a)
    indexer.rebuild(session, b)
    first = published_case(session, app)
    session.commit()
    assert _drain(session, a) >= 1
    assert _pid(session, first) in a.ids()
    # host B's worker was down; it catches up from its own position, A is not disturbed
    second = published_case(session, app)
    session.commit()
    assert _drain(session, a) >= 1
    assert _drain(session, b) >= 2
    for index in (a, b):
        assert indexer.check(session, index).ok
        assert {_pid(session, first), _pid(session, second)} <= set(index.ids())
        assert indexer.pending(session, indexer.position_of(index)) == 0
    assert _drain(session, a) == 0                      # nothing is applied twice


def test_a_crash_before_the_index_commit_repeats_nothing_and_loses_nothing(app, session, tmp_path,
                                                                         monkeypatch):
    index = _index(tmp_path, "a")
    indexer.rebuild(session, index)
    _drain(session, index)
    before = index.position()
    case = published_case(session, app)
    session.commit()

    def crash(*args, **kwargs):
        raise OSError("the disk went away")

    monkeypatch.setattr(index, "apply", crash)
    with pytest.raises(OSError):
        indexer.sync(session, index)
    monkeypatch.undo()
    assert index.position() == before                   # documents and position: neither
    assert _drain(session, index) >= 1
    assert _pid(session, case) in index.ids()


def test_replicas_report_where_they_stand(app, session, tmp_path):
    a = _index(tmp_path, "a")
    indexer.rebuild(session, a)
    published_case(session, app)
    session.commit()
    row = indexer.report(session, "host-a", a)
    assert row.pending >= 1
    _drain(session, a)
    row = indexer.report(session, "host-a", a)
    session.commit()
    top = session.scalar(sa.select(sa.func.max(OutboxEvent.id)))
    assert (row.position, row.pending) == (top, 0)
    assert indexer.replica_name("/srv/a/index") != indexer.replica_name("/srv/b/index")
    assert indexer.replica_name("/x", "web-2") == "web-2"


def _age_outbox(session, days):
    for row in session.scalars(sa.select(OutboxEvent)):
        row.created_at = row.created_at - dt.timedelta(days=days)
    session.commit()


def test_pruning_keeps_each_records_latest_row_and_what_a_replica_has_not_passed(
        app, session, tmp_path):
    a, b = _index(tmp_path, "a"), _index(tmp_path, "b")
    case = published_case(session, app)
    other = published_case(session, app)
    session.commit()
    remove_published(session, case, RemovalReason.RECTIFIED, dt.date(2026, 6, 1))
    session.commit()
    for index, name in ((a, "host-a"), (b, "host-b")):
        _drain(session, index)
        indexer.report(session, name, index)
    session.commit()
    rows = session.execute(sa.select(OutboxEvent.topic, OutboxEvent.public_id)).all()
    latest = set(rows)
    assert len(rows) > len(latest)                      # some records changed twice
    # nothing older than the retention yet: nothing goes
    assert prune(session, clock.now(), RETENTION).rows == 0
    _age_outbox(session, 40)
    # B stands still behind a new change: rows after B's position stay
    session.execute(sa.update(IndexReplica).where(IndexReplica.name == "host-b")
                    .values(position=0))
    session.commit()
    assert prune(session, clock.now(), RETENTION).rows == 0
    session.execute(sa.update(IndexReplica).where(IndexReplica.name == "host-b")
                    .values(position=session.scalar(sa.select(sa.func.max(OutboxEvent.id)))))
    session.commit()
    pruned = prune(session, clock.now(), RETENTION)
    session.commit()
    assert pruned.rows == len(rows) - len(latest)
    left = session.execute(sa.select(OutboxEvent.topic, OutboxEvent.public_id)).all()
    assert set(left) == latest and len(left) == len(latest)
    # a new host's empty index, tailing the pruned outbox from its start, equals the projection
    c = _index(tmp_path, "c")
    _drain(session, c)
    assert indexer.check(session, c).ok
    assert _pid(session, other) in c.ids()


def test_a_replica_unseen_beyond_the_retention_stops_holding_pruning_back(app, session, tmp_path):
    a = _index(tmp_path, "a")
    case = published_case(session, app)
    session.commit()
    remove_published(session, case, RemovalReason.RECTIFIED, dt.date(2026, 6, 1))
    session.commit()
    _drain(session, a)
    indexer.report(session, "host-a", a)
    session.add(IndexReplica(name="gone", position=0, pending=0,
                             seen_at=clock.now() - dt.timedelta(days=45)))
    session.commit()
    _age_outbox(session, 40)
    pruned = prune(session, clock.now(), RETENTION)
    session.commit()
    assert pruned.deregistered == ["gone"] and pruned.rows > 0
    assert session.get(IndexReplica, "gone") is None
    # when it comes back it catches up from its old position and matches the projection
    late = _index(tmp_path, "late")
    indexer.rebuild(session, late)
    late.apply([], [], Position(0).as_dict())
    _drain(session, late)
    assert indexer.check(session, late).ok


def test_the_change_feed_still_gives_every_record_after_pruning(app, session, client, tmp_path):
    a = _index(tmp_path, "a")
    case = published_case(session, app)
    published_case(session, app)
    session.commit()
    remove_published(session, case, RemovalReason.RECTIFIED, dt.date(2026, 6, 1))
    session.commit()
    before = client.get("/api/v1/changes?limit=100").get_json()
    _drain(session, a)
    indexer.report(session, "host-a", a)
    session.commit()
    _age_outbox(session, 40)
    assert prune(session, clock.now(), RETENTION).rows > 0
    session.commit()
    after = client.get("/api/v1/changes?limit=100").get_json()

    def state(page):
        # each record's current state (changed_at moved with the aged rows)
        return sorted(json.dumps({k: v for k, v in item.items() if k != "changed_at"},
                                 sort_keys=True) for item in page["data"])

    assert len(before["data"]) == 3 and state(after) == state(before)   # 2 entries, 1 notice
    db.session.remove()


def test_a_new_host_starts_from_a_copy_of_anothers_index(app, session, tmp_path):
    from portal.search import get_index

    first = _pid(session, published_case(session, app))
    session.commit()
    index = get_index(app)
    indexer.rebuild(session, index)
    _drain(session, index)
    indexer.report(session, "host-a", index)
    session.commit()
    runner = app.test_cli_runner()
    copy = tmp_path / "index.tar.gz"
    made = runner.invoke(args=["index", "snapshot", str(copy)])
    assert made.exit_code == 0, made.output
    assert "copied 1 documents at outbox position" in made.output
    # the copy is older than what happens next
    second = _pid(session, published_case(session, app))
    session.commit()
    # the new host: its own index directory, started from the copy
    app.config["PORTAL_INDEX_DIR"] = str(tmp_path / "new-host-index")
    app.extensions.pop("portal_search").close()
    restored = runner.invoke(args=["index", "restore", str(copy)])
    assert restored.exit_code == 0, restored.output
    assert "restored 1 documents" in restored.output and "outbox rows to apply" in restored.output
    new = get_index(app)
    assert set(new.ids()) == {first}
    assert _drain(session, new) >= 1                      # only what changed since the copy
    assert indexer.check(session, new).ok and second in new.ids()
    listed = runner.invoke(args=["index", "replicas"])
    assert "host-a\tposition" in listed.output
    bad = runner.invoke(args=["index", "restore", str(tmp_path / "nothing.tar.gz")])
    assert bad.exit_code != 0
    (tmp_path / "junk.tar.gz").write_bytes(b"junk")
    junk = runner.invoke(args=["index", "restore", str(tmp_path / "junk.tar.gz")])
    assert junk.exit_code == 1 and "Error" in junk.output
    assert indexer.check(session, new).ok                 # a refused copy changes nothing
