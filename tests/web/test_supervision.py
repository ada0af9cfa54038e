"""Graceful failure: the worker outlives database and index faults, a lost index is rebuilt
from the projection, /healthz tells the truth, and pages say 503 while the database is away."""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.heartbeat import read_heartbeat
from portal.search import get_index
from portal.services import indexer
from portal.worker import Worker
from tests.factories import published_case


def _city(session, app, n: int = 3) -> None:
    for i in range(n):
        published_case(session, app, decided_on=dt.date(2026, 3, 16) + dt.timedelta(days=i))
    session.commit()


def _worker(app) -> Worker:
    return Worker(get_index(app), interval=0)


def _operational_error():
    return sa.exc.OperationalError("SELECT 1", {}, Exception("server closed the connection"))


# ------------------------------------------------------------------ the worker

def test_the_worker_survives_a_database_outage_and_backs_off(app, session, monkeypatch):
    _city(session, app, 1)
    worker = _worker(app)
    calls = {"n": 0}
    real_sync = indexer.sync

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] <= 2:                           # the database is away for two rounds
            raise _operational_error()
        return real_sync(*args, **kwargs)

    monkeypatch.setattr(indexer, "sync", flaky)
    pauses = []
    assert worker.round() == -1 and worker.failures >= 1
    beat = read_heartbeat(Path(app.config["PORTAL_HEARTBEAT_FILE"]))
    assert beat["status"] == "retrying" and "database unavailable" in beat["error"]
    pauses.append(worker.pause(-1))
    assert worker.round() == -1
    pauses.append(worker.pause(-1))
    assert pauses[1] > pauses[0] and max(pauses) <= 30          # backs off, bounded
    assert worker.round() >= 0 and worker.failures == 0          # the database is back
    assert read_heartbeat(Path(app.config["PORTAL_HEARTBEAT_FILE"]))["status"] == "ok"
    assert get_index(app).doc_count() == indexer.expected_count(session)


def test_a_bug_in_one_job_does_not_stop_the_others(app, session, monkeypatch, time_machine):
    _city(session, app, 2)
    worker = _worker(app)
    # The clock stands still: a slow round on a loaded machine must not reach the retry time.
    time_machine.move_to(clock.now(), tick=False)
    monkeypatch.setattr(Worker, "expire", lambda self: 1 / 0)
    worker.jobs[0].run = worker.expire
    assert worker.round() >= 0 and worker.pause(0) == 0            # indexing goes on at full speed
    assert get_index(app).doc_count() == indexer.expected_count(session) == 2
    beat = read_heartbeat(Path(app.config["PORTAL_HEARTBEAT_FILE"]))
    assert beat["status"] == "retrying" and beat["error"] == "expiry: failed"
    expiry = worker.jobs[0]
    assert expiry.failures == 1 and expiry.retry_at is not None  # that job alone backs off
    worker.round()
    assert expiry.failures == 1                                   # not retried before its time


@pytest.mark.postgres
def test_a_killed_database_connection_is_replaced(app, session, backend):
    if backend != "postgresql":
        pytest.skip("kills a PostgreSQL backend")
    _city(session, app, 1)
    worker = _worker(app)
    assert worker.round() >= 0
    with db.engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        conn.commit()
    session.remove()
    for _ in range(3):                       # at most a failed round, then it is back
        if worker.round() >= 0:
            break
    assert worker.failures == 0


# ------------------------------------------------------------------ the index

def test_a_deleted_index_is_rebuilt_from_the_projection_not_restarted_empty(app, session):
    _city(session, app, 3)
    index = get_index(app)
    indexer.rebuild(session, index)
    session.commit()
    assert index.doc_count() == 3
    shutil.rmtree(app.config["PORTAL_INDEX_DIR"])
    published_case(session, app, decided_on=dt.date(2026, 5, 4))       # one more outbox row
    session.commit()
    worker = _worker(app)
    worker.sync()
    assert index.exists() and index.doc_count() == indexer.expected_count(session) == 4
    assert indexer.check(session, index).ok


def test_a_shortfall_seen_once_is_checked_again_before_a_rebuild(app, session, monkeypatch):
    _city(session, app, 3)
    index = get_index(app)
    indexer.rebuild(session, index)
    indexer.sync(session, index)         # as the worker does: the rows of the last minute again
    session.commit()
    worker = _worker(app)
    rebuilds = []
    monkeypatch.setattr(indexer, "rebuild", lambda *a, **k: rebuilds.append(a) or 0)
    index.delete([next(iter(index.ids()))])               # one document short
    assert worker.heal_index() is False and not rebuilds  # could be a publication in flight
    assert worker.heal_index() is True and len(rebuilds) == 1


def test_an_empty_portal_gets_an_empty_index_and_search_answers(app, session, client):
    _worker(app).round()
    assert get_index(app).exists()
    response = client.get("/search?q=公司")
    assert response.status_code == 200


def test_an_emptied_index_is_noticed_by_the_periodic_check(app, session):
    _city(session, app, 2)
    index = get_index(app)
    indexer.rebuild(session, index)
    session.commit()
    index.rebuild([])                                   # emptied behind the portal's back
    assert index.doc_count() == 0
    assert _worker(app).heal_index() is True
    assert index.doc_count() == 2


def test_search_says_it_is_unavailable_instead_of_finding_nothing(app, session, client):
    _city(session, app, 1)
    response = client.get("/search?q=公司")
    assert response.status_code == 503
    assert "正在重建" in response.get_data(as_text=True) or "being rebuilt" in response.get_data(as_text=True)


# ------------------------------------------------------------------ /healthz

def test_healthz_reports_database_index_and_worker(app, session, client):
    _city(session, app, 2)
    down = client.get("/healthz")
    body = down.get_json()
    assert down.status_code == 503 and down.headers["Cache-Control"] == "no-store"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["index"]["detail"] == "index missing"
    assert body["checks"]["worker"]["detail"] == "no heartbeat"
    _worker(app).round()                               # heals the index, writes a heartbeat
    up = client.get("/healthz")
    assert up.status_code == 200, up.get_json()
    checks = up.get_json()["checks"]
    assert checks["index"]["documents"] == checks["index"]["expected"] == 2
    assert checks["worker"]["status"] == "ok"


def test_healthz_says_503_when_the_worker_stopped_beating(app, session, client):
    _worker(app).round()
    path = Path(app.config["PORTAL_HEARTBEAT_FILE"])
    beat = json.loads(path.read_text())
    old = dt.datetime.fromisoformat(beat["at"]) - dt.timedelta(minutes=10)
    path.write_text(json.dumps({**beat, "at": old.isoformat()}))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["worker"]["detail"] == "heartbeat too old"


# ------------------------------------------------------------------ pages while the database is away

def test_pages_answer_a_friendly_503_while_the_database_is_away(app, session, client, monkeypatch):
    from portal import caching

    def away(*args, **kwargs):
        raise _operational_error()

    monkeypatch.setattr(caching, "publication_token", away)     # the first query of every page
    response = client.get("/entries")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "请稍后再试" in response.get_data(as_text=True) or "try again" in response.get_data(as_text=True)
    monkeypatch.undo()
    assert client.get("/entries").status_code == 200          # and it recovers by itself


def test_api_clients_get_json_while_the_database_is_away(app, session, client, monkeypatch):
    from portal.extensions import db as database

    def away(*args, **kwargs):
        raise _operational_error()

    monkeypatch.setattr(database.session, "execute", away)       # the first query of the list
    response = client.get("/api/v1/entries")
    assert response.status_code == 503 and response.is_json, response.get_data(as_text=True)[:200]
    assert response.get_json()["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "30"


def test_the_daily_round_anchors_the_audit_chain_outside_the_database(app, session):
    _city(session, app, 1)
    anchors = Path(app.config["PORTAL_AUDIT_ANCHORS"])
    assert not anchors.exists()
    worker = _worker(app)
    worker.round()
    lines = anchors.read_text().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["seq"] > 0
    worker.round()                                   # once a day
    assert len(anchors.read_text().splitlines()) == 1


def test_an_index_built_with_an_earlier_analysis_is_rebuilt(app, session):
    """The analysis changed (e.g. traditional characters folded to simplified): an index
    written by the earlier code holds terms today's queries never ask for; the worker
    rebuilds it at once, however complete it is."""
    from search_index import ANALYSIS_VERSION
    from search_index.store import ANALYSIS_FILE, IndexStore

    _city(session, app, 2)
    worker = _worker(app)
    worker.round()
    index = get_index(app)
    assert index.current() and index.doc_count() == 2
    store = IndexStore(app.config["PORTAL_INDEX_DIR"])
    generation = store.gen_dir(store.current_name())
    (generation / ANALYSIS_FILE).unlink()                    # written before analyses had versions
    assert not index.current()
    check = app.test_cli_runner().invoke(args=["index", "check"])
    assert check.exit_code == 1 and "earlier analysis" in check.output     # make run rebuilds
    assert worker.heal_index() is True
    assert index.current(), "rebuilt with today's analysis"
    generation = store.gen_dir(store.current_name())
    assert json.loads((generation / ANALYSIS_FILE).read_text())["version"] == ANALYSIS_VERSION
    assert index.doc_count() == 2


def test_the_worker_limits_its_malloc_arenas_where_glibc_allows(monkeypatch):
    """Each thread's own arena kept tens of megabytes the worker never used again."""
    import ctypes
    import platform

    from portal import worker as worker_module

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        pytest.skip("malloc arenas are glibc's")
    calls = []
    real = ctypes.CDLL

    class Recording:
        def __init__(self, *args, **kwargs):
            self.lib = real(*args, **kwargs)

        def mallopt(self, param, value):
            calls.append((param, value))
            return self.lib.mallopt(param, value)

    monkeypatch.setattr(ctypes, "CDLL", Recording)
    assert worker_module.limit_malloc_arenas() is True
    assert calls == [(worker_module.M_ARENA_MAX, worker_module.WORKER_ARENAS)]
