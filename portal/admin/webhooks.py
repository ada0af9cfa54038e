"""Webhooks (admins): the endpoints of the API clients, the dead-letter list with "deliver
again" (audited), and each endpoint's delivery log.

Addresses are shown without their query (a receiver may put its own token there) and
errors by their kind only; payloads and secrets are never shown. The lists hold the
endpoints of the bureaus the admin reads; delivering again is refused (and audited) for
another bureau's (``admin.scoping``); an organisation's endpoint is of no bureau: every
admin's. Who may: ``permissions.may_manage_webhooks``.
"""
from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal import clock
from portal.admin import scoping
from portal.admin.access import role_required
from portal.extensions import db
from portal.models import ApiClient, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from portal.rules.identifiers import mask_ric_numbers
from portal.services import webhook_delivery, webhooks
from portal.services.permissions import WEBHOOK_ROLES

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")
STATUS_LABELS = {DeliveryStatus.PENDING: _l("waiting"), DeliveryStatus.DELIVERED: _l("delivered"),
                 DeliveryStatus.DEAD: _l("given up"),
                 DeliveryStatus.WITHDRAWN: _l("withdrawn, never sent")}


def shown_url(url: str) -> str:
    """Scheme, host, port and path: never the query or what follows; a resident ID number
    in them masked (an organisation's address is its own text)."""
    parts = urlsplit(url)
    return mask_ric_numbers(f"{parts.scheme}://{parts.netloc}{parts.path}")


def _owners(endpoints) -> dict[int, str]:
    ids = {e.api_client_id for e in endpoints if e.api_client_id}
    names = dict(db.session.execute(sa.select(ApiClient.id, ApiClient.name).where(
        ApiClient.id.in_(ids))).all()) if ids else {}
    return {e.id: names.get(e.api_client_id) or webhooks.owner_label(e) for e in endpoints}


def _guard(hook: WebhookEndpoint, entity_type: str, entity_id: int, *,
           write: bool = False) -> None:
    """``scoping.guard`` of the endpoint's bureau; an organisation's endpoint is of none
    (as its account): every admin's (``Scope.audit_where``)."""
    if hook.jurisdiction is None and scoping.current().can_read_portal_wide(None):
        return
    scoping.guard(hook.jurisdiction, entity_type, entity_id, write=write)


def _helpers() -> dict:
    return {"local": clock.local, "shown_url": shown_url, "status_labels": STATUS_LABELS,
            "max_attempts": webhook_delivery.MAX_ATTEMPTS, "listed": webhook_delivery.LISTED}


@bp.get("/")
@role_required(*WEBHOOK_ROLES)
def index():
    mine = scoping.current()
    endpoints = db.session.execute(
        sa.select(WebhookEndpoint).where(mine.audit_where(WebhookEndpoint.jurisdiction))
        .order_by(WebhookEndpoint.active.desc(), WebhookEndpoint.id)).scalars().all()
    dead = webhook_delivery.dead_letters(db.session, mine)
    by_id = {e.id: e for e in endpoints}
    for row in dead:
        by_id.setdefault(row.endpoint_id, db.session.get(WebhookEndpoint, row.endpoint_id))
    return render_template(
        "admin/webhooks/index.html", endpoints=endpoints, dead=dead, by_id=by_id,
        owners=_owners(by_id.values()),
        counts=webhooks.counts(db.session, [e.id for e in endpoints]), **_helpers())


@bp.get("/<int:endpoint_id>")
@role_required(*WEBHOOK_ROLES)
def endpoint(endpoint_id: int):
    found = db.session.get(WebhookEndpoint, endpoint_id)
    if found is None:
        abort(404)
    _guard(found, "webhook_endpoint", found.id)
    rows, more = webhooks.deliveries(db.session, found, None, webhook_delivery.LISTED)
    return render_template(
        "admin/webhooks/endpoint.html", hook=found, rows=rows, more=more,
        owner=_owners([found])[found.id], log=webhooks.attempts_of(db.session, [r.id for r in rows]),
        counts=webhooks.counts(db.session, [found.id])[found.id], **_helpers())


@bp.post("/deliveries/<int:delivery_id>/deliver-again")
@role_required(*WEBHOOK_ROLES)
def deliver_again(delivery_id: int):
    row = db.session.get(WebhookDelivery, delivery_id)
    if row is None:
        abort(404)
    hook = db.session.get(WebhookEndpoint, row.endpoint_id)
    _guard(hook, "webhook_delivery", row.id, write=True)
    try:
        webhook_delivery.deliver_again(db.session, current_user, row, clock.now())
    except webhook_delivery.DeliveryError as refused:
        db.session.rollback()
        flash(_("The webhook was removed: nothing is sent to it any more.")
              if refused.code == "inactive" else
              _("This delivery was not given up: it was delivered or waits for its next "
                "attempt."), "info")
        return redirect(url_for(".index"))
    db.session.commit()
    flash(_("Event %(event)s goes to %(address)s again with the next round of the worker.",
            event=row.event_id, address=shown_url(hook.url)), "success")
    return redirect(url_for(".index"))
