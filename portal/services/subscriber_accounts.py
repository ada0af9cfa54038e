"""The bureau's side of the organisations' accounts (registered at /watch): the list staff
read and the two changes they make, closing and reopening an account.

A closed account (``Subscriber.active`` false) cannot sign in, its feeds answer 404, no
e-mail or webhook goes out for its watchlists and what its webhooks wait for is held
(``portal.services.subscribers``, ``watchlists``, ``watch_alerts``, ``webhook_delivery``).
Closing also ends the sessions the account is signed in with and voids a link sent to set its
password (reopening does not bring it back). Each change needs a reason,
is for :func:`permissions.may_manage_subscribers` and is audited (``subscriber.close`` /
``subscriber.reopen``; the account by its id, never its address).

The list never shows what an organisation watches (codes, labels, the names of its lists):
only how many. Functions flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import (
    StaffUser,
    Subscriber,
    WatchItem,
    Watchlist,
    WebhookEndpoint,
)
from portal.rules.identifiers import mask_ric_numbers
from portal.services import audit, permissions, subscribers
from portal.services.watch_webhooks import OWNER_KIND

#: The newest accounts the list shows (a search finds the others).
LISTED = 100
#: A search is cut to this many characters (an address is at most 200).
QUERY_LENGTH = 200
REASON_LENGTH = 2000


class AccountError(Exception):
    """``code``: no_reason | already_closed | already_open"""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Account:
    """An account as the list shows it: how many watchlists, codes and active webhooks."""

    subscriber: Subscriber
    watchlists: int = 0
    codes: int = 0
    webhooks: int = 0


def _count(session: Session, counted, ids: list[int], join=None) -> dict[int, int]:
    """``count(counted)`` per owner of the watchlists (joined to ``join``: (target, on))."""
    query = sa.select(Watchlist.subscriber_id, sa.func.count(counted)).select_from(Watchlist)
    if join is not None:
        query = query.join(*join)
    return dict(session.execute(query.where(Watchlist.subscriber_id.in_(ids))
                                .group_by(Watchlist.subscriber_id)).all())


def _with_counts(session: Session, rows) -> list[Account]:
    """The accounts with their counts (three grouped queries, whatever their number)."""
    ids = [row.id for row in rows]
    if not ids:
        return []
    hooks_of = sa.and_(WebhookEndpoint.owner_kind == OWNER_KIND,
                       WebhookEndpoint.owner_id == Watchlist.id, WebhookEndpoint.active.is_(True))
    found = [_count(session, Watchlist.id, ids),
             _count(session, WatchItem.id, ids, (WatchItem, WatchItem.watchlist_id == Watchlist.id)),
             _count(session, WebhookEndpoint.id, ids, (WebhookEndpoint, hooks_of))]
    return [Account(row, *(counts.get(row.id, 0) for counts in found)) for row in rows]


def accounts(session: Session, query: str | None = None,
             limit: int = LISTED) -> tuple[list[Account], bool]:
    """The newest accounts (whose name or address contains ``query``, any case), with their
    counts; and whether there are more than ``limit``."""
    select = sa.select(Subscriber).order_by(Subscriber.created_at.desc(), Subscriber.id.desc())
    query = (query or "").strip()[:QUERY_LENGTH].lower()
    if query:
        select = select.where(sa.or_(
            sa.func.lower(Subscriber.name).contains(query, autoescape=True),
            Subscriber.email.contains(query, autoescape=True)))
    rows = session.execute(select.limit(limit + 1)).scalars().all()
    return _with_counts(session, rows[:limit]), len(rows) > limit


def account(session: Session, subscriber: Subscriber) -> Account:
    """One account with its counts."""
    return _with_counts(session, [subscriber])[0]


def _reason(text: str | None) -> str:
    """The reason as recorded: trimmed, a resident ID number in it masked; none: refused."""
    reason = mask_ric_numbers((text or "").strip())[:REASON_LENGTH]
    if not reason:
        raise AccountError("no_reason")
    return reason


def close(session: Session, user: StaffUser | None, subscriber: Subscriber,
          reason: str | None) -> int:
    """The bureau closes the account: it is signed out everywhere (its sessions deleted), a
    link to set its password stops working for good, and it stays closed until reopened.
    Returns how many sessions ended. Flushes."""
    actor = permissions.require(permissions.may_manage_subscribers(user), user)
    reason = _reason(reason)
    if not subscriber.active:
        raise AccountError("already_closed")
    subscriber.active = False
    subscriber.reset_token_hash = subscriber.reset_sent_at = None
    ended = subscribers.end_sessions(session, subscriber)
    audit.record(session, actor, "subscriber.close", "subscriber", subscriber.id,
                 {"reason": reason, "sessions": ended})
    session.flush()
    return ended


def reopen(session: Session, user: StaffUser | None, subscriber: Subscriber,
           reason: str | None) -> None:
    """The bureau reopens a closed account: it may sign in again; its feeds answer and its
    alerts go out again (what its webhooks were held from is delivered). Flushes."""
    actor = permissions.require(permissions.may_manage_subscribers(user), user)
    reason = _reason(reason)
    if subscriber.active:
        raise AccountError("already_open")
    subscriber.active = True
    audit.record(session, actor, "subscriber.reopen", "subscriber", subscriber.id,
                 {"reason": reason})
    session.flush()
