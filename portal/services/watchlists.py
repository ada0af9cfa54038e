"""Watchlists: their codes (keyed hashes only), their secret feed address, import and export.

A code is validated as on ``/screen`` (:func:`portal.services.screening.parse_code`) and
kept as ``lookup_hash(key, number)`` with the masked form the owner sees (a resident ID
as ``2308**********1234``, an organisation's code in full: it is public); the full number
is never stored. A label (ID numbers in it masked) is the owner's own name for the line (a name is not matched:
a name is not an identity). At most :data:`MAX_ITEMS` codes a watchlist.

Functions flush, never commit.
"""
from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import ApiClient, PublishedEntry, Subscriber, WatchAlert, WatchItem, Watchlist
from portal.rules import identifiers
from portal.security import fernet, lookup_hash, token_digest
from portal.services import screening, watch_webhooks
from portal.services.audit import SYSTEM, Actor

MAX_ITEMS = 10_000
#: the feed address's token is sealed under a key of its own (not batch screening's)
SEAL_PURPOSE = b"portal watchlist feed addresses"
MAX_WATCHLISTS = 20
#: alerts shown on a page / in the Atom feed
RECENT_ALERTS = 100


class WatchlistError(Exception):
    """``code``: too_many_lists | not_found"""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class Added:
    added: int = 0
    already: int = 0
    over_limit: int = 0
    #: (line number, masked text, message) of the lines that hold no valid code
    errors: list = field(default_factory=list)
    #: line number -> why its code is refused (``missing``, or ``<kind>:<reason>`` of
    #: :func:`portal.services.screening.parse_code`: ``ric:checksum``, ``any:length`` …)
    reasons: dict = field(default_factory=dict)


def owned_by(session: Session, *, subscriber_id: int | None = None,
             api_client_id: int | None = None) -> list[Watchlist]:
    owner = (Watchlist.subscriber_id == subscriber_id if subscriber_id is not None
             else Watchlist.api_client_id == api_client_id)
    return list(session.scalars(sa.select(Watchlist).where(owner).order_by(Watchlist.id)))


def get_owned(session: Session, watchlist_id: int, *, subscriber_id: int | None = None,
              api_client_id: int | None = None) -> Watchlist:
    row = session.get(Watchlist, watchlist_id)
    if row is None or (subscriber_id is not None and row.subscriber_id != subscriber_id) or (
            api_client_id is not None and row.api_client_id != api_client_id) or (
            subscriber_id is None and api_client_id is None):
        raise WatchlistError("not_found")
    return row


def create(session: Session, secret: str, name: str, *, subscriber_id: int | None = None,
           api_client_id: int | None = None, now: dt.datetime) -> Watchlist:
    if len(owned_by(session, subscriber_id=subscriber_id,
                    api_client_id=api_client_id)) >= MAX_WATCHLISTS:
        raise WatchlistError("too_many_lists")
    token = secrets.token_urlsafe(24)
    row = Watchlist(subscriber_id=subscriber_id, api_client_id=api_client_id,
                    name=identifiers.mask_ric_numbers(" ".join((name or "").split())[:100]) or "-",
                    feed_token_hash=token_digest(token),
                    feed_token_sealed=_seal(secret, token), email_alerts=True, created_at=now)
    session.add(row)
    session.flush()
    return row


def _seal(secret: str, token: str) -> bytes:
    return fernet(secret, SEAL_PURPOSE).encrypt(token.encode("utf-8"))


def feed_token(secret: str, watchlist: Watchlist) -> str | None:
    """The feed's secret token, for its owner (None if sealed under another secret key)."""
    from cryptography.fernet import InvalidToken

    try:
        return fernet(secret, SEAL_PURPOSE).decrypt(bytes(watchlist.feed_token_sealed)).decode()
    except (InvalidToken, ValueError):
        return None


def new_feed_token(session: Session, secret: str, watchlist: Watchlist) -> str:
    """A new secret feed address; the old one stops working at once."""
    token = secrets.token_urlsafe(24)
    watchlist.feed_token_hash, watchlist.feed_token_sealed = token_digest(token), _seal(secret, token)
    session.flush()
    return token


def by_feed_token(session: Session, token: str) -> Watchlist | None:
    """The watchlist of a secret feed address, while its owner may still read it: an
    organisation's account that the bureau has not closed, a client not revoked."""
    if not token or len(token) > 64:
        return None
    watchlist = session.scalar(sa.select(Watchlist).where(
        Watchlist.feed_token_hash == token_digest(token)))
    if watchlist is None:
        return None
    if watchlist.subscriber_id is not None:
        owner = session.get(Subscriber, watchlist.subscriber_id)
        return watchlist if owner is not None and owner.active and owner.verified else None
    client = session.get(ApiClient, watchlist.api_client_id)
    return watchlist if client is not None and client.usable else None


def add_codes(session: Session, key: str, watchlist: Watchlist,
              lines: Iterable[tuple[int, str | None, str | None]], today: dt.date,
              now: dt.datetime) -> Added:
    """Add (line number, code, label) lines; a code already watched keeps its line (its
    label is updated when a new one is given). Flushes."""
    result = Added()
    existing = dict(session.execute(sa.select(WatchItem.code_hash, WatchItem.id).where(
        WatchItem.watchlist_id == watchlist.id)).all())
    count = len(existing)
    labels: dict[int, str] = {}
    for number, raw, label in lines:
        # a label is shown in the export, the feed and e-mail: never with an ID number in it
        label = identifiers.mask_ric_numbers((label or "").strip()[:200]) or None
        code = screening.parse_code(raw, today)
        if code.number is None:
            if (raw or "").strip() or label:
                text = code.masked or ""
                message = code.error or screening.code_error("any", "missing")
                result.errors.append((number, text, message))
                result.reasons[number] = code.reason or "missing"
            continue
        digest = lookup_hash(key, code.number)
        if digest in existing:
            result.already += 1
            if label and existing[digest] is not None:
                labels[existing[digest]] = label
            continue
        if count >= MAX_ITEMS:
            result.over_limit += 1
            continue
        item = WatchItem(watchlist_id=watchlist.id, code_hash=digest, code_masked=code.masked,
                         label=label, added_at=now)
        session.add(item)
        existing[digest] = None
        count += 1
        result.added += 1
    for item_id, label in labels.items():
        session.execute(sa.update(WatchItem).where(WatchItem.id == item_id).values(label=label))
    session.flush()
    return result


def remove_items(session: Session, watchlist: Watchlist, item_ids: Sequence[int]) -> int:
    done = session.execute(sa.delete(WatchItem).where(
        WatchItem.watchlist_id == watchlist.id, WatchItem.id.in_(list(item_ids)[:MAX_ITEMS])))
    session.flush()
    return done.rowcount or 0


def remove_code(session: Session, key: str, watchlist: Watchlist, raw: str,
                today: dt.date) -> bool:
    code = screening.parse_code(raw, today)
    if code.number is None:
        return False
    done = session.execute(sa.delete(WatchItem).where(
        WatchItem.watchlist_id == watchlist.id,
        WatchItem.code_hash == lookup_hash(key, code.number)))
    session.flush()
    return bool(done.rowcount)


def remove_codes(session: Session, key: str, watchlist: Watchlist, raws: Iterable[str],
                 today: dt.date) -> int:
    """Remove the lines of these codes (codes not valid or not watched are passed over); how
    many lines were removed."""
    digests = sorted({lookup_hash(key, code.number) for code in
                      (screening.parse_code(raw, today) for raw in list(raws)[:MAX_ITEMS])
                      if code.number is not None})
    removed = 0
    for start in range(0, len(digests), 500):
        done = session.execute(sa.delete(WatchItem).where(
            WatchItem.watchlist_id == watchlist.id,
            WatchItem.code_hash.in_(digests[start:start + 500])))
        removed += done.rowcount or 0
    session.flush()
    return removed


def delete(session: Session, watchlist: Watchlist, *, actor: Actor = SYSTEM,
           now: dt.datetime | None = None) -> None:
    """The watchlist, its codes, its alerts — and its own webhooks (removed, audited)."""
    watch_webhooks.remove_all(session, actor, watchlist, now or clock.now())
    session.execute(sa.delete(WatchItem).where(WatchItem.watchlist_id == watchlist.id))
    session.execute(sa.delete(WatchAlert).where(WatchAlert.watchlist_id == watchlist.id))
    session.delete(watchlist)
    session.flush()


def item_count(session: Session, watchlist: Watchlist) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(WatchItem).where(
        WatchItem.watchlist_id == watchlist.id)) or 0


def items(session: Session, watchlist: Watchlist, *, offset: int = 0,
          limit: int | None = None) -> list[tuple[WatchItem, PublishedEntry | None]]:
    """The watched lines, each with the public entry listing it today (None: not listed)."""
    query = (sa.select(WatchItem, PublishedEntry)
             .outerjoin(PublishedEntry, (PublishedEntry.code_hash == WatchItem.code_hash)
                        & (PublishedEntry.status == "listed") & PublishedEntry.visible)
             .where(WatchItem.watchlist_id == watchlist.id)
             .order_by(PublishedEntry.id.is_(None), WatchItem.id).offset(offset))
    if limit is not None:
        query = query.limit(limit)
    seen, out = set(), []
    for item, entry in session.execute(query).all():
        if item.id in seen:
            continue
        seen.add(item.id)
        out.append((item, entry))
    return out


def page(session: Session, watchlist: Watchlist, offset: int,
         limit: int) -> list[tuple[WatchItem, str | None]]:
    """The lines in the order they were added (a stable order to page through), each with the
    public id of an entry listing it today (None: not listed)."""
    rows = list(session.scalars(sa.select(WatchItem).where(WatchItem.watchlist_id == watchlist.id)
                                .order_by(WatchItem.id).offset(offset).limit(limit)))
    hashes = sorted({row.code_hash for row in rows})
    listed: dict[str, str] = {}
    for start in range(0, len(hashes), 500):
        for digest, public_id in session.execute(
                sa.select(PublishedEntry.code_hash, sa.func.min(PublishedEntry.public_id))
                .where(PublishedEntry.code_hash.in_(hashes[start:start + 500]),
                       PublishedEntry.status == "listed", PublishedEntry.visible)
                .group_by(PublishedEntry.code_hash)):
            listed[digest] = public_id
    return [(row, listed.get(row.code_hash)) for row in rows]


def listed_count(session: Session, watchlist: Watchlist) -> int:
    return session.scalar(
        sa.select(sa.func.count(sa.distinct(WatchItem.id)))
        .join(PublishedEntry, (PublishedEntry.code_hash == WatchItem.code_hash)
              & (PublishedEntry.status == "listed") & PublishedEntry.visible)
        .where(WatchItem.watchlist_id == watchlist.id)) or 0


def alerts(session: Session, watchlist: Watchlist, limit: int = RECENT_ALERTS) -> list[WatchAlert]:
    return list(session.scalars(sa.select(WatchAlert).where(
        WatchAlert.watchlist_id == watchlist.id).order_by(WatchAlert.id.desc()).limit(limit)))


def alerts_after(session: Session, watchlist: Watchlist, after: int,
                 limit: int) -> list[WatchAlert]:
    """The alerts written after the alert ``after``, oldest first (the watch job writes them
    one run at a time, under its lock: ids follow the order they were committed in)."""
    return list(session.scalars(sa.select(WatchAlert).where(
        WatchAlert.watchlist_id == watchlist.id, WatchAlert.id > after)
        .order_by(WatchAlert.id).limit(limit)))


def export_rows(session: Session, watchlist: Watchlist) -> list[tuple[str, str, str, str]]:
    """(masked code, label, listed today: public id or "", added on) per line."""
    return [(item.code_masked, item.label or "", entry.public_id if entry else "",
             item.added_at.date().isoformat() if item.added_at else "")
            for item, entry in items(session, watchlist)]


def owner_subscriber(session: Session, watchlist: Watchlist) -> Subscriber | None:
    return session.get(Subscriber, watchlist.subscriber_id) if watchlist.subscriber_id else None
