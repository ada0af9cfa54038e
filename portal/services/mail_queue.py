"""Delivery of the outgoing mail: the worker sends what is due, tries again, gives up visibly.

:func:`deliver_due` is the worker's job (and ``flask --app wsgi mail send``'s). It claims
the due pending rows one at a time in id order — on PostgreSQL with ``FOR UPDATE SKIP
LOCKED``, so two hosts sending at once never send the same row; SQLite has one writer and
the worker runs the job under its lease — and sends them over ONE connection to
``PORTAL_SMTP_HOST``:

* accepted: ``sent`` (the snapshot is cut to the receipt number; :func:`prune_sent`
  deletes sent rows after :data:`SENT_KEPT`);
* refused or broken: one more attempt counted, the exception's type kept (never the
  server's answer), and the next attempt after 1, 2, 4 … minutes, at most an hour
  (:func:`pause_after`); after :data:`MAX_ATTEMPTS` attempts — or at once when the server
  refuses the address for good (5xx) — ``failed``: staff see it at ``/admin/mail`` and may
  :func:`send_again`;
* a server that cannot be reached counts an attempt for every row of the round (up to
  ``limit``), which then wait for their next time: the job never spins on a server that
  is down. A connection lost in the middle counts for the row in flight; the rest of the
  round waits for the next call.

Rows are flushed as they are marked; the caller commits. ``after_each`` (the worker passes
its session's ``commit``) is called after each row, so a crash re-sends at most the one
message in flight; without it one commit covers the round (the row locks are held until
then).
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import MailStatus, OutgoingMail, StaffUser
from portal.services import audit, notifications, permissions, scope
from portal.services.scope import Scope

log = logging.getLogger(__name__)

#: Attempts before a message is given up (1 + 2 + 4 … minutes: about two hours in all).
MAX_ATTEMPTS = 8
FIRST_PAUSE = dt.timedelta(minutes=1)
LONGEST_PAUSE = dt.timedelta(hours=1)
#: Seconds to wait for the mail server (connecting, each command).
SMTP_TIMEOUT = 10
#: How long a sent row is kept (who was told what when), then :func:`prune_sent` deletes it.
SENT_KEPT = dt.timedelta(days=30)
#: How many rows the back-office list shows of each status.
LISTED = 200


class MailError(Exception):
    """A step on a row that does not apply to it (``code``: ``not_failed``)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass
class DeliveryResult:
    """One round: how many went out, wait for another attempt, were given up."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    #: The mail server could not be reached, or the connection broke during the round.
    unreachable: bool = False
    #: ``PORTAL_SMTP_HOST`` is set (without it nothing is tried).
    configured: bool = True

    @property
    def tried(self) -> int:
        return self.sent + self.retrying + self.failed


def pause_after(attempts: int) -> dt.timedelta:
    """The pause after the ``attempts``-th failed attempt: 1 min, 2, 4 … at most an hour."""
    return min(LONGEST_PAUSE, FIRST_PAUSE * 2 ** min(max(attempts, 1) - 1, 16))


def _due(now: dt.datetime) -> sa.Select:
    return (sa.select(OutgoingMail)
            .where(OutgoingMail.status == MailStatus.PENDING, OutgoingMail.next_attempt_at <= now)
            .order_by(OutgoingMail.id))


def _claim(session: Session, now: dt.datetime, count: int) -> list[OutgoingMail]:
    """Lock up to ``count`` due rows that no other sender holds (SQLite renders no lock)."""
    if count <= 0:
        return []
    stmt = (_due(now).limit(count).with_for_update(skip_locked=True)
            .execution_options(populate_existing=True))
    return list(session.execute(stmt).scalars())


# --------------------------------------------------------------------------
# Sending
# --------------------------------------------------------------------------

def _connect(config: Mapping) -> smtplib.SMTP:
    smtp = smtplib.SMTP(config["PORTAL_SMTP_HOST"], int(config.get("PORTAL_SMTP_PORT") or 25),
                        timeout=SMTP_TIMEOUT)
    try:
        smtp.ehlo_or_helo_if_needed()
    except (smtplib.SMTPException, OSError):
        smtp.close()
        raise
    return smtp


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _sent(row: OutgoingMail, now: dt.datetime, result: DeliveryResult) -> None:
    row.status, row.sent_at, row.next_attempt_at = MailStatus.SENT, now, None
    row.attempts = (row.attempts or 0) + 1
    row.payload = {"receipt_no": row.receipt_no}      # what was said is no longer needed
    result.sent += 1


def _attempt_failed(row: OutgoingMail, error: BaseException, now: dt.datetime,
                    result: DeliveryResult, *, permanent: bool = False) -> None:
    row.attempts = (row.attempts or 0) + 1
    row.last_error = type(error).__name__[:80]
    if permanent or row.attempts >= MAX_ATTEMPTS:
        row.status, row.next_attempt_at = MailStatus.FAILED, None
        result.failed += 1
    else:
        row.next_attempt_at = now + pause_after(row.attempts)
        result.retrying += 1
    # The receipt number and the error's type only: never the address, the server's answer
    # or the message.
    log.warning("mail %s of %s not sent (attempt %d, %s): %s", row.event, row.receipt_no,
                row.attempts, row.status.value, row.last_error)


def _send(smtp: smtplib.SMTP, row: OutgoingMail, config: Mapping, now: dt.datetime,
          result: DeliveryResult) -> bool:
    """Send one row; False when the connection is gone (the round ends)."""
    try:
        message = notifications.build(notifications.item_of(row), config)
    except Exception as error:          # noqa: BLE001 - one broken snapshot never stops the rest
        _attempt_failed(row, error, now, result)
        return True
    try:
        smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _answer in error.recipients.values()]
        _attempt_failed(row, error, now, result, permanent=bool(codes) and min(codes) >= 500)
    except smtplib.SMTPServerDisconnected as error:
        _attempt_failed(row, error, now, result)
        return False
    except smtplib.SMTPException as error:          # refused sender or data: the server resets
        _attempt_failed(row, error, now, result)
    except OSError as error:                        # the socket broke (timeout, reset)
        _attempt_failed(row, error, now, result)
        return False
    else:
        _sent(row, now, result)
    return True


#: Messages sent per call (one SMTP connection).
DEFAULT_LIMIT = 50


def deliver_due(session: Session, config: Mapping, now: dt.datetime, limit: int = DEFAULT_LIMIT, *,
                after_each: Callable[[], object] | None = None) -> DeliveryResult:
    """Send up to ``limit`` due messages over one connection (see the module's text).

    Needs an application context (the messages are rendered from templates). Flushes; the
    caller commits (``after_each``: after every row).
    """
    result = DeliveryResult(configured=notifications.configured(config))
    if not result.configured or limit <= 0:
        return result
    first = _claim(session, now, 1)
    if not first:
        return result                      # nothing due: no connection is opened
    try:
        smtp = _connect(config)
    except (smtplib.SMTPException, OSError) as error:
        result.unreachable = True
        log.warning("mail server %s:%s unreachable: %s", config.get("PORTAL_SMTP_HOST"),
                    config.get("PORTAL_SMTP_PORT"), type(error).__name__)
        _attempt_failed(first[0], error, now, result)
        session.flush()             # no longer due: the claim below (which our own lock does
        for row in _claim(session, now, limit - 1):       # not skip) finds the others
            _attempt_failed(row, error, now, result)
        session.flush()
        if after_each is not None:
            after_each()
        return result
    try:
        batch = first
        while batch:
            going_on = _send(smtp, batch[0], config, now, result)
            session.flush()
            if after_each is not None:
                after_each()
            if not going_on:
                result.unreachable = True
                break
            if result.tried >= limit:
                break
            batch = _claim(session, now, 1)
    finally:
        _close(smtp)
    return result


def prune_sent(session: Session, now: dt.datetime, kept: dt.timedelta = SENT_KEPT) -> int:
    """Delete the rows sent before ``now - kept``; how many (flushes, the caller commits)."""
    gone = session.execute(sa.delete(OutgoingMail).where(
        OutgoingMail.status == MailStatus.SENT, OutgoingMail.sent_at < now - kept))
    return gone.rowcount or 0


# --------------------------------------------------------------------------
# Staff: what waits, what failed, and sending again
# --------------------------------------------------------------------------

def counts(session: Session, within: Scope | None = None) -> dict[str, int]:
    """Rows per status (every status named, 0 when none); ``within``: a staff scope."""
    stmt = sa.select(OutgoingMail.status, sa.func.count()).group_by(OutgoingMail.status)
    if within is not None:
        stmt = within.filter(stmt, OutgoingMail.jurisdiction)
    found = {status.value: 0 for status in MailStatus}
    for status, count in session.execute(stmt):
        found[MailStatus(status).value] = count
    return found


def due_count(session: Session, now: dt.datetime) -> int:
    """Pending rows whose next attempt is due at ``now``."""
    return session.scalar(sa.select(sa.func.count()).select_from(_due(now).subquery())) or 0


def outstanding(session: Session, within: Scope, status: MailStatus,
                limit: int = LISTED) -> list[OutgoingMail]:
    """Failed rows (the latest first) or pending ones (the next attempt first), in scope."""
    stmt = within.filter(sa.select(OutgoingMail), OutgoingMail.jurisdiction).where(
        OutgoingMail.status == status)
    if status is MailStatus.FAILED:
        stmt = stmt.order_by(OutgoingMail.id.desc())
    else:
        stmt = stmt.order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
    return list(session.execute(stmt.limit(limit)).scalars())


def send_again(session: Session, user: StaffUser, row: OutgoingMail, now: dt.datetime) -> None:
    """A failed message goes out again with the next round, with all its attempts (audited)."""
    actor = permissions.require(permissions.may_manage_mail(user), user)
    scope.require(session, user, row.jurisdiction)
    if row.status is not MailStatus.FAILED:
        raise MailError("not_failed")
    audit.record(session, actor, "mail.send_again", "outgoing_mail", row.id,
                 {"event": row.event, "receipt_no": row.receipt_no, "attempts": row.attempts,
                  "last_error": row.last_error}, jurisdiction=row.jurisdiction)
    row.status, row.attempts, row.next_attempt_at = MailStatus.PENDING, 0, now
    session.flush()
