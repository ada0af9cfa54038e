"""Registered organisations (订阅单位): an account of their own, apart from staff and parties.

* :func:`register` creates the account unverified and returns the token of the link that
  verifies its e-mail address (only the token's SHA-256 is kept); :func:`verify` uses it.
  Watch alerts go by e-mail only to a verified address, and an unverified account cannot
  sign in.
* :func:`authenticate` checks the password (Argon2, as staff passwords); :func:`open_session`
  / :func:`session_of` / :func:`close_session` keep server-side sessions like the party
  area's: the cookie holds a random token, the row its SHA-256, signing out deletes it.
* :func:`ask_reset` gives an open account a one-time link (:data:`RESET_AGE`; at most one
  each :data:`RESET_PAUSE`) to set a forgotten password with :func:`reset_password`, which
  ends every session of it and confirms an address not yet confirmed;
  :func:`change_password` needs the current one and keeps the browser that changes it;
  :func:`end_sessions` signs an account out everywhere.

Functions flush, never commit.
"""
from __future__ import annotations

import datetime as dt
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Subscriber, SubscriberSession
from portal.rules.identifiers import mask_ric_numbers
from portal.security import hash_password, token_digest, verify_password
from portal.services.staff import DUMMY_HASH

#: However active, a subscriber's session ends after this.
SESSION_AGE = dt.timedelta(hours=12)
#: A verification link works this long; a new one can be asked for.
VERIFY_AGE = dt.timedelta(days=3)
#: A link to set a forgotten password works this long, and once.
RESET_AGE = dt.timedelta(hours=1)
#: No new link sooner than this after the last (the answer is the same): asking from many
#: addresses cannot flood one mailbox, which the per-address rate limit alone allowed.
RESET_PAUSE = dt.timedelta(minutes=5)
MIN_PASSWORD = 10


class SubscriberError(Exception):
    """``code``: email_taken | weak_password | bad_link | link_expired | not_verified |
    bad_credentials | inactive (a reset link: bad_link | link_expired)"""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def normal_email(address: str) -> str:
    return (address or "").strip().lower()


def _password_hash(password: str) -> str:
    """The Argon2 hash of a long enough password (weak_password): the one rule of length."""
    if len(password or "") < MIN_PASSWORD:
        raise SubscriberError("weak_password")
    return hash_password(password)


def register(session: Session, name: str, email: str, password: str, locale: str,
             now: dt.datetime) -> tuple[Subscriber, str]:
    """A new unverified account; (it, the verification token). Flushes."""
    email = normal_email(email)
    # hashed first, taken or not: an address already registered must not answer quicker
    password_hash = _password_hash(password)
    if session.scalar(sa.select(Subscriber.id).where(Subscriber.email == email)) is not None:
        raise SubscriberError("email_taken")
    token = secrets.token_urlsafe(32)
    row = Subscriber(name=mask_ric_numbers(name.strip()[:200]), email=email,
                     password_hash=password_hash,
                     locale=locale if locale in ("zh_CN", "en") else "zh_CN", active=True,
                     created_at=now, verify_token_hash=token_digest(token), verify_sent_at=now)
    session.add(row)
    session.flush()
    return row, token


def new_verification(session: Session, subscriber: Subscriber, now: dt.datetime) -> str:
    """A fresh link for an account not yet verified (the old one stops working)."""
    token = secrets.token_urlsafe(32)
    subscriber.verify_token_hash, subscriber.verify_sent_at = token_digest(token), now
    session.flush()
    return token


def verify(session: Session, token: str, now: dt.datetime) -> Subscriber:
    row = session.scalar(sa.select(Subscriber).where(
        Subscriber.verify_token_hash == token_digest(token or "")))
    if row is None:
        raise SubscriberError("bad_link")
    if row.verify_sent_at is None or _aware(row.verify_sent_at) + VERIFY_AGE < now:
        raise SubscriberError("link_expired")
    row.email_verified_at, row.verify_token_hash = now, None
    session.flush()
    return row


def authenticate(session: Session, email: str, password: str, now: dt.datetime) -> Subscriber:
    row = session.scalar(sa.select(Subscriber).where(Subscriber.email == normal_email(email)))
    if row is None:
        verify_password(DUMMY_HASH, password or "")     # as long as a real account's
        raise SubscriberError("bad_credentials")
    if not verify_password(row.password_hash, password or ""):
        raise SubscriberError("bad_credentials")
    if not row.active:
        raise SubscriberError("inactive")
    if not row.verified:
        raise SubscriberError("not_verified")
    row.last_login_at = now
    session.flush()
    return row


def open_session(session: Session, subscriber: Subscriber, now: dt.datetime) -> str:
    """A new session for the cookie (expired rows are swept). Flushes."""
    session.execute(sa.delete(SubscriberSession).where(SubscriberSession.expires_at <= now))
    token = secrets.token_urlsafe(32)
    session.add(SubscriberSession(token_hash=token_digest(token), subscriber_id=subscriber.id,
                                  expires_at=now + SESSION_AGE))
    session.flush()
    return token


def session_of(session: Session, token: str | None, now: dt.datetime) -> Subscriber | None:
    """The signed-in, active, verified account of this cookie's token, or None."""
    if not token:
        return None
    row = session.scalar(sa.select(SubscriberSession).where(
        SubscriberSession.token_hash == token_digest(token)))
    if row is None or _aware(row.expires_at) <= now:
        return None
    subscriber = session.get(Subscriber, row.subscriber_id)
    if subscriber is None or not subscriber.active or not subscriber.verified:
        return None
    return subscriber


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(sa.delete(SubscriberSession).where(
            SubscriberSession.token_hash == token_digest(token)))


def ask_reset(session: Session, email: str, now: dt.datetime) -> tuple[Subscriber, str] | None:
    """The account and a new link's token, if the address is an open account's (the last
    link stops working); else None. Flushes. An unconfirmed account gets one too: signing in
    unconfirmed needs the password, so the link is its only way back (and opening it
    confirms the address, :func:`reset_password`).

    The same work either way up to the one write — a token drawn and digested, one lookup —
    and the mail is sent later by the worker: the answer's time does not tell whether the
    address has an account.
    """
    token = secrets.token_urlsafe(32)
    digest = token_digest(token)
    row = session.scalar(sa.select(Subscriber).where(Subscriber.email == normal_email(email)))
    if row is None or not row.active:
        return None
    if row.reset_sent_at is not None and _aware(row.reset_sent_at) + RESET_PAUSE > now:
        return None                     # the link sent a moment ago still works
    row.reset_token_hash, row.reset_sent_at = digest, now
    session.flush()
    return row, token


def reset_link(session: Session, token: str, now: dt.datetime) -> Subscriber:
    """The account whose unused, unexpired link this is (bad_link | link_expired)."""
    row = session.scalar(sa.select(Subscriber).where(
        Subscriber.reset_token_hash == token_digest(token or "")))
    if row is None or not row.active:
        raise SubscriberError("bad_link")
    if row.reset_sent_at is None or _aware(row.reset_sent_at) + RESET_AGE < now:
        raise SubscriberError("link_expired")
    return row


def end_sessions(session: Session, subscriber: Subscriber, keep: str | None = None) -> int:
    """Signs the account out of every browser but ``keep``'s (a cookie's token); how many."""
    query = sa.delete(SubscriberSession).where(SubscriberSession.subscriber_id == subscriber.id)
    if keep:
        query = query.where(SubscriberSession.token_hash != token_digest(keep))
    ended = session.execute(query).rowcount or 0
    session.flush()
    return ended


def reset_password(session: Session, token: str, password: str, now: dt.datetime) -> Subscriber:
    """Sets the password by the link, which stops working; every session ends; an address
    not yet confirmed is confirmed (the link was opened from its mailbox). Flushes."""
    row = reset_link(session, token, now)
    row.password_hash = _password_hash(password)
    row.reset_token_hash = row.reset_sent_at = None
    if not row.verified:
        row.email_verified_at, row.verify_token_hash = now, None
    end_sessions(session, row)
    return row


def change_password(session: Session, subscriber: Subscriber, current: str, password: str,
                    keep: str | None) -> None:
    """The new password if ``current`` is right (bad_credentials | weak_password); every other
    session ends, and a link asked for before stops working. Flushes."""
    if not verify_password(subscriber.password_hash, current or ""):
        raise SubscriberError("bad_credentials")
    subscriber.password_hash = _password_hash(password)
    subscriber.reset_token_hash = subscriber.reset_sent_at = None
    end_sessions(session, subscriber, keep)
