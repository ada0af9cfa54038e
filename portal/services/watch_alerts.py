"""The watch job: the public change log compared with every watchlist's codes.

:func:`run` (a shared worker job, every few seconds, so within a minute of publication)
reads the entries that changed after the position it reached (``portal.services.change_log.read``:
the public representation, gaps left by transactions still open waited for), and tells
each change apart by what it saw of the entry before (:class:`WatchSeen`):

* ``listed`` — a new entry on the public list;
* ``corrected`` — its correction date moved (更正);
* ``under_objection`` / ``objection_closed`` — the public objection marker went on / off;
* ``removed`` — removed from the list, or withdrawn from publication.

Each change that concerns a watched code (the entry's code and its legacy codes, through
their keyed hashes) becomes a :class:`WatchAlert` of every watchlist holding it, with the
public facts only; ``deliver`` (the worker passes the e-mail and webhook hand-off) is
called with the new alerts in the same transaction, and the position moves with them: an
alert is written once, or not at all.

A new portal starts at the change log's end: entries published before it are not told.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import labels
from portal.models import (
    OutboxEvent,
    PublishedEntry,
    Subscriber,
    WatchAlert,
    WatchItem,
    Watchlist,
    WatchProgress,
    WatchSeen,
)
from portal.security import lookup_hash
from portal.services import change_log, subscriber_mail, watch_webhooks, webhooks

EVENTS = tuple(labels.WATCH_EVENTS)     # listed, corrected, under_objection, objection_closed, removed
#: the public facts an alert carries (from the entry's public representation)
FACTS = ("public_id", "url", "name", "subject_kind", "code", "ground_code", "ground_text",
         "ground_text_en", "severity", "listed_on", "term_last_day", "leaves_list_on",
         "jurisdiction", "under_objection", "corrected_on", "status", "removed_on",
         "removal_reason", "removal_reason_text", "removal_reason_text_en")
PAGE = 500


def _progress(session: Session) -> WatchProgress:
    row = session.get(WatchProgress, 1, with_for_update=True)
    if row is None:
        end = session.scalar(sa.select(sa.func.max(OutboxEvent.id))) or 0
        row = WatchProgress(id=1, position=end)
        session.add(row)
        session.flush()
    return row


def _hashes(key: str, entry: PublishedEntry) -> list[str]:
    out = [entry.code_hash] if entry.code_hash else []
    out += [lookup_hash(key, code) for code in entry.extra_codes or [] if code]
    return out


def classify(seen: WatchSeen | None, data: dict | None) -> str | None:
    """The event a change is, from what was seen before and the entry now (None: no event
    to tell, or ``data`` None: no longer public)."""
    if data is None or data.get("status") == "removed":
        return "removed" if seen is not None and seen.status == "listed" else None
    if seen is None or seen.status != "listed":
        return "listed"
    if bool(data.get("under_objection")) != bool(seen.under_objection):
        return "under_objection" if data.get("under_objection") else "objection_closed"
    corrected = data.get("corrected_on")
    if corrected and corrected != (seen.corrected_on.isoformat() if seen.corrected_on else None):
        return "corrected"
    return None


def _remember(session: Session, seen: WatchSeen | None, public_id: str, hashes: list[str],
              data: dict | None) -> None:
    if seen is None:
        seen = WatchSeen(public_id=public_id, code_hashes=hashes, status="gone",
                         under_objection=False)
        session.add(seen)
    if hashes:
        seen.code_hashes = hashes
    if data is None:
        seen.status = "gone"
        return
    seen.status = "removed" if data.get("status") == "removed" else "listed"
    seen.under_objection = bool(data.get("under_objection"))
    corrected = data.get("corrected_on")
    seen.corrected_on = dt.date.fromisoformat(corrected) if corrected else None


def run(session: Session, key: str, settle: dt.timedelta, now: dt.datetime,
        deliver: Callable[[Session, list[WatchAlert]], None] | None = None,
        limit: int = PAGE) -> tuple[int, bool]:
    """One page of the change log; (the number of alerts written, whether more changes wait
    to be read). Flushes (the caller
    commits: the job takes a lock on the progress row, so hosts never write an alert twice)."""
    progress = _progress(session)
    page = change_log.read(session, progress.position, limit, settle)
    items = [i for i in page.items if i["type"] == "entry"]
    if not items:
        progress.position = page.position
        session.flush()
        return 0, page.has_more
    ids = [i["public_id"] for i in items]
    entries = {e.public_id: e for e in session.scalars(
        sa.select(PublishedEntry).where(PublishedEntry.public_id.in_(ids)))}
    seen = {s.public_id: s for s in session.scalars(
        sa.select(WatchSeen).where(WatchSeen.public_id.in_(ids)))}
    changes = []
    for item in items:
        public_id, data = item["public_id"], item.get("data")
        entry = entries.get(public_id)
        before = seen.get(public_id)
        hashes = _hashes(key, entry) if entry is not None else list(
            before.code_hashes if before is not None else [])
        event = classify(before, data)
        if event is not None and hashes:
            changes.append((event, public_id, hashes, _facts(data, item)))
        _remember(session, before, public_id, hashes, data)
    alerts = _alerts(session, changes, page.position, now)
    if alerts and deliver is not None:
        deliver(session, alerts)
    progress.position = page.position
    session.flush()
    return len(alerts), page.has_more


def _facts(data: dict | None, item: dict) -> dict:
    if data is None:
        return {"public_id": item["public_id"], "withdrawn_on": item.get("withdrawn_on"),
                "status": "withdrawn"}
    return {k: data.get(k) for k in FACTS if k in data}


def _alerts(session: Session, changes: Iterable, position: int,
            now: dt.datetime) -> list[WatchAlert]:
    changes = list(changes)
    wanted = sorted({h for _, _, hashes, _ in changes for h in hashes})
    if not wanted:
        return []
    watching: dict[str, list[tuple[int, str | None]]] = {}
    for start in range(0, len(wanted), 500):
        for row in session.execute(sa.select(WatchItem.code_hash, WatchItem.watchlist_id,
                                             WatchItem.label)
                                   .where(WatchItem.code_hash.in_(wanted[start:start + 500]))):
            watching.setdefault(row.code_hash, []).append((row.watchlist_id, row.label))
    out = []
    for event, public_id, hashes, facts in changes:
        told = set()
        for digest in hashes:
            for watchlist_id, label in watching.get(digest, ()):
                if watchlist_id in told:
                    continue
                told.add(watchlist_id)
                alert = WatchAlert(watchlist_id=watchlist_id, position=position, event=event,
                                   public_id=public_id, label=label, payload=facts,
                                   created_at=now, mailed=False)
                session.add(alert)
                out.append(alert)
    session.flush()
    return out


def notify(session: Session, alerts: list[WatchAlert], now: dt.datetime, *,
           mail: bool) -> int:
    """Hand new alerts on: to the webhooks that hear the watchlist (its client's, or an
    organisation's watchlist's own), and one e-mail per watchlist whose owner is a verified
    organisation that asked for e-mail (``mail``: a mail server is configured); the
    messages queued."""
    by_list: dict[int, list[WatchAlert]] = {}
    for alert in alerts:
        by_list.setdefault(alert.watchlist_id, []).append(alert)
    queued = 0
    for watchlist_id, told in by_list.items():
        watchlist = session.get(Watchlist, watchlist_id)
        _to_webhooks(session, watchlist, told, now)
        owner = session.get(Subscriber, watchlist.subscriber_id) if watchlist.subscriber_id else None
        if mail and owner is not None and owner.active and owner.verified and watchlist.email_alerts:
            subscriber_mail.queue_alerts(session, owner, watchlist, told, now)
            for alert in told:
                alert.mailed = True
            queued += 1
    session.flush()
    return queued


def _to_webhooks(session: Session, watchlist: Watchlist, alerts: list[WatchAlert],
                 now: dt.datetime) -> None:
    """Each alert to the active webhooks that hear the watchlist (its client's, or its own:
    ``watch_webhooks.endpoints_told``) and asked for its ``watch.<event>`` type, in order
    per entry, with the alert's id as the event id."""
    endpoints = watch_webhooks.endpoints_told(session, watchlist)
    if not endpoints:
        return
    for alert in alerts:
        event_type = f"watch.{alert.event}"
        for endpoint in endpoints:
            if event_type in (endpoint.event_types or ()):
                webhooks.enqueue(session, endpoint, event_type, f"entry:{alert.public_id}",
                                 {"watchlist": {"id": watchlist.id, "name": watchlist.name},
                                  "event": alert.event, "label": alert.label,
                                  "entry": alert.payload},
                                 alert.position, event_id=f"watch.{alert.id}", now=now)
