"""The integration API's watchlists (关注名单): an API client's own watchlists of codes, and
the alerts the worker writes when a watched subject is listed, corrected, under objection or
removed (``/api/v1/integration/watchlists…``, scope ``watchlists:manage``).

Views on the integration blueprint (registered when the application factory imports this
module). The watchlists are those of the calling client only: another client's is "not
found" (404), like one that does not exist. Codes are kept as keyed hashes with their masked
form (``portal.services.watchlists``); answers and the audit of each call carry masked codes
and counts, never a full ID number.
"""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal import clock
from portal.api.contract import BODY_MESSAGES, MAX_BODY
from portal.api.integration import _json, bp, described, endpoint
from portal.api.integration_watch_models import (
    MAX_WATCH_BODY,
    AddCodesRequest,
    AlertsQuery,
    CodesAdded,
    CodesQuery,
    CodesRemoved,
    NewWatchlistRequest,
    RemoveCodesRequest,
    WatchAlertPage,
    WatchedCodePage,
    WatchlistAnswer,
    WatchlistList,
)
from portal.api.resources import LangOnly
from portal.extensions import db
from portal.json_errors import ApiError
from portal.models import ApiClient, Watchlist
from portal.rules.identifiers import mask_ric_numbers
from portal.services import watchlists
from portal.services.serializers import iso
from portal.services.watchlists import WatchlistError

SCOPE = "watchlists:manage"
NOTES = {
    "404": "No watchlist of this number among the calling client's own (another client's "
           "watchlist is not found either).",
    "409": f"The client keeps {watchlists.MAX_WATCHLISTS} watchlists already "
           "(`too_many_watchlists`): delete one first.",
    "413": f"The body is larger than {MAX_WATCH_BODY // (1024 * 1024)} MiB.",
}
SMALL_BODY = {"413": f"The body is larger than {MAX_BODY // 1024} KiB."}
#: a code's refusal (``parse_code``'s reason) -> the answer's error code
CODE_ERRORS = {"length": "invalid_length", "format": "invalid_format",
               "checksum": "invalid_check_digit", "birth_date": "invalid_birth_date",
               "region": "invalid_region", "missing": "required"}


def _own(client: ApiClient, watchlist_id: int) -> Watchlist:
    try:
        return watchlists.get_owned(db.session, watchlist_id, api_client_id=client.id)
    except WatchlistError:
        raise ApiError(404, "not_found", _l(
            "This API client has no watchlist of this number.")) from None


def _masked(text: str | None) -> str | None:
    return mask_ric_numbers(text) if text else text


def _resource(watchlist: Watchlist) -> dict:
    token = watchlists.feed_token(current_app.config["SECRET_KEY"], watchlist)
    return {"id": watchlist.id, "name": _masked(watchlist.name),
            "codes": watchlists.item_count(db.session, watchlist),
            "listed_today": watchlists.listed_count(db.session, watchlist),
            "feed_url": url_for("public.watch_feed", token=token, _external=True,
                                jurisdiction=None) if token else None,
            "created_at": iso(watchlist.created_at)}


@bp.get("/watchlists")
@endpoint(SCOPE, "watchlists")
@described(SCOPE, WatchlistList, "400", "401", "403", "429", "500", query=LangOnly)
def watchlist_index(client: ApiClient, query: LangOnly):
    """The client's watchlists

    Each with the number of codes it watches, how many of them are on the public list today,
    and the address of its private Atom feed. Oldest first.

    Scope: `watchlists:manage`.
    """
    rows = watchlists.owned_by(db.session, api_client_id=client.id)
    body = {"data": [_resource(w) for w in rows], "max_watchlists": watchlists.MAX_WATCHLISTS,
            "max_codes": watchlists.MAX_ITEMS}
    return _json(body), {"watchlists": len(rows)}


@bp.post("/watchlists")
@endpoint(SCOPE, "watchlist_create")
@described(SCOPE, WatchlistAnswer, "400", "401", "403", "409", "413", "422", "429", "500",
           ok_codes={"201": "The new watchlist."}, notes={**NOTES, **SMALL_BODY},
           json=NewWatchlistRequest)
def watchlist_create(client: ApiClient, json: NewWatchlistRequest):
    """Make a watchlist

    A new, empty watchlist of the calling client (at most 20 a client: then 409
    `too_many_watchlists`). The worker tells its alerts within a minute of a change of the
    public list; read them with `GET /watchlists/{watchlist_id}/alerts` or its Atom feed.

    Scope: `watchlists:manage`.
    """
    try:
        made = watchlists.create(db.session, current_app.config["SECRET_KEY"], json.name,
                                 api_client_id=client.id, now=clock.now())
    except WatchlistError:
        raise ApiError(409, "too_many_watchlists", _l(
            "This API client keeps as many watchlists as it may (%(n)s): delete one first.",
            n=watchlists.MAX_WATCHLISTS)) from None
    return _json({"data": _resource(made)}, 201), {"watchlist_id": made.id}


@bp.delete("/watchlists/<int:watchlist_id>")
@endpoint(SCOPE, "watchlist_delete")
@described(SCOPE, None, "401", "403", "404", "429", "500",
           ok_codes={"204": "Deleted, with its codes and alerts."}, notes=NOTES)
def watchlist_delete(client: ApiClient, watchlist_id: int):
    """Delete a watchlist

    The watchlist, its codes and its alerts are deleted; its feed address stops working.

    Scope: `watchlists:manage`.
    """
    watchlists.delete(db.session, _own(client, watchlist_id))
    response = current_app.response_class(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response, {"watchlist_id": watchlist_id}


@bp.post("/watchlists/<int:watchlist_id>/codes")
@endpoint(SCOPE, "watch_codes_add")
@described(SCOPE, CodesAdded, "400", "401", "403", "404", "413", "422", "429", "500", notes=NOTES,
           json=AddCodesRequest)
def watch_codes_add(client: ApiClient, watchlist_id: int, json: AddCodesRequest):
    """Add codes to a watchlist

    Up to 10,000 lines a call, each a code in full and an optional label (bodies up to
    8 MiB). A code is checked like on the screening page (check characters, birth dates,
    regions) and kept only as its keyed hash with its masked form. Each line is counted once:
    `added`, `already` (watched before, or given twice), `over_limit` (the watchlist holds
    10,000 codes) or listed in `errors` with its index and the code masked.

    Scope: `watchlists:manage`.
    """
    watchlist = _own(client, watchlist_id)
    problems, lines = [], []
    for index, line in enumerate(json.codes):
        if line.code.strip():
            lines.append((index, line.code, line.label))
        else:
            problems.append({"index": index, "code_masked": "", "error": "required",
                             "message": str(BODY_MESSAGES["required"])})
    try:
        result = watchlists.add_codes(db.session, current_app.config["PORTAL_LOOKUP_KEY"],
                                      watchlist, lines, clock.today(), clock.now())
    except IntegrityError:
        # a call still running (one retried after a time-out) added some of these codes:
        # read the watchlist again, and those are "already"
        db.session.rollback()
        watchlist = _own(client, watchlist_id)
        result = watchlists.add_codes(db.session, current_app.config["PORTAL_LOOKUP_KEY"],
                                      watchlist, lines, clock.today(), clock.now())
    for index, masked, message in result.errors:
        reason = result.reasons.get(index, "").rpartition(":")[2]
        problems.append({"index": index, "code_masked": masked or "",
                         "error": CODE_ERRORS.get(reason, "invalid_identifier"),
                         "message": str(message)})
    problems.sort(key=lambda p: p["index"])
    body = {"added": result.added, "already": result.already, "over_limit": result.over_limit,
            "errors": problems}
    return _json(body), {"watchlist_id": watchlist.id, "lines": len(json.codes),
                         "added": result.added, "already": result.already,
                         "over_limit": result.over_limit, "errors": len(problems)}


@bp.post("/watchlists/<int:watchlist_id>/codes/remove")
@endpoint(SCOPE, "watch_codes_remove")
@described(SCOPE, CodesRemoved, "400", "401", "403", "404", "413", "422", "429", "500", notes=NOTES,
           json=RemoveCodesRequest)
def watch_codes_remove(client: ApiClient, watchlist_id: int, json: RemoveCodesRequest):
    """Remove codes from a watchlist

    The codes in full (in the body: never in an address), up to 10,000 a call. Alerts
    already written stay.

    Scope: `watchlists:manage`.
    """
    watchlist = _own(client, watchlist_id)
    removed = watchlists.remove_codes(db.session, current_app.config["PORTAL_LOOKUP_KEY"],
                                      watchlist, json.codes, clock.today())
    return _json({"removed": removed, "not_watched": len(json.codes) - removed}), {
        "watchlist_id": watchlist.id, "codes": len(json.codes), "removed": removed}


@bp.get("/watchlists/<int:watchlist_id>/codes")
@endpoint(SCOPE, "watch_codes")
@described(SCOPE, WatchedCodePage, "400", "401", "403", "404", "429", "500", notes=NOTES,
           query=CodesQuery)
def watch_codes(client: ApiClient, watchlist_id: int, query: CodesQuery):
    """The codes of a watchlist (export)

    Page through the watched lines in the order they were added: each code masked (a
    resident ID number as `2308**********1234`, an organisation's code in full), its label,
    and the public id of the entry listing it today.

    Scope: `watchlists:manage`.
    """
    watchlist = _own(client, watchlist_id)
    rows = watchlists.page(db.session, watchlist, query.offset, query.limit)
    data = [{"code_masked": item.code_masked, "label": _masked(item.label),
             "listed_public_id": public_id, "added_at": iso(item.added_at)}
            for item, public_id in rows]
    body = {"data": data, "total": watchlists.item_count(db.session, watchlist),
            "offset": query.offset, "limit": query.limit}
    return _json(body), {"watchlist_id": watchlist.id, "offset": query.offset,
                         "items": len(data)}


@bp.get("/watchlists/<int:watchlist_id>/alerts")
@endpoint(SCOPE, "watch_alerts")
@described(SCOPE, WatchAlertPage, "400", "401", "403", "404", "429", "500", notes=NOTES,
           query=AlertsQuery)
def watch_alerts(client: ApiClient, watchlist_id: int, query: AlertsQuery):
    """The alerts of a watchlist

    What the worker told about the watched codes — `listed`, `corrected`, `under_objection`,
    `objection_closed`, `removed` — with the public facts of the entry, oldest first. Poll:
    start with `after=0`, then pass `next_after` back. Alerts are written one run of the
    watch job at a time, so none is ever written behind a cursor already answered.

    Scope: `watchlists:manage`.
    """
    watchlist = _own(client, watchlist_id)
    rows = watchlists.alerts_after(db.session, watchlist, query.after, query.limit + 1)
    more, rows = len(rows) > query.limit, rows[:query.limit]
    data = [{"id": a.id, "event": a.event, "public_id": a.public_id, "label": _masked(a.label),
             "facts": a.payload or {}, "created_at": iso(a.created_at)} for a in rows]
    body = {"data": data, "next_after": rows[-1].id if rows else query.after, "has_more": more}
    return _json(body), {"watchlist_id": watchlist.id, "after": query.after,
                         "items": len(data)}
