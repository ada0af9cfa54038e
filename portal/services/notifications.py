"""Optional e-mail to submitters: on receipt, on a request for material (补正), on the decision.

Services call :func:`queue` inside their transaction: it adds an :class:`OutgoingMail` row
to the session with a snapshot of what the message needs, so the row is committed with the
step it reports and a rollback drops it with everything else. Nothing is sent in the
request: the worker sends the due rows (:func:`portal.services.mail_queue.deliver_due`),
rendered from ``templates/email/<event>.txt`` in the filer's language, and tries a failed
one again later. A failing mail server never undoes or fails a filing; the submitter still
has /track.

Rows are written only while ``PORTAL_SMTP_HOST`` is configured: a portal without a mail
server keeps no messages that would wait for ever (configuring one later does not send
the notices of earlier steps).

Messages never contain the query code or a full resident ID number: the query code is not
in the snapshot, ID numbers in staff notes and reasons are masked when the row is written,
and the whole message once more when it is built, in every shape the one detector knows
(:func:`portal.rules.identifiers.mask_ric_numbers`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import sqlalchemy as sa
from flask import current_app, has_app_context, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from portal import clock, labels
from portal.models import Jurisdiction, MailStatus, OutgoingMail, Submission
from portal.rules.identifiers import mask_ric_numbers
from portal.services import subscriber_mail

EVENTS = ("received", "material_requested", "decided")
#: The payload key that names the values stored as ISO dates (restored on render).
DATES = "dates"


def configured(config: Mapping | None = None) -> bool:
    """Is a mail server configured (``PORTAL_SMTP_HOST``)? Without one nothing is queued."""
    if config is None:
        if not has_app_context():
            return False
        config = current_app.config
    return bool(config.get("PORTAL_SMTP_HOST"))


def queue(session, submission: Submission, event: str, **extra) -> OutgoingMail | None:
    """Add the message to the session, in the caller's transaction (None: the filer gave no
    e-mail address, or no mail server is configured)."""
    if event not in EVENTS:
        raise ValueError(event)
    if not submission.filer_email or not configured():
        return None
    snapshot = {
        "receipt_no": submission.receipt_no,
        "kind": submission.kind.value, "state": submission.state.value,
        "received_on": submission.received_on, "due_on": submission.due_on,
        "due_provisional": submission.due_provisional, "decided_on": submission.decided_on,
        "reasons": mask_ric_numbers(submission.decision_reasons),
    }
    snapshot.update(_sender(session, submission))
    snapshot.update({k: mask_ric_numbers(v) if isinstance(v, str) else v for k, v in extra.items()})
    now = clock.now()
    row = OutgoingMail(event=event, recipient=submission.filer_email,
                       jurisdiction=submission.jurisdiction, payload=_stored(snapshot),
                       locale=(submission.details or {}).get("locale") or "zh_CN",
                       status=MailStatus.PENDING, attempts=0, created_at=now, next_attempt_at=now)
    session.add(row)
    return row


def _stored(snapshot: dict) -> dict:
    """The snapshot as JSON: dates as ISO strings, their keys listed under :data:`DATES`."""
    dates = sorted(k for k, v in snapshot.items() if isinstance(v, dt.date))
    stored = {k: v.isoformat() if k in dates else v for k, v in snapshot.items()}
    stored[DATES] = dates
    return stored


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


def item_of(row: OutgoingMail) -> dict:
    """What the templates read: the stored snapshot with its dates restored, the event, the
    recipient and the language."""
    payload = dict(row.payload or {})
    dates = payload.pop(DATES, None) or []
    for key in dates:
        if payload.get(key):
            payload[key] = dt.date.fromisoformat(payload[key])
    return {**payload, "event": row.event, "to": row.recipient, "locale": row.locale or "zh_CN"}


def render(item: dict, config: Mapping | None = None) -> tuple[str, str]:
    """Subject and body of one message, in the filer's language (needs an app context)."""
    config = current_app.config if config is None else config
    if item["event"] in subscriber_mail.EVENTS:
        return subscriber_mail.render(item, config)
    with force_locale(item["locale"]):
        kind = labels.label(labels.SUBMISSION_KINDS, item["kind"])
        subjects = {
            "received": _("We received your filing %(receipt)s", receipt=item["receipt_no"]),
            "material_requested": _("More material needed for %(receipt)s", receipt=item["receipt_no"]),
            "decided": _("Decision on your filing %(receipt)s", receipt=item["receipt_no"]),
        }
        body = render_template(f"email/{item['event']}.txt", item=item, kind=kind,
                               state=labels.label(labels.SUBMISSION_STATES, item["state"]),
                               track_url=config["PORTAL_BASE_URL"].rstrip("/") + "/track")
        return str(subjects[item["event"]]), body


def build(item: dict, config: Mapping | None = None) -> EmailMessage:
    config = current_app.config if config is None else config
    subject, body = render(item, config)
    # The whole message once more: nothing that reaches an inbox shows an ID number.
    subject, body = mask_ric_numbers(subject), mask_ric_numbers(body)
    # a name typed with a line break (a watchlist's) cannot break the header
    subject = " ".join(subject.split())
    message = EmailMessage()
    message["From"] = config["PORTAL_MAIL_FROM"]
    message["To"] = item["to"]
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="portal.invalid")
    message.set_content(body)
    return message
