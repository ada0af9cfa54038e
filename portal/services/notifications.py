"""Optional e-mail to submitters: on receipt, on a request for material (补正), on the decision.

Services call :func:`queue` inside their transaction with a snapshot of what
the message needs; nothing is sent then. :func:`install` (called once when
the submit blueprint is registered) hooks the SQLAlchemy session: after a
successful commit the queued messages are rendered from
``templates/email/<event>.txt`` in the filer's language and sent through
SMTP to ``PORTAL_SMTP_HOST:PORTAL_SMTP_PORT``; after a rollback they are
dropped. Without ``PORTAL_SMTP_HOST`` nothing is sent. A failing mail
server never undoes or fails a filing: the error is logged (receipt number
only) and the submitter still has /track.

Messages never contain the query code or a full resident ID number: the
query code is not in the snapshot, and ID numbers in staff notes are masked
in every shape the one detector knows (:func:`portal.rules.identifiers.mask_ric_numbers`).
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlalchemy as sa
from flask import current_app, has_app_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import labels
from portal.models import Jurisdiction, Submission
from portal.rules.identifiers import mask_ric_numbers

log = logging.getLogger(__name__)

EVENTS = ("received", "material_requested", "decided")
_KEY = "portal_notifications"
_installed = False


def queue(session, submission: Submission, event: str, **extra) -> None:
    """Queue a message for after the commit (no-op when the filer gave no e-mail address)."""
    if event not in EVENTS:
        raise ValueError(event)
    if not submission.filer_email:
        return
    item = {
        "event": event, "to": submission.filer_email, "receipt_no": submission.receipt_no,
        "kind": submission.kind.value, "state": submission.state.value,
        "received_on": submission.received_on, "due_on": submission.due_on,
        "due_provisional": submission.due_provisional, "decided_on": submission.decided_on,
        "reasons": mask_ric_numbers(submission.decision_reasons),
        "locale": (submission.details or {}).get("locale") or "zh_CN",
    }
    item.update(_sender(session, submission))
    item.update({k: mask_ric_numbers(v) if isinstance(v, str) else v for k, v in extra.items()})
    session.info.setdefault(_KEY, []).append(item)


def _sender(session, submission: Submission) -> dict:
    """The bureau handling the filing, named in the message when the portal serves several
    (a single-city portal's messages stay as they were)."""
    active = session.scalar(sa.select(sa.func.count()).select_from(Jurisdiction)
                            .where(Jurisdiction.active)) or 0
    bureau = session.get(Jurisdiction, submission.jurisdiction) if active > 1 else None
    if bureau is None:
        return {}
    return {"authority": {"zh": bureau.authority("zh_CN"), "en": bureau.authority("en")},
            "contact": {"zh": bureau.contact("zh_CN"), "en": bureau.contact("en")}}


def pending(session) -> list[dict]:
    """Messages queued in this transaction (for tests and diagnostics)."""
    return list(session.info.get(_KEY, ()))


def render(item: dict) -> tuple[str, str]:
    """Subject and body of one queued message, in the filer's language (needs an app context)."""
    with force_locale(item["locale"]):
        kind = labels.label(labels.SUBMISSION_KINDS, item["kind"])
        subjects = {
            "received": _("We received your filing %(receipt)s", receipt=item["receipt_no"]),
            "material_requested": _("More material needed for %(receipt)s", receipt=item["receipt_no"]),
            "decided": _("Decision on your filing %(receipt)s", receipt=item["receipt_no"]),
        }
        body = render_template(f"email/{item['event']}.txt", item=item, kind=kind,
                               state=labels.label(labels.SUBMISSION_STATES, item["state"]),
                               track_url=current_app.config["PORTAL_BASE_URL"].rstrip("/") + "/track")
        return str(subjects[item["event"]]), body


def build(item: dict) -> EmailMessage:
    subject, body = render(item)
    # The whole message once more: nothing that reaches an inbox shows an ID number.
    subject, body = mask_ric_numbers(subject), mask_ric_numbers(body)
    message = EmailMessage()
    message["From"] = current_app.config["PORTAL_MAIL_FROM"]
    message["To"] = item["to"]
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="portal.invalid")
    message.set_content(body)
    return message


def send(items: list[dict]) -> int:
    """Send queued messages now; returns how many the server accepted."""
    config = current_app.config
    host = config.get("PORTAL_SMTP_HOST")
    if not host or not items:
        return 0
    sent = 0
    try:
        with smtplib.SMTP(host, int(config.get("PORTAL_SMTP_PORT") or 25), timeout=10) as smtp:
            for item in items:
                try:
                    smtp.send_message(build(item))
                    sent += 1
                except (smtplib.SMTPException, OSError) as exc:
                    log.warning("notification %s for %s not sent: %s", item["event"],
                                item["receipt_no"], type(exc).__name__)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("SMTP %s unavailable, %d notification(s) not sent: %s", host, len(items),
                    type(exc).__name__)
    return sent


def _after_commit(session) -> None:
    items = session.info.pop(_KEY, None)
    if not items or not has_app_context():
        return
    try:
        send(items)
    except Exception:  # never let a notification break the request that committed
        log.exception("notifications failed for %s", [i["receipt_no"] for i in items])


def _after_rollback(session) -> None:
    session.info.pop(_KEY, None)


def install(app=None) -> None:
    """Hook the session events once per process (idempotent)."""
    global _installed
    if _installed:
        return
    sa.event.listen(sa.orm.Session, "after_commit", _after_commit)
    sa.event.listen(sa.orm.Session, "after_rollback", _after_rollback)
    _installed = True
