"""The background worker: outbox → search index, the daily expiry, upload sweeps, exports,
webhooks.

It must outlive every fault it can recover from: a database that goes away
for a while, a locked or missing search index, a bug in one job.  Each job
runs on its own; a failure is logged (no SQL parameters, no request data),
the session is rolled back, and the loop backs off (1 s, 2 s, 4 s … at most
``portal.services.jobs.MAX_BACKOFF``) and tries again.  Every round writes a heartbeat file that
``/healthz`` reads, so a stuck or dead worker is visible.

A search index that is missing or has lost documents (its directory deleted,
emptied) is rebuilt from the public projection instead of being silently
recreated with the next few documents.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from portal import clock
from portal.extensions import db
from portal.heartbeat import heartbeat_path, write_heartbeat
from portal.services.indexer import index_state
from portal.services.jobs import Job, backoff, exclusive, record, run_daily
from portal.webhook_jobs import WebhookJobs

log = logging.getLogger("portal.worker")

#: How often partial and orphaned uploads are swept, and how old they must be.
SWEEP_EVERY = dt.timedelta(minutes=5)
SWEEP_OLDER_THAN = dt.timedelta(minutes=15)
#: How often the index is compared with the projection (a COUNT over the projection).
INDEX_CHECK_EVERY = dt.timedelta(seconds=60)
#: How often the heartbeat is written while the loop is busy (a long rebuild) or asleep.
BEAT_EVERY = 15.0
#: How often superseded outbox rows are pruned (once for all hosts).
PRUNE_EVERY = dt.timedelta(minutes=10)
#: How often due e-mail is looked for (once for all hosts).
MAIL_EVERY = dt.timedelta(seconds=5)
#: How often a worker reports its index's position when nothing changed.
REPORT_EVERY = dt.timedelta(seconds=30)
#: How often uploaded screening files are looked for (each host screens a chunk at a time).
SCREENING_EVERY = dt.timedelta(seconds=0.5)
#: How often screening files past their retention are deleted.
SCREENING_SWEEP_EVERY = dt.timedelta(minutes=1)
#: How often the export files are compared with the publication version (one small query).
EXPORTS_CHECK_EVERY = dt.timedelta(seconds=2)
#: Watchlists are told of a change within this (plus the mail job's round).
WATCH_EVERY = dt.timedelta(seconds=2)
#: How often new case events are queued for the webhooks, and due deliveries looked for.
WEBHOOKS_EVERY = dt.timedelta(seconds=1)


# --------------------------------------------------------------------------
# The daily job (the worker, and `flask --app wsgi expire`)
# --------------------------------------------------------------------------

def end_of_day(day: dt.date) -> tuple[list[str], list[str]]:
    """Terms ended by ``day`` are removed; then removal notices and removed entries past
    their profile's publication period stop being published (Order 36). Commits each step."""
    from portal.rules.profiles import load_profile
    from portal.services.cases import expire_terms
    from portal.services.publication import end_expired_publication

    removed = expire_terms(db.session, load_profile, current_app.config["PORTAL_LOOKUP_KEY"], day)
    db.session.commit()
    ended = end_expired_publication(db.session, load_profile, day, after_chunk=db.session.commit)
    db.session.commit()
    return removed, ended


# --------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------

#: glibc's mallopt parameter for the number of malloc arenas
M_ARENA_MAX = -8
WORKER_ARENAS = 2


def limit_malloc_arenas(count: int = WORKER_ARENAS) -> bool:
    """Let this process's threads share ``count`` malloc arenas (glibc; elsewhere nothing).

    glibc gives a thread that allocates under contention an arena of its own, up to eight
    per core, and keeps what is freed in it. The worker's threads (heartbeat, exports, and
    the index writer's, started anew for every commit) then hold tens of megabytes that the
    process never uses again: at a million entries its peak grew by 30 MB over five commits.
    Called before the threads start; the same as ``MALLOC_ARENA_MAX`` in the environment."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False


class JobBusy(Exception):
    """Another host's worker runs this shared job now."""


@dataclass
class Worker:
    """The loop; ``stop()`` (from a signal handler) ends it after the current round."""

    index: object
    interval: float = 0.25
    failures: int = 0                    # consecutive failed outbox syncs (the loop's back-off)
    last_error: str | None = None
    status: str = "starting"
    round_at: dt.datetime | None = None
    index_seen: dict | None = None       # the last comparison of the index with the projection
    jobs: list[Job] = field(default_factory=list)
    heartbeat_file: Path | None = None
    replica: str = ""                    # this host's index as the other hosts see it
    _mail_pruned: dt.date | None = None
    reported_at: dt.datetime | None = None
    exporting: threading.Thread | None = None   # the build of a new version's export files
    _short: int = 0                      # consecutive index checks that found documents missing
    _screening: bool = False             # a screening file was worked on since the queue emptied
    webhooks: WebhookJobs | None = None    # the webhook jobs (portal.webhook_jobs)
    _stop: threading.Event = field(default_factory=threading.Event)
    _beat_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def settle(self) -> dt.timedelta:
        return dt.timedelta(seconds=current_app.config.get("PORTAL_CHANGES_SETTLE_SECONDS", 60))

    def __post_init__(self) -> None:
        if not self.replica:
            from portal.services.indexer import replica_name

            config = current_app.config
            self.replica = replica_name(config["PORTAL_INDEX_DIR"], config.get("PORTAL_REPLICA_NAME"))
        self.webhooks = self.webhooks or WebhookJobs(self.replica, lambda: self.stopping)
        if not self.jobs:
            self.jobs = [
                Job("expiry", self.expire, shared=True),
                Job("outbox pruning", self.prune, every=PRUNE_EVERY, shared=True),
                Job("upload sweep", self.sweep, every=SWEEP_EVERY, shared=True),
                Job("mail", self.mail, every=MAIL_EVERY, shared=True),
                Job("watch", self.watch, every=WATCH_EVERY, shared=True),
                Job("index check", self.heal_index, every=INDEX_CHECK_EVERY),
                Job("exports", self.exports, every=EXPORTS_CHECK_EVERY),
                Job("screening", self.screen_files, every=SCREENING_EVERY),
                Job("screening sweep", self.sweep_screening, every=SCREENING_SWEEP_EVERY,
                    shared=True),
                Job("webhook fan-out", self.webhooks.fan_out, every=WEBHOOKS_EVERY, shared=True),
                Job("webhook delivery", self.webhooks.deliver, every=WEBHOOKS_EVERY),
            ]

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self, *_signal) -> None:
        self._stop.set()

    # -- jobs ---------------------------------------------------------------
    def expire(self) -> None:
        """Once a bureau's day for all hosts: the first host to get the job's lock runs it
        and records the day; the others find it done."""
        today = clock.today()
        if run_daily(db.session, "expiry", today, self.replica, lambda: self._expire(today)):
            log.info("daily expiry of %s done by %s", today.isoformat(), self.replica)

    def _expire(self, today) -> None:
        removed, ended = end_of_day(today)
        if removed:
            log.info("expired %d entries", len(removed))
        if ended:
            log.info("withdrew %d publications after their period", len(ended))
        # the audit chain's head, signed, outside the database (a restore or a cut tail shows)
        from portal.services.anchors import anchor_today

        anchor_today(db.session, current_app.config)
        db.session.rollback()

    def prune(self) -> None:
        from portal.services.outbox_pruning import prune

        config = current_app.config
        pruned = prune(db.session, clock.now(),
                       dt.timedelta(days=config.get("PORTAL_OUTBOX_RETENTION_DAYS", 30)),
                       after_chunk=db.session.commit)
        record(db.session, "outbox pruning", self.replica, mark=pruned.through)
        db.session.commit()
        if pruned.rows or pruned.deregistered:
            log.info("pruned %d outbox rows; replicas no longer seen: %s", pruned.rows,
                     ", ".join(pruned.deregistered) or "none")

    def mail(self) -> None:
        """Send the e-mail that is due (one host at a time), and once a day forget old sent
        rows. SMTP trouble is recorded on the rows (back-off, then failed: /admin/mail)."""
        from portal.services import mail_queue

        config = current_app.config
        while True:
            result = mail_queue.deliver_due(db.session, config, clock.now(),
                                            after_each=db.session.commit)
            db.session.commit()
            if result.tried:
                log.info("mail: %d sent, %d to retry, %d failed", result.sent,
                         result.retrying, result.failed)
            if result.unreachable or result.tried < mail_queue.DEFAULT_LIMIT or self.stopping:
                break
        if self._mail_pruned != clock.today():
            mail_queue.prune_sent(db.session, clock.now())
            db.session.commit()
            self._mail_pruned = clock.today()

    def watch(self) -> None:
        """Compare the public change log with the watchlists; alerts, then their e-mail."""
        from portal.services import notifications, watch_alerts

        config = current_app.config
        mail = notifications.configured(config)
        more = True
        while more and not self.stopping:
            told, more = watch_alerts.run(
                db.session, config["PORTAL_LOOKUP_KEY"], self.settle, clock.now(),
                lambda session, alerts: watch_alerts.notify(session, alerts, clock.now(),
                                                            mail=mail))
            db.session.commit()
            if told:
                log.info("watchlists: %d alerts", told)

    def sweep(self) -> None:
        from portal.services.uploads import sweep_orphans

        swept = sweep_orphans(db.session, current_app.config["PORTAL_UPLOAD_DIR"],
                              older_than=SWEEP_OLDER_THAN)
        db.session.rollback()
        if swept:
            log.info("removed %d orphaned or partial upload files", len(swept))

    def screen_files(self) -> int:
        """Screen the next chunk of an uploaded file (any host; a lease keeps a chunk to
        one), and keep going while there is more, a chunk per round."""
        from portal.services import screening_batches

        config = current_app.config
        done = screening_batches.run_once(db.session, config["SECRET_KEY"],
                                          config["PORTAL_LOOKUP_KEY"], self.replica,
                                          clock.now(), clock.today())
        db.session.rollback()
        if done:
            self._screening = True
        elif self._screening:
            # the queue is empty: give back the names index (tens of MB on a large list)
            from portal.services import screening_index

            screening_index.clear()
            self._screening = False
        return done

    def sweep_screening(self) -> None:
        from portal.services import screening_batches

        deleted = screening_batches.sweep(db.session, clock.now())
        if deleted:
            log.info("deleted %d screening files past their retention", deleted)

    def heal_index(self) -> bool:
        """Rebuild the index from the projection when it is missing or has lost documents.

        A missing or empty index is rebuilt at once; a few documents short must be seen
        by two checks in a row (a publication committed between the two counts of one
        check is not a loss).
        """
        from portal.services import indexer

        state = index_state(db.session, self.index)
        self.index_seen = state.as_dict()
        if not state.lost and state.current:
            self._short = 0
            return False
        if state.current and state.exists and state.documents > 0:
            self._short += 1
            if self._short < 2:
                log.info("search index %d documents short; checking again", state.expected
                         - state.documents - state.pending)
                return False
        self._short = 0
        log.warning("search index %s (%d documents, %d expected, %d pending): rebuilding from "
                    "the projection", "missing" if not state.exists else
                    "written with an earlier analysis" if not state.current else "incomplete",
                    state.documents, state.expected, state.pending)
        self.status = "rebuilding"
        self._beat()
        count = indexer.rebuild(db.session, self.index,
                                current_app.config.get("PORTAL_INDEX_BUILD_PROCESSES"),
                                settle=self.settle)
        db.session.rollback()
        self.index_seen = {"exists": True, "documents": count, "expected": count, "pending": 0,
                           "current": True}
        log.info("search index rebuilt: %d documents", count)
        return True

    def exports(self) -> bool:
        """Start building the export files of a new publication version, in a thread of its
        own (a large workbook must not hold up the index sync); True when one was started."""
        from portal.services import opendata_files
        from portal.services.public_queries import publication_version

        if self.exporting is not None and self.exporting.is_alive():
            return False
        version, changed_at = publication_version(db.session)
        db.session.rollback()
        if not opendata_files.missing(version):
            return False
        app = current_app._get_current_object()
        self.exporting = threading.Thread(target=self._build_exports, name="exports", daemon=True,
                                          args=(app, version, changed_at))
        self.exporting.start()
        return True

    @staticmethod
    def _build_exports(app, version: int, changed_at) -> None:
        from portal.services import opendata_files

        # a request context: the files carry absolute entry URLs (url_for)
        with app.test_request_context(base_url=app.config["PORTAL_BASE_URL"]):
            try:
                built = opendata_files.build_all(db.session, version, changed_at)
                log.info("built %d export files of publication version %d", built, version)
            except Exception as error:               # noqa: BLE001 - the next check retries
                log.error("exports: failed (%s); retrying", type(error).__name__)
            finally:
                db.session.rollback()
                db.session.remove()

    def sync(self) -> int:
        from portal.services import indexer
        from search_index import IndexLockedError

        if not self.index.exists() and self.heal_index():
            return 0
        if indexer.position_of(self.index) is None and self.heal_index():
            return 0
        try:
            done = indexer.sync(db.session, self.index, settle=self.settle)
            db.session.rollback()
            now = clock.now()
            if done or self.reported_at is None or now - self.reported_at >= REPORT_EVERY:
                indexer.report(db.session, self.replica, self.index)
                db.session.commit()
                self.reported_at = now
        except IndexLockedError:
            # A rebuild holds the index's single write lock; its result includes these rows.
            db.session.rollback()
            log.info("index locked by a rebuild; retrying")
            return 0
        if done:
            log.info("indexed %d outbox rows", done)
        return done

    # -- one round ----------------------------------------------------------
    def _run_job(self, job: Job, now: dt.datetime, today) -> None:
        """A shared job runs under its lock; while another host holds it, this host skips it
        (a periodic job until its next turn, the daily job until the other host is done)."""
        def call():
            if not job.shared:
                return job.run()
            with exclusive(db.engine, job.name) as mine:
                if not mine:
                    raise JobBusy
                return job.run()

        try:
            ok, _ = self._attempt(job.name, call)
        except JobBusy:
            if job.every is not None:
                job.done(now, today)
            return
        job.done(now, today) if ok else job.failed(now)

    def _attempt(self, name: str, call: Callable[[], object]):
        try:
            return True, call()
        except JobBusy:
            db.session.rollback()
            raise
        except Exception as error:                       # noqa: BLE001 - the loop must go on
            db.session.rollback()
            kind = "database unavailable" if isinstance(error, sa.exc.DBAPIError) else "failed"
            # The exception's type only: never SQL parameters or data.
            log.error("%s: %s (%s); retrying", name, kind, type(error).__name__)
            self.last_error = f"{name}: {kind}"
            return False, None

    def round(self) -> int:
        """Run what is due; returns how many outbox rows were applied (-1: the sync failed).

        A failing job backs off on its own and never holds up the others.
        """
        self.last_error = None
        now, today = clock.now(), clock.today()
        failing = False
        for job in self.jobs:
            if job.due(now, today):
                self._run_job(job, now, today)
            failing |= job.failures > 0
        ok, done = self._attempt("index sync", self.sync)
        self.failures = 0 if ok else self.failures + 1
        self.status = "retrying" if failing or not ok else "ok"
        self.round_at = clock.now()
        self._beat()
        return (done or 0) if ok else -1

    def _beat(self) -> None:
        extra = {"round_at": self.round_at.isoformat(timespec="seconds") if self.round_at else None,
                 "index": self.index_seen}
        try:
            with self._beat_lock:
                write_heartbeat(self.heartbeat_file or heartbeat_path(), self.status,
                                self.last_error, **extra)
        except OSError as error:
            log.error("cannot write the heartbeat file: %s", type(error).__name__)

    def _beating(self) -> None:
        """Keep the heartbeat fresh while the loop sleeps or runs a long job (a rebuild)."""
        while not self._stop.wait(BEAT_EVERY):
            self._beat()

    def pause(self, done: int) -> float:
        """Seconds to wait before the next round."""
        if done < 0:
            return backoff(self.failures)
        return 0.0 if done else self.interval

    def run(self, once: bool = False) -> None:
        self.heartbeat_file = self.heartbeat_file or heartbeat_path()
        if not once:
            limit_malloc_arenas()
            threading.Thread(target=self._beating, name="heartbeat", daemon=True).start()
        while not self.stopping:
            done = self.round()
            db.session.remove()
            if once:
                break
            wait = self.pause(done)
            if wait:
                self._stop.wait(wait)
