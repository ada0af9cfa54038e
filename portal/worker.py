"""The background worker: outbox → search index, the daily expiry, upload sweeps.

It must outlive every fault it can recover from: a database that goes away
for a while, a locked or missing search index, a bug in one job.  Each job
runs on its own; a failure is logged (no SQL parameters, no request data),
the session is rolled back, and the loop backs off (1 s, 2 s, 4 s … at most
``MAX_BACKOFF``) and tries again.  Every round writes a heartbeat file that
``/healthz`` reads, so a stuck or dead worker is visible.

A search index that is missing or has lost documents (its directory deleted,
emptied) is rebuilt from the public projection instead of being silently
recreated with the next few documents.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.extensions import db

log = logging.getLogger("portal.worker")

#: Longest pause between two attempts after consecutive failures (seconds).
MAX_BACKOFF = 30.0
#: How often partial and orphaned uploads are swept, and how old they must be.
SWEEP_EVERY = dt.timedelta(minutes=5)
SWEEP_OLDER_THAN = dt.timedelta(minutes=15)
#: How often the index is compared with the projection (a COUNT over the projection).
INDEX_CHECK_EVERY = dt.timedelta(seconds=60)


# --------------------------------------------------------------------------
# Heartbeat
# --------------------------------------------------------------------------

def heartbeat_path(app=None) -> Path:
    app = app or current_app
    return Path(app.config["PORTAL_HEARTBEAT_FILE"])


def write_heartbeat(path: Path, status: str, error: str | None = None) -> None:
    """Atomically replace the heartbeat file (``/healthz`` reads it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"at": clock.now().isoformat(timespec="seconds"), "pid": os.getpid(), "status": status}
    if error:
        body["error"] = error
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(body), encoding="utf-8")
    os.replace(tmp, path)


def read_heartbeat(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["at"] = dt.datetime.fromisoformat(data["at"])
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


# --------------------------------------------------------------------------
# The index against the projection
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class IndexState:
    exists: bool
    documents: int
    expected: int
    pending: int

    @property
    def lost(self) -> bool:
        """Missing, or fewer documents than the projection even after the pending outbox rows."""
        if self.expected == 0:
            return False
        return not self.exists or self.documents + self.pending < self.expected


def index_state(session, index, expected: int | None = None) -> IndexState:
    """``expected``: the projection's document count, when the caller has it cached."""
    from portal.models import OutboxEvent
    from portal.services.indexer import expected_count

    pending = session.scalar(sa.select(sa.func.count(OutboxEvent.id))
                             .where(OutboxEvent.processed_at.is_(None))) or 0
    exists = index.exists()
    return IndexState(exists=exists, documents=index.doc_count() if exists else 0,
                      expected=expected_count(session) if expected is None else expected,
                      pending=pending)


# --------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------

@dataclass
class Job:
    """A job that runs when due; ``every=None``: whenever the bureau's day changes."""

    name: str
    run: Callable[[], object]
    every: dt.timedelta | None = None
    last_day: dt.date | None = None
    next_at: dt.datetime | None = None

    def due(self, now: dt.datetime, today: dt.date) -> bool:
        if self.every is None:
            return self.last_day != today
        return self.next_at is None or now >= self.next_at

    def done(self, now: dt.datetime, today: dt.date) -> None:
        if self.every is None:
            self.last_day = today
        else:
            self.next_at = now + self.every


@dataclass
class Worker:
    index: object
    interval: float = 0.5
    failures: int = 0
    stopping: bool = False
    last_error: str | None = None
    jobs: list[Job] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.jobs:
            self.jobs = [
                Job("expiry", self.expire),
                Job("upload sweep", self.sweep, every=SWEEP_EVERY),
                Job("index check", self.heal_index, every=INDEX_CHECK_EVERY),
            ]

    # -- jobs ---------------------------------------------------------------
    def expire(self) -> None:
        from portal.rules.profiles import load_profile
        from portal.services.cases import expire_terms
        from portal.services.publication import end_expired_publication

        today = clock.today()
        removed = expire_terms(db.session, load_profile, current_app.config["PORTAL_LOOKUP_KEY"], today)
        db.session.commit()
        if removed:
            log.info("expired %d entries", len(removed))
        # Order 36: removal notices and removed entries stop being published after their period
        ended = end_expired_publication(db.session, load_profile, today)
        db.session.commit()
        if ended:
            log.info("withdrew %d publications after their period", len(ended))

    def sweep(self) -> None:
        from portal.services.uploads import sweep_orphans

        swept = sweep_orphans(db.session, current_app.config["PORTAL_UPLOAD_DIR"],
                              older_than=SWEEP_OLDER_THAN)
        db.session.rollback()
        if swept:
            log.info("removed %d orphaned or partial upload files", len(swept))

    def heal_index(self) -> bool:
        """Rebuild the index from the projection when it is missing or lost documents."""
        from portal.services import indexer

        state = index_state(db.session, self.index)
        if not state.lost:
            return False
        log.warning("search index %s (%d documents, %d expected, %d pending): rebuilding from "
                    "the projection", "missing" if not state.exists else "incomplete",
                    state.documents, state.expected, state.pending)
        count = indexer.rebuild(db.session, self.index)
        db.session.commit()
        log.info("search index rebuilt: %d documents", count)
        return True

    def sync(self) -> int:
        from portal.services import indexer
        from search_index import IndexLockedError

        if not self.index.exists() and self.heal_index():
            return 0
        try:
            done = indexer.sync(db.session, self.index)
            db.session.commit()
        except IndexLockedError:
            # A rebuild holds Whoosh's single write lock; its result includes these rows.
            db.session.rollback()
            log.info("index locked by a rebuild; retrying")
            return 0
        if done:
            log.info("indexed %d outbox rows", done)
        return done

    # -- one round ----------------------------------------------------------
    def _attempt(self, name: str, call: Callable[[], object]):
        try:
            return True, call()
        except Exception as error:                       # noqa: BLE001 - the loop must go on
            db.session.rollback()
            self.failures += 1
            kind = "database unavailable" if isinstance(error, sa.exc.DBAPIError) else "failed"
            # The exception's type and first line only: never SQL parameters or data.
            log.error("%s: %s (%s); retrying", name, kind, type(error).__name__)
            self.last_error = f"{name}: {kind}"
            return False, None

    def round(self) -> int:
        """Run what is due; returns how many outbox rows were applied (-1 after a failure)."""
        self.last_error = None
        now, today = clock.now(), clock.today()
        ok_all = True
        for job in self.jobs:
            if job.due(now, today):
                ok, _ = self._attempt(job.name, job.run)
                if ok:
                    job.done(now, today)
                ok_all &= ok
        ok, done = self._attempt("index sync", self.sync)
        ok_all &= ok
        if ok_all:
            self.failures = 0
        self._beat()
        return (done or 0) if ok_all else -1

    def _beat(self) -> None:
        try:
            write_heartbeat(heartbeat_path(), "ok" if self.failures == 0 else "retrying",
                            self.last_error)
        except OSError as error:
            log.error("cannot write the heartbeat file: %s", type(error).__name__)

    def pause(self, done: int) -> float:
        """Seconds to wait before the next round."""
        if done < 0:
            return min(MAX_BACKOFF, 2 ** min(self.failures - 1, 10))
        return 0.0 if done else self.interval

    def run(self, once: bool = False, sleep: Callable[[float], None] = time.sleep) -> None:
        while not self.stopping:
            done = self.round()
            db.session.remove()
            if once:
                break
            wait = self.pause(done)
            if wait:
                sleep(wait)
