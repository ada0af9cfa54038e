"""Jobs that run once for all hosts, whichever host's worker gets there first.

A worker runs on every host. The daily expiry, the outbox pruning, the mail and the
upload sweep must each run once, not once per host: :func:`exclusive` holds a lock
named after the job while it runs — a PostgreSQL advisory lock on a connection of its
own (released by the server if the host dies), on SQLite a lock file beside the
database (one worker, as the README asks, but the same code). A host that does not get
the lock skips the job this round. A daily job also records the bureau's day it ran for
(:class:`portal.models.JobRun`), so the host that gets the lock next does not run it a
second time that day.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from filelock import FileLock, Timeout

from portal import clock
from portal.models import JobRun

#: Longest pause between two attempts after consecutive failures (seconds).
MAX_BACKOFF = 30.0

_local_locks: dict[str, threading.Lock] = {}


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_lock`` (the job's name, hashed)."""
    digest = hashlib.blake2b(f"portal-job:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def exclusive(engine: sa.Engine, name: str) -> Iterator[bool]:
    """Yield True while this process holds the job's lock, False when another holds it."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            key = lock_key(name)
            got = bool(conn.scalar(sa.select(sa.func.pg_try_advisory_lock(key))))
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    try:
                        conn.scalar(sa.select(sa.func.pg_advisory_unlock(key)))
                        conn.commit()
                    except sa.exc.DBAPIError:
                        # never return a connection that may still hold the lock to the pool
                        conn.invalidate()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        lock = _local_locks.setdefault(name, threading.Lock())
        got = lock.acquire(blocking=False)
        try:
            yield got
        finally:
            if got:
                lock.release()
        return
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    file_lock = FileLock(str(Path(database).with_name(f"{Path(database).name}.job-{slug}.lock")))
    try:
        file_lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    try:
        yield True
    finally:
        file_lock.release()


def ran_on(session, name: str):
    """The bureau's day the daily job *name* last ran for (None: never)."""
    row = session.get(JobRun, name)
    return row.last_day if row else None


def record(session, name: str, host: str, day=None, mark: int | None = None) -> None:
    """Note that *name* ran now (for *day*, with *mark*); flushes, the caller commits."""
    row = session.get(JobRun, name)
    if row is None:
        row = JobRun(name=name)
        session.add(row)
    row.last_at, row.host = clock.now(), host[:100]
    if day is not None:
        row.last_day = day
    if mark is not None:
        row.mark = mark
    session.flush()


def run_daily(session, name: str, day, host: str, call: Callable[[], object]) -> bool:
    """Run the daily job *call* for the bureau's *day* unless some host already did (call
    it holding the job's lock: :func:`exclusive`). True when it ran now."""
    last = ran_on(session, name)
    session.rollback()
    if last is not None and last >= day:
        return False
    call()
    record(session, name, host, day=day)
    session.commit()
    return True


def backoff(failures: int) -> float:
    """1 s, 2 s, 4 s … at most :data:`MAX_BACKOFF`."""
    return min(MAX_BACKOFF, 2.0 ** min(max(failures, 1) - 1, 10))


@dataclass
class Job:
    """A job that runs when due; ``every=None``: whenever the bureau's day changes."""

    name: str
    run: Callable[[], object]
    every: dt.timedelta | None = None
    shared: bool = False                  # runs once for all hosts (under :func:`exclusive`)
    last_day: dt.date | None = None
    next_at: dt.datetime | None = None
    failures: int = 0
    retry_at: dt.datetime | None = None

    def due(self, now: dt.datetime, today: dt.date) -> bool:
        if self.retry_at is not None and now < self.retry_at:
            return False                        # backing off after a failure (this job only)
        if self.every is None:
            return self.last_day != today
        return self.next_at is None or now >= self.next_at

    def done(self, now: dt.datetime, today: dt.date) -> None:
        self.failures, self.retry_at = 0, None
        if self.every is None:
            self.last_day = today
        else:
            self.next_at = now + self.every

    def failed(self, now: dt.datetime) -> None:
        self.failures += 1
        self.retry_at = now + dt.timedelta(seconds=backoff(self.failures))
