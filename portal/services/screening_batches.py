"""Batch screening files: queued from the page, screened by the workers in chunks, kept
until the retention ends.

* :func:`create` stores the records of an upload sealed (Fernet: AES-128-CBC with an
  HMAC, under a key derived from the secret key every host shares) with a secret token;
  only the token's SHA-256 is kept, so the database alone cannot open a batch's page.
* :func:`run_once` (the worker, every host) claims the oldest unfinished batch under a
  lease (an ``UPDATE … WHERE`` that only one host wins), screens its next chunk, stores
  the chunk's results sealed and moves the count on — in one transaction, so a host that
  dies mid-chunk leaves the chunk to the next claimant and no row is screened twice.
  Once every row is screened the uploaded rows are dropped.
* :func:`sweep` deletes every batch whose retention has ended (``expires_at``), with
  its results: ``PORTAL_SCREENING_RETENTION_HOURS`` after it finished (or was uploaded,
  if it never finished).
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import unicodedata
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from portal import security
from portal.models import BatchStatus, ScreeningBatch, ScreeningChunk
from portal.rules import identifiers
from portal.security import lookup_hash
from portal.services import public_queries as queries
from portal.services import screening
from portal.services.screening import Record, Result

CHUNK = 500
LEASE = dt.timedelta(minutes=2)
DEFAULT_RETENTION_HOURS = 24
UNFINISHED = (BatchStatus.QUEUED, BatchStatus.RUNNING)


# -- sealing ----------------------------------------------------------------
def _fernet(secret: str) -> Fernet:
    return security.fernet(secret, b"portal batch screening files")


def seal(secret: str, value) -> bytes:
    data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _fernet(secret).encrypt(zlib.compress(data, 6))


def unseal(secret: str, data: bytes):
    """The value sealed by :func:`seal`; ValueError if the key differs or the bytes changed."""
    try:
        return json.loads(zlib.decompress(_fernet(secret).decrypt(bytes(data))))
    except (InvalidToken, zlib.error, ValueError) as error:
        raise ValueError("sealed data cannot be opened") from error


def retention(config) -> dt.timedelta:
    return dt.timedelta(hours=float(config.get("PORTAL_SCREENING_RETENTION_HOURS",
                                               DEFAULT_RETENTION_HOURS)))


def create(session: Session, secret: str, records: Sequence[Record], *, filename: str,
           threshold: float, jurisdiction: str | None, codes: Sequence[str] | None,
           now: dt.datetime, keep: dt.timedelta) -> tuple[ScreeningBatch, str]:
    """Queue ``records`` for screening; (the batch, its secret token). Flushes.

    ``jurisdiction``: the one asked for (None: the whole portal); ``codes``: the
    jurisdictions it covers, looked in (None: all)."""
    token = secrets.token_urlsafe(24)
    # a control character (a NUL above all: PostgreSQL cannot store it) is no part of a name
    filename = "".join(c for c in filename if unicodedata.category(c) != "Cc")
    batch = ScreeningBatch(
        token_hash=security.token_digest(token), status=BatchStatus.QUEUED, filename=filename[:200],
        total=len(records), processed=0, matched=0, invalid=0, threshold=threshold,
        jurisdiction=jurisdiction, codes=",".join(codes) if codes is not None else None,
        created_at=now, expires_at=now + keep,
        rows=seal(secret, [[r.row, r.name, r.code] for r in records]))
    session.add(batch)
    session.flush()
    return batch, token


def by_token(session: Session, token: str, now: dt.datetime) -> ScreeningBatch | None:
    if not token or len(token) > 64:
        return None
    batch = session.execute(sa.select(ScreeningBatch)
                            .where(ScreeningBatch.token_hash == security.token_digest(token))
                            ).scalar_one_or_none()
    if batch is None or _aware(batch.expires_at) <= now:
        return None
    return batch


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo else at.replace(tzinfo=dt.UTC)


def delete(session: Session, batch: ScreeningBatch) -> None:
    session.execute(sa.delete(ScreeningChunk).where(ScreeningChunk.batch_id == batch.id))
    session.delete(batch)
    session.flush()


# -- the worker -------------------------------------------------------------
def _claim(session: Session, worker: str, now: dt.datetime) -> ScreeningBatch | None:
    """Take the lease of the oldest unfinished batch that no other host holds."""
    free = (ScreeningBatch.lease_until.is_(None) | (ScreeningBatch.lease_until < now)
            | (ScreeningBatch.leased_by == worker))
    candidates = session.execute(
        sa.select(ScreeningBatch.id).where(ScreeningBatch.status.in_(UNFINISHED), free,
                                           ScreeningBatch.expires_at > now)
        .order_by(ScreeningBatch.id).limit(3)).scalars().all()
    for batch_id in candidates:
        taken = session.execute(
            sa.update(ScreeningBatch).where(ScreeningBatch.id == batch_id, free,
                                            ScreeningBatch.status.in_(UNFINISHED))
            .values(leased_by=worker, lease_until=now + LEASE, status=BatchStatus.RUNNING)
            .execution_options(synchronize_session=False))
        if taken.rowcount == 1:
            session.commit()
            batch = session.get(ScreeningBatch, batch_id)
            session.refresh(batch)
            return batch
        session.rollback()
    return None


def to_json(result: Result, key: str) -> dict:
    """A screened record as stored: masked codes only, and for a valid USCC or resident ID
    number its keyed hash (what a query certificate of the code is issued from)."""
    code = result.record.code
    subject = None
    if code and result.error is None and result.code_kind in ("uscc", "ric"):
        subject = {"kind": result.code_kind,
                   "hash": lookup_hash(key, identifiers.normalise(code[:64]))}
    name = result.record.name
    return {
        # a resident ID number typed into the name column is never shown back in full
        "row": result.record.row, "name": identifiers.mask_ric_numbers(name) if name else name,
        "code": result.masked_code, "error": str(result.error) if result.error else None,
        "error_reason": result.error_reason, "subject": subject,
        "matches": [match_json(m) for m in result.matches],
    }


def match_json(match) -> dict:
    def day(value):
        return value.isoformat() if value else None
    return {
        "public_id": match.public_id, "jurisdiction": match.jurisdiction,
        "subject_kind": match.subject_kind, "name": match.name, "code": match.masked_code,
        "listed_on": day(match.listed_on), "ground_code": match.ground_code,
        "ground": {"zh_CN": match.ground_text, "en": match.ground_text_en or match.ground_text},
        "term_last_day": day(match.term_last_day), "leaves_list_on": day(match.leaves_list_on),
        "how": match.how, "score": round(float(match.score), 3),
        "reasons": list(match.reasons),
        # the entry has a public page (a person a profile does not publish has none)
        "public": bool(match.public),
    }


def run_once(session: Session, secret: str, key: str, worker: str, now: dt.datetime,
             today: dt.date, *, chunk: int = CHUNK, screen: Callable | None = None) -> int:
    """Screen the next chunk of one batch; the number of rows screened (0: nothing to do).
    ``secret``: what the rows are sealed under; ``key``: the lookup key. Commits."""
    batch = _claim(session, worker, now)
    if batch is None:
        return 0
    start = batch.processed
    try:
        rows = unseal(secret, batch.rows) if batch.rows is not None else None
    except ValueError:
        rows = None
    if rows is None:
        batch.status, batch.failure, batch.rows = BatchStatus.FAILED, "unreadable", None
        batch.leased_by = batch.lease_until = None
        session.commit()
        return 0
    records = [Record(row=r, name=n, code=c) for r, n, c in rows[start:start + chunk]]
    codes = batch.codes.split(",") if batch.codes is not None else None
    results = (screen or screening.screen)(session, records, threshold=batch.threshold,
                                           jurisdictions=codes, today=today, key=key)
    stored = [to_json(result, key) for result in results]
    version, _changed = queries.publication_version(session)
    done = start + len(records)
    values = {
        "processed": done, "publication_version": version,
        "matched": ScreeningBatch.matched + sum(1 for r in stored if r["matches"]),
        "invalid": ScreeningBatch.invalid + sum(1 for r in stored if r["error"]),
        "lease_until": now + LEASE,
        "started_at": sa.func.coalesce(ScreeningBatch.started_at, now),
    }
    if done >= batch.total:
        values.update(status=BatchStatus.DONE, finished_at=now, rows=None, leased_by=None,
                      lease_until=None, expires_at=now + (_aware(batch.expires_at)
                                                          - _aware(batch.created_at)))
    # Move the count on only from where this host started, and only while it holds the
    # lease (the row is locked until the commit): a host whose lease ran out meanwhile
    # finds its chunk done by the other and stores nothing.
    moved = session.execute(
        sa.update(ScreeningBatch)
        .where(ScreeningBatch.id == batch.id, ScreeningBatch.processed == start,
               ScreeningBatch.leased_by == worker)
        .values(**values).execution_options(synchronize_session=False))
    if moved.rowcount != 1:
        session.rollback()
        return 0
    session.add(ScreeningChunk(batch_id=batch.id, start=start, count=len(records),
                               results=seal(secret, stored)))
    session.commit()
    return len(records)


def sweep(session: Session, now: dt.datetime) -> int:
    """Delete the batches whose retention has ended, with their results. Commits."""
    ids = session.execute(sa.select(ScreeningBatch.id)
                          .where(ScreeningBatch.expires_at <= now)).scalars().all()
    if ids:
        session.execute(sa.delete(ScreeningChunk).where(ScreeningChunk.batch_id.in_(ids)))
        session.execute(sa.delete(ScreeningBatch).where(ScreeningBatch.id.in_(ids)))
        session.commit()
    return len(ids)


# -- reading results --------------------------------------------------------
def results(session: Session, secret: str, batch: ScreeningBatch) -> Iterator[dict]:
    """The screened records of ``batch`` in file order."""
    chunks = session.execute(sa.select(ScreeningChunk.results)
                             .where(ScreeningChunk.batch_id == batch.id)
                             .order_by(ScreeningChunk.start)).scalars()
    for data in chunks:
        yield from unseal(secret, data)


def readable(session: Session, secret: str, batch: ScreeningBatch) -> bool:
    """Whether the results of a screened batch still open with ``secret``. Results sealed
    under a secret key since changed cannot: the batch is marked failed (``unreadable``)
    and its chunks deleted, so its page says so instead of failing. Flushes."""
    if batch.status is not BatchStatus.DONE:
        return True
    first = session.execute(sa.select(ScreeningChunk.results)
                            .where(ScreeningChunk.batch_id == batch.id)
                            .order_by(ScreeningChunk.start).limit(1)).scalar()
    try:
        if first is not None:
            unseal(secret, first)
        return True
    except ValueError:
        session.execute(sa.delete(ScreeningChunk).where(ScreeningChunk.batch_id == batch.id))
        batch.status, batch.failure = BatchStatus.FAILED, "unreadable"
        session.flush()
        return False


@dataclass(frozen=True)
class Progress:
    status: str
    total: int
    processed: int
    matched: int
    invalid: int

    @property
    def percent(self) -> int:
        return 100 if not self.total else int(self.processed * 100 / self.total)

    def as_json(self) -> dict:
        return {"status": self.status, "total": self.total, "processed": self.processed,
                "matched": self.matched, "invalid": self.invalid, "percent": self.percent}


def progress(batch: ScreeningBatch) -> Progress:
    return Progress(batch.status.value, batch.total, batch.processed, batch.matched,
                    batch.invalid)
