"""Outgoing mail to filers (admins): what failed, what waits for its next attempt, and
sending a failed message again (audited).

Addresses are shown masked (z***@example.com) and errors by their type only; the list holds
the rows of the bureaus the admin reads, and sending again is refused (and audited) for
another bureau's row (``admin.scoping``). Who may: ``permissions.may_manage_mail``.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock, labels
from portal.admin import scoping
from portal.admin.access import role_required
from portal.extensions import db
from portal.models import MailStatus, OutgoingMail
from portal.rules.identifiers import mask_email
from portal.services import mail_queue, notifications
from portal.services.permissions import MAIL_ROLES

bp = Blueprint("mail", __name__, url_prefix="/mail")


@bp.get("/")
@role_required(*MAIL_ROLES)
def index():
    mine = scoping.current()
    return render_template(
        "admin/mail.html", counts=mail_queue.counts(db.session, mine),
        failed=mail_queue.outstanding(db.session, mine, MailStatus.FAILED),
        pending=mail_queue.outstanding(db.session, mine, MailStatus.PENDING),
        listed=mail_queue.LISTED, configured=notifications.configured(),
        max_attempts=mail_queue.MAX_ATTEMPTS, local=clock.local, masked=mask_email,
        event_label=lambda row: labels.label(labels.MAIL_EVENTS, row.event))


@bp.post("/<int:mail_id>/send-again")
@role_required(*MAIL_ROLES)
def send_again(mail_id: int):
    row = db.session.get(OutgoingMail, mail_id)
    if row is None:
        abort(404)
    scoping.guard(row.jurisdiction, "outgoing_mail", row.id, write=True)
    try:
        mail_queue.send_again(db.session, current_user, row, clock.now())
    except mail_queue.MailError:
        db.session.rollback()
        flash(_("This e-mail has not failed: it is sent or waits for its next attempt."), "info")
        return redirect(url_for(".index"))
    db.session.commit()
    flash(_("The e-mail of filing %(receipt)s to %(address)s goes out again with the next "
            "round of the worker.", receipt=row.receipt_no, address=mask_email(row.recipient)),
          "success")
    return redirect(url_for(".index"))
