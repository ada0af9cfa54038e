"""Jobs that run once for all hosts: a lock per job, and the day a daily job ran for."""
import time

import pytest
import sqlalchemy as sa

from portal import clock
from portal.extensions import db
from portal.models import IndexReplica, JobRun
from portal.search import get_index
from portal.services.jobs import exclusive, lock_key
from portal.worker import Worker
from search_index import SearchIndex


def test_lock_keys_are_stable_and_distinct():
    assert lock_key("expiry") == lock_key("expiry") != lock_key("outbox pruning")
    assert -(2 ** 63) <= lock_key("expiry") < 2 ** 63


def test_one_holder_at_a_time(app):
    with exclusive(db.engine, "expiry") as first:
        assert first
        with exclusive(db.engine, "expiry") as second:
            assert not second                      # another connection / lock file: refused
        with exclusive(db.engine, "mail") as other:
            assert other                           # another job is another lock
    with exclusive(db.engine, "expiry") as again:
        assert again                               # released


def _workers(app, tmp_path):
    return (Worker(get_index(app), interval=0, replica="host-a"),
            Worker(SearchIndex(tmp_path / "index-b", refresh_interval=0), interval=0,
                   replica="host-b"))


def test_the_daily_expiry_runs_once_whichever_hosts_run_workers(app, session, tmp_path,
                                                                 monkeypatch):
    ran = []
    monkeypatch.setattr(Worker, "_expire", lambda self, today: ran.append(self.replica))
    a, b = _workers(app, tmp_path)
    a.round()
    b.round()
    a.round()
    assert ran == ["host-a"]
    row = session.get(JobRun, "expiry")
    assert (row.last_day, row.host) == (clock.today(), "host-a")
    # both hosts' indexes were kept by their own workers
    assert set(session.scalars(sa.select(IndexReplica.name))) == {"host-a", "host-b"}


def test_a_host_that_finds_the_job_running_elsewhere_skips_it_without_failing(
        app, session, tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(Worker, "_expire", lambda self, today: ran.append(self.replica))
    a, b = _workers(app, tmp_path)
    with exclusive(db.engine, "expiry") as held:          # host A is in the middle of it
        assert held
        b.round()
        assert ran == [] and b.status == "ok"
        expiry = next(job for job in b.jobs if job.name == "expiry")
        assert expiry.failures == 0 and expiry.last_day is None   # not done here: asks again
    a.round()                                              # A gets it now
    b.round()                                              # B finds the day done
    assert ran == ["host-a"]
    assert expiry.last_day == clock.today()


def test_a_failed_daily_run_is_not_recorded_and_runs_again(app, session, tmp_path, monkeypatch):
    calls = []

    def flaky(self, today):
        calls.append(today)
        if len(calls) == 1:
            raise RuntimeError("the database went away half-way")

    monkeypatch.setattr(Worker, "_expire", flaky)
    a, _ = _workers(app, tmp_path)
    a.round()
    assert session.get(JobRun, "expiry") is None
    expiry = next(job for job in a.jobs if job.name == "expiry")
    expiry.retry_at = None
    a.round()
    assert len(calls) == 2 and session.get(JobRun, "expiry").last_day == clock.today()


@pytest.mark.postgres
def test_the_lock_dies_with_its_holders_connection(app, backend):
    if backend != "postgresql":
        pytest.skip("advisory locks are PostgreSQL's")
    import psycopg

    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    other_host = psycopg.connect(url, autocommit=True)
    assert other_host.execute("SELECT pg_try_advisory_lock(%s)", (lock_key("expiry"),)).fetchone()[0]
    with exclusive(db.engine, "expiry") as mine:
        assert not mine
    other_host.close()                       # the host died: the server releases its lock
    deadline = time.monotonic() + 10         # as soon as its backend has gone (not at once)
    while True:
        with exclusive(db.engine, "expiry") as mine:
            if mine or time.monotonic() > deadline:
                break
        time.sleep(0.05)
    assert mine
