"""The audit chain's head anchored outside the database.

The hash chain (``portal.services.audit``) proves that no row inside it was
changed, removed or reordered, but a database restored from an older copy or
with its last rows cut (and the head row set back to match) is itself a valid,
shorter chain.  So the head is also written, signed, where the database cannot
rewind it:

- an append-only JSON-lines file (``PORTAL_AUDIT_ANCHORS``, default
  ``instance/audit-anchors.jsonl``), one line per anchor:
  ``{"seq", "hash", "at", "reason", "mac"}`` where ``mac`` is an HMAC-SHA256
  with ``PORTAL_ANCHOR_KEY`` (a key of its own in ``instance/``) over the
  other fields; written once a day (``audit anchor --daily``, the worker) and
  at every backup;
- every backup's manifest (``portal.services.backup``).

:func:`check` compares the database's chain with every anchor: an anchored
position the chain no longer reaches (tail cut, older copy restored) or
reaches with a different hash (history rewritten) is a problem, and so is a
line whose signature does not match (the file was edited).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import AuditEvent, AuditHead
from portal.services.audit import GENESIS, Problem

_SIGNED = ("seq", "hash", "at", "reason")


@dataclass(frozen=True)
class Head:
    seq: int
    hash: str


def current_head(session: Session) -> Head:
    """The chain's head as the database records it (position 0 and the genesis hash when empty)."""
    row = session.execute(sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    return Head(row.seq, row.hash) if row is not None else Head(0, GENESIS)


def _mac(key: str, record: dict) -> str:
    payload = json.dumps([record[k] for k in _SIGNED], ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key.encode(), payload.encode(), hashlib.sha256).hexdigest()


def read(path: Path | str) -> list[dict]:
    """Every line of the anchor file as written (an unreadable line is kept as ``{"raw": ...}``)."""
    path = Path(path)
    if not path.exists():
        return []
    lines = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError
        except ValueError:
            record = {"raw": line}
        record["_line"] = number
        lines.append(record)
    return lines


def append(path: Path | str, key: str, head: Head, reason: str) -> dict:
    """Append one signed anchor (opened in append mode and fsynced: never rewrites earlier lines)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"seq": head.seq, "hash": head.hash, "at": clock.now().isoformat(timespec="seconds"),
              "reason": reason}
    record["mac"] = _mac(key, record)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return record


def anchor(session: Session, path: Path | str, key: str, reason: str = "manual") -> dict | None:
    """Anchor the current head unless the last valid anchor already holds it (nothing new)."""
    head = current_head(session)
    valid = [r for r in read(path) if _valid(key, r)]
    if valid and (valid[-1]["seq"], valid[-1]["hash"]) == (head.seq, head.hash):
        return None
    return append(path, key, head, reason)


def anchor_daily(session: Session, path: Path | str, key: str) -> dict | None:
    """Anchor the head once per bureau day (the worker and ``audit anchor --daily`` call this)."""
    today = clock.today().isoformat()
    if any(_valid(key, r) and r.get("reason") == "daily" and _day(r) == today for r in read(path)):
        return None
    head = current_head(session)
    return append(path, key, head, "daily")


def anchor_today(session: Session, config) -> dict | None:
    """The worker's daily call: :func:`anchor_daily` with the application's settings."""
    path, key = anchor_settings(config)
    return anchor_daily(session, path, key)


def _day(record: dict) -> str:
    try:
        return clock.local_day(dt.datetime.fromisoformat(record["at"])).isoformat()
    except (KeyError, TypeError, ValueError):
        return ""


def _valid(key: str, record: dict) -> bool:
    if not all(k in record for k in _SIGNED) or not isinstance(record.get("mac"), str):
        return False
    if not isinstance(record["seq"], int) or not isinstance(record["hash"], str):
        return False
    return hmac.compare_digest(_mac(key, record), record["mac"])


def check(session: Session, path: Path | str, key: str) -> list[Problem]:
    """Compare the chain with every anchor; an empty list means every anchor is still reached."""
    problems: list[Problem] = []
    records = read(path)
    head = current_head(session)
    wanted: dict[int, list[dict]] = {}
    for record in records:
        if not _valid(key, record):
            problems.append(Problem(int(record["seq"]) if isinstance(record.get("seq"), int) else 0,
                                    f"anchor line {record['_line']}: signature does not match "
                                    "(anchor file edited)"))
            continue
        wanted.setdefault(record["seq"], []).append(record)
    if not wanted:
        return problems
    top = max(wanted)
    if top > head.seq:
        problems.append(Problem(top, f"chain ends at position {head.seq} but position {top} was "
                                     f"anchored on {wanted[top][-1]['at']} (tail cut or an older "
                                     "copy restored)"))
    found = dict(session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.seq.in_(list(wanted)))
    ).all())
    found[0] = GENESIS
    for seq in sorted(wanted):
        if seq > head.seq:
            continue
        for record in wanted[seq]:
            if found.get(seq) != record["hash"]:
                problems.append(Problem(seq, f"position {seq} differs from the anchor of "
                                             f"{record['at']} (history rewritten)"))
                break
    return problems


def anchor_settings(config) -> tuple[Path, str]:
    """The anchor file and its key from the application's configuration."""
    path = config.get("PORTAL_AUDIT_ANCHORS") or str(
        Path(config["PORTAL_UPLOAD_DIR"]).parent / "audit-anchors.jsonl")
    key = config.get("PORTAL_ANCHOR_KEY") or config["SECRET_KEY"]
    return Path(path), key


def verify_all(session: Session, config) -> list[Problem]:
    """The chain recomputed (``audit.verify``) and compared with every anchor."""
    from portal.services.audit import verify

    path, key = anchor_settings(config)
    return verify(session) + check(session, path, key)
