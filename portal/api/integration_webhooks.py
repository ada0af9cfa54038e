"""Webhooks of the integration API: ``/api/v1/integration/webhooks`` (scope
``webhooks:manage``), routes of the integration blueprint (:mod:`portal.api.integration`).

A client registers its receivers, lists and removes them, reads their delivery log and
asks for a replay from a feed position; the worker does the sending
(:mod:`portal.services.webhook_delivery`). Every call is audited like every other call of
the integration API.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from portal import clock
from portal.api import contract
from portal.api.integration import ERRORS, _json, bp, endpoint, spec
from portal.api.integration_requests import (
    DeliveryQuery,
    WebhookReplayRequest,
    WebhookRequest,
    encode_delivery_cursor,
)
from portal.api.integration_resources import (
    WebhookCreatedOne,
    WebhookDeliveryPage,
    WebhookList,
    WebhookOne,
    WebhookReplayOne,
)
from portal.extensions import db
from portal.json_errors import ApiError
from portal.models import ApiClient, DeliveryStatus, WebhookEndpoint
from portal.services import integration as service
from portal.services import webhooks
from portal.services.serializers import iso

SCOPE = webhooks.SCOPE
WEBHOOK_ERRORS = {
    **ERRORS,
    "404": "No webhook of this client with this id.",
    "409": "The client has the most active webhooks it may have (10): remove one first.",
}
#: ``/webhooks/<id>``: ids the database can hold (larger ones are simply not found)
ENDPOINT_ID = "<int(min=1, max=2147483647):endpoint_id>"


def described(ok, *codes: str, ok_codes=None, **validate):
    return spec.validate(resp=contract.answers(ok, {c: WEBHOOK_ERRORS[c] for c in codes},
                                               ok_codes),
                         security={"bearerToken": [SCOPE]}, tags=["integration"],
                         validation_error_status=422 if "json" in validate else 400, **validate)


def _resource(item: WebhookEndpoint, counts: dict) -> dict:
    return {"id": item.id, "url": item.url, "event_types": list(item.event_types or []),
            "active": bool(item.active), "cursor": item.cursor,
            "secret_prefix": item.secret_prefix, "created_at": iso(item.created_at),
            "pending": counts.get("pending", 0), "dead": counts.get("dead", 0)}


def _own(client: ApiClient, endpoint_id: int) -> WebhookEndpoint:
    found = webhooks.endpoint_of(db.session, client, endpoint_id)
    if found is None:
        raise ApiError(404, "not_found", _l("There is no webhook of this API client with this "
                                            "id."))
    return found


MESSAGES = {
    "invalid_url": _l("The address must be a complete URL without a user, password or "
                      "fragment."),
    "https_required": _l("The address must begin with https://."),
    "invalid_event_types": _l("This value is not one of the allowed values."),
}


@bp.post("/webhooks")
@endpoint(SCOPE, "webhooks.create")
@described(WebhookCreatedOne, "400", "401", "403", "409", "413", "422", "429", "500",
           ok_codes={"201": "The webhook, with its signing secret (shown this once)."},
           json=WebhookRequest)
def create_webhook(client: ApiClient, json: WebhookRequest):
    """Register a webhook

    The portal POSTs each case event of the chosen types, in its jurisdictions, to `url` as
    JSON `{"id", "type", "created_at", "data"}` (`data`: the item of GET /changes), with the
    headers `X-Portal-Event` (the type), `X-Portal-Event-Id`, `X-Portal-Delivery` (this
    delivery's id), `X-Portal-Timestamp` (Unix seconds) and `X-Portal-Signature:
    v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>`. Any 2xx answer within 5 s
    delivers it; otherwise it is tried again after 2 s, 4 s, 8 s … (at most an hour apart,
    about 20 hours in all), then given up (the bureau's admins see it and may send it again).
    At least once: de-duplicate on the event id. In order per subject: an event waits while
    an earlier one of the same unit or person is still being tried. It starts with the
    events after now (earlier ones: POST …/replay). The secret is answered this once.

    Scope: `webhooks:manage`.
    """
    config = current_app.config
    try:
        item, secret = webhooks.register(
            db.session, service.api_actor(client), json.url, json.event_types,
            secret_key=config["SECRET_KEY"], now=clock.now(), client=client,
            allow_http_hosts=config.get("PORTAL_WEBHOOK_ALLOW_HTTP_HOSTS") or ())
    except webhooks.WebhookError as problem:
        if problem.code == "too_many_endpoints":
            raise ApiError(409, "too_many_webhooks", _l(
                "This API client has the most webhooks it may have: remove one first.")) from None
        raise contract.invalid_fields([{
            "field": problem.field or "url", "code": problem.code,
            "message": MESSAGES.get(problem.code, MESSAGES["invalid_url"])}]) from None
    body = {"data": {**_resource(item, {}), "secret": secret}}
    return _json(body, 201), {"webhook": item.id, "host": webhooks.host_of(item.url),
                              "event_types": item.event_types}


@bp.get("/webhooks")
@endpoint(SCOPE, "webhooks.list")
@described(WebhookList, "400", "401", "403", "429", "500")
def list_webhooks(client: ApiClient):
    """The client's webhooks

    Active and removed, oldest first, with how many deliveries wait and how many were given
    up. Secrets are never shown again.

    Scope: `webhooks:manage`.
    """
    items = webhooks.endpoints_of(db.session, client)
    counts = webhooks.counts(db.session, [i.id for i in items])
    return _json({"data": [_resource(i, counts[i.id]) for i in items]}), {"items": len(items)}


@bp.delete(f"/webhooks/{ENDPOINT_ID}")
@endpoint(SCOPE, "webhooks.delete")
@described(WebhookOne, "400", "401", "403", "404", "429", "500")
def delete_webhook(client: ApiClient, endpoint_id: int):
    """Remove a webhook

    Nothing more is queued or sent to it, including what still waits. Final: register a new
    one to receive events again. Removing a removed webhook answers it as it is.

    Scope: `webhooks:manage`.
    """
    item = _own(client, endpoint_id)
    webhooks.deactivate(db.session, service.api_actor(client), item, clock.now())
    counts = webhooks.counts(db.session, [item.id])[item.id]
    return _json({"data": _resource(item, counts)}), {"webhook": item.id}


@bp.get(f"/webhooks/{ENDPOINT_ID}/deliveries")
@endpoint(SCOPE, "webhooks.deliveries")
@described(WebhookDeliveryPage, "400", "401", "403", "404", "429", "500", query=DeliveryQuery)
def webhook_deliveries(client: ApiClient, endpoint_id: int, query: DeliveryQuery):
    """A webhook's delivery log

    Its deliveries, newest first, each with its latest attempts (when, the status code
    answered, how long, the error's kind). Page on with `next_cursor`.

    Scope: `webhooks:manage`.
    """
    item = _own(client, endpoint_id)
    rows, more = webhooks.deliveries(db.session, item, query.cursor, query.limit,
                                     DeliveryStatus(query.status) if query.status else None)
    log = webhooks.attempts_of(db.session, [r.id for r in rows])
    data = [{"id": r.id, "event_id": r.event_id, "event_type": r.event_type,
             "position": r.position, "status": r.status.value, "attempts": r.attempts,
             "next_attempt_at": iso(r.next_attempt_at), "last_status_code": r.last_status_code,
             "last_error": r.last_error, "created_at": iso(r.created_at),
             "delivered_at": iso(r.delivered_at),
             "log": [{"at": iso(a.at), "status_code": a.status_code,
                      "duration_ms": a.duration_ms, "error": a.error} for a in log[r.id]]}
            for r in rows]
    body = {"data": data, "next_cursor": encode_delivery_cursor(rows[-1].id) if more else None,
            "has_more": more}
    return _json(body), {"webhook": item.id, "items": len(rows)}


@bp.post(f"/webhooks/{ENDPOINT_ID}/replay")
@endpoint(SCOPE, "webhooks.replay")
@described(WebhookReplayOne, "400", "401", "403", "404", "413", "422", "429", "500",
           ok_codes={"202": "The events after from_position are queued again within seconds."},
           json=WebhookReplayRequest)
def replay_webhook(client: ApiClient, endpoint_id: int, json: WebhookReplayRequest):
    """Deliver the events after a position again

    Every case event of the webhook's types after `from_position` (the `position` of an event
    of GET /changes or of a delivery; 0: from the start) is queued again, in order, with the
    same event ids, so a receiver that keeps the ids it has seen takes each once. A position
    beyond the webhook's cursor replays nothing.

    Scope: `webhooks:manage`.
    """
    item = _own(client, endpoint_id)
    if not item.active:
        raise ApiError(404, "not_found", _l("There is no webhook of this API client with this "
                                            "id."))
    cursor = webhooks.replay(db.session, service.api_actor(client), item, json.from_position)
    return (_json({"data": {"from_position": json.from_position, "cursor": cursor}}, 202),
            {"webhook": item.id, "from_position": json.from_position})
