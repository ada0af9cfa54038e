"""The public JSON API at ``/api/v1`` (blueprint ``api``): read-only, projection only.

Every answer is JSON, errors included (see :mod:`portal.json_errors`); the
OpenAPI description is at ``/api/v1/openapi.json``. One or two queries per
request. Pagination: ``page`` (1–50) and ``per_page`` (1–100, default 20), or
the ``cursor`` of a ``links.next``/``links.prev`` (keyset: every page costs the
same, see :mod:`portal.paging`); totals are counted once per publication
version. Out-of-range values and unknown filter values are refused with 400
rather than silently corrected, so a client never mistakes a different list
for the one it asked for.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import sqlalchemy as sa
from flask import Blueprint, current_app, request, url_for
from flask_babel import lazy_gettext as _l

from portal import front, json_errors, labels, paging
from portal import public_scope as jurisdiction
from portal.api import changes as change_feed
from portal.api import contract
from portal.api.resources import (
    ChangePage,
    ChangesQuery,
    CheckQuery,
    CheckResult,
    Document,
    EntriesQuery,
    EntryList,
    LangOnly,
    OneEntry,
    RemovalList,
    RemovalsQuery,
    Scoped,
    encode_change_cursor,
)
from portal.caching import aggregates, publication_token
from portal.extensions import csrf, db, limiter
from portal.json_errors import ApiError
from portal.models import RemovalNotice
from portal.rules.identifiers import (
    InvalidIdentifier,
    detect,
    mask_identifier,
    normalise,
    validate_uscc,
)
from portal.security import lookup_hash
from portal.services import public_queries as queries
from portal.services import serializers
from portal.services.subjects import validate_ric_today

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)
json_errors.register(bp)
#: Every public endpoint takes the jurisdiction whose records it answers with.
SCOPE = jurisdiction.PARAMETER
spec = contract.new_spec("Social insurance serious dishonesty list — public API", (
    "Read-only access to the published list, the removals and the change log. Everything comes "
    "from the public projection: identity card numbers of persons are always masked; a full "
    "number can only be matched exactly (/check). Errors are JSON: {\"error\": {\"code\", "
    "\"message\", \"field\"}}. Messages are in Chinese unless lang=en. Every list and look-up "
    "takes `jurisdiction` (a bureau's code): its records and those of the bureaus below it; "
    "without it, the whole portal. Every record names its jurisdiction (code). Bulk downloads: "
    "/exports/entries.csv|xlsx|json and /exports/removals.csv|xlsx|json (also ?jurisdiction=); "
    "Atom feed: /feeds/changes.atom. The bureau's own systems (with an API client token): "
    "/api/v1/integration/openapi.json."))
ERRORS = {
    "400": "A parameter is missing, unknown or invalid (`error.field` names it).",
    "404": "Nothing at this address, no public entry with this id (in the jurisdiction asked "
           "for), or no such jurisdiction (error.code unknown_jurisdiction).",
    "405": "Only GET (and HEAD) are answered.",
    "410": "The entry is no longer published (withdrawn): `error.withdrawn_on` and `error.reason` "
           "(credit_repaired, objection_upheld, revoked, period_ended) say when and why.",
    "429": "Too many requests from this address; retry after the `Retry-After` seconds.",
    "500": "Internal error.",
    "503": "The request ran out of its time budget, or the database is unavailable; retry after "
           "the `Retry-After` seconds (error.code: timeout or unavailable).",
}


def answers(ok, *codes: str):
    return contract.answers(ok, {code: ERRORS[code] for code in codes})


def _scope(lazy: bool = False) -> jurisdiction.Scope:
    """The jurisdiction asked for (``?jurisdiction=``; none: the whole portal); an unknown or
    inactive code is a 404 in JSON, an empty one a 400. ``lazy``: without the parameter, read
    nothing (a look-up that needs no more than the codes to filter by)."""
    if SCOPE in request.args and not request.args[SCOPE].strip():
        raise ApiError(400, "invalid_value", _l("%(name)s must be one of the allowed values.",
                                                name=SCOPE), SCOPE)
    if lazy and SCOPE not in request.args:
        return jurisdiction.Scope()
    try:
        return jurisdiction.scope()
    except jurisdiction.UnknownJurisdiction:
        raise ApiError(404, "unknown_jurisdiction", _l("There is no such jurisdiction on this "
                                                       "portal."), SCOPE) from None


def _grounds(scope: jurisdiction.Scope) -> list[str]:
    """The ground codes a request may filter by: those of the profiles of its jurisdictions."""
    return list(dict.fromkeys(g.code for profile in scope.profiles() for g in profile.grounds))


#: The answers the same for everyone who asks the same URL until the next publication.
SHARED = ("api.entries", "api.entry", "api.removals", "api.openapi")


@bp.before_request
def _publication_first():
    """A request whose answer the front cache may keep reads the publication version before any
    data, so an answer is never kept under a version older than what it shows."""
    if request.endpoint in SHARED and front.active(request.environ):
        publication_token()


def _json(payload, status: int = 200, cache: str = "public, max-age=60"):
    """A JSON answer; a public 200 (the same for everyone who asks the same URL) may be kept by the
    front cache until the next publication (``portal.front``)."""
    if status == 200 and request.endpoint in SHARED and front.active(request.environ):
        version, changed_at = publication_token()
        if changed_at is not None:
            front.share(request.environ, (version, changed_at))
    return json_errors.json_response(payload, status, cache)


def _paged(endpoint: str, read, serialize, page: paging.Page, window: paging.Window | None):
    """One page of a list with its links: ``next`` always by cursor (a client reading a whole
    list never makes the database walk rows), ``prev`` by cursor or ``page`` near the start.

    One row more than the page is read, so ``next`` (or, reading backwards, ``prev``) is
    known from the rows themselves, even when the list changed since the cursor was issued.
    """
    per_page = page.per_page
    rows, more = [], False
    if window is not None:
        rows = read(dataclasses.replace(window, limit=window.limit + 1))
        more = len(rows) > per_page
        backwards = window.cursor is not None and not window.cursor.after
        rows = rows[-per_page:] if backwards else rows[:per_page]
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    args = {k: v for k, v in request.args.items() if k not in ("page", "cursor")}

    def link(**where) -> str:
        return base + url_for(endpoint, **args, **where)

    def cursor_link(after: bool, row, number: int) -> str:
        day, row_id = page.key_of(row)
        return link(cursor=paging.Cursor(after, day, row_id, max(number, 1)).encode())

    cursor = window.cursor if window is not None else None
    has_next = more if cursor is None or cursor.after else bool(rows)
    if cursor is None:
        has_prev = page.number > 1
    else:
        has_prev = bool(rows) and (more if not cursor.after else True)
    prev = None
    if has_prev and cursor is None:
        prev = link(page=page.number - 1)
    elif has_prev:
        prev = cursor_link(False, rows[0], page.number - 1)
    here = link(cursor=cursor.encode()) if cursor is not None else link(page=page.number)
    return _json({
        "data": [serialize(row) for row in rows],
        "meta": {"page": page.number, "per_page": per_page, "total": page.total, "pages": page.pages},
        "links": {"self": here,
                  "next": cursor_link(True, rows[-1], page.number + 1) if has_next and rows else None,
                  "prev": prev},
    })


def _window(page: paging.Page, number: int, cursor: paging.Cursor | None) -> paging.Window | None:
    """By position for ``page`` (≤ API_MAX_PAGE: a small OFFSET), else from the cursor."""
    if cursor is not None:
        page.number = min(max(cursor.number, 1), page.pages)
        return paging.Window(limit=page.per_page, cursor=cursor)
    page.number = number
    offset = (number - 1) * page.per_page
    return paging.Window(offset=offset, limit=page.per_page) if page.total > offset else None


@bp.get("/entries")
@spec.validate(resp=answers(EntryList, "400", "404", "405", "500", "503"))
def entries(query: EntriesQuery):
    """Current list

    Entries currently listed and public, newest decision first.
    """
    scope = _scope()
    if query.ground is not None and query.ground not in _grounds(scope):
        raise contract.invalid_value("ground", _grounds(scope))
    filters = {name: value for name, value in query.model_dump(
        include={"ground", "subject_kind", "severity", "year", "department"}).items()
        if value is not None}
    groups = queries.in_scope(aggregates.get("entry-facets", lambda: queries.entry_facet_groups(db.session)),
                              scope.codes)
    page = paging.Page(query.page, queries.facet_counts(groups, filters)[1], query.per_page,
                       key_of=lambda e: (e.listed_on, e.id))
    urls, reasons = serializers.Urls(), serializers.translated(labels.REMOVAL_REASONS)
    return _paged("api.entries", lambda window: queries.entries_page(
                      db.session, filters, False, window, scope.codes, with_names=True),
                  lambda e: serializers.entry_resource(e, urls, reasons),
                  page, _window(page, query.page, query.cursor))


@bp.get("/entries/<public_id>")
@spec.validate(resp=answers(OneEntry, "400", "404", "405", "410", "500"))
def entry(public_id: str, query: Scoped):
    """One entry

    A public entry, listed or removed (then with its removal).
    """
    scope = _scope()
    found = queries.entry_by_public_id(db.session, public_id[:20], True)
    if found is not None and scope.codes is not None and found.jurisdiction not in scope.codes:
        found = None                      # not this jurisdiction's: as if it did not exist
    if found is None:
        gone = queries.withdrawal(db.session, "entry", public_id[:20])
        if gone is not None and (scope.codes is None or gone.jurisdiction in scope.codes):
            raise ApiError(410, "withdrawn", _l("This entry is no longer published."), "public_id",
                           withdrawn_on=gone.withdrawn_on.isoformat(), reason=gone.reason)
        raise ApiError(404, "not_found", _l("No entry is published under this id."), "public_id")
    return _json({"data": serializers.entry_resource(found, serializers.Urls())})


@bp.get("/removals")
@spec.validate(resp=answers(RemovalList, "400", "404", "405", "500", "503"))
def removals(query: RemovalsQuery):
    """Removals

    Published removal notices, newest removal first.
    """
    scope = _scope()
    filters = [queries.within(RemovalNotice.jurisdiction, scope.codes)]
    reason, kind, year = query.reason, query.subject_kind, query.year
    if reason:
        filters.append(RemovalNotice.reason == reason)
    if kind:
        filters.append(RemovalNotice.subject_kind == kind)
    if year is not None:
        filters.append(RemovalNotice.removed_on.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))

    where = sa.and_(queries.notice_public(), *filters)
    total = aggregates.get(("api-removals", reason, kind, year, scope.codes), lambda: db.session.scalar(
        sa.select(sa.func.count()).select_from(RemovalNotice).where(where)))
    page = paging.Page(query.page, total, query.per_page, key_of=lambda r: (r.removed_on, r.id))
    urls, reasons = serializers.Urls(), serializers.translated(labels.REMOVAL_REASONS)

    def read(window):
        return queries.read_window(db.session, sa.select(RemovalNotice).where(where),
                                   RemovalNotice.removed_on, RemovalNotice.id, True, window)

    return _paged("api.removals", read, lambda r: serializers.removal_resource(r, urls, reasons),
                  page, _window(page, query.page, query.cursor))


def _check_limit() -> str:
    return current_app.config.get("PORTAL_API_CHECK_LIMIT", "30/minute")


@bp.get("/check")
@limiter.limit(_check_limit)
@spec.validate(resp=answers(CheckResult, "400", "404", "405", "429", "500"))
def check(query: CheckQuery):
    """Exact look-up

    Is this unified social credit code or resident ID number listed (also: disclosed only to
    an exact look-up, as persons are under some profiles)? The check character is verified;
    old organisation codes and registration numbers are refused (unsupported_identifier). The
    answer shows masked identifiers only. Rate-limited per address. Not cached.
    """
    # Scoped only when a jurisdiction is asked for: the look-up reads nothing else.
    codes = _scope(lazy=True).codes
    kind, number = classify(query.code)
    code_hash = lookup_hash(current_app.config["PORTAL_LOOKUP_KEY"], number)
    found = queries.check_entries(db.session, code_hash, codes)
    notices = queries.check_removals(db.session, code_hash, codes)
    urls, reasons = serializers.Urls(), serializers.translated(labels.REMOVAL_REASONS)
    removal_items = []
    for notice in notices:
        item = serializers.removal_resource(notice, urls, reasons)
        if not queries.notice_is_public(notice):   # disclosed by exact look-up only: no page
            item["entry_url"] = None
        removal_items.append(item)
    return _json({
        "query": {"kind": kind, "code_masked": mask_identifier(number)},
        "listed": any(e.status == "listed" for e in found),
        "entries": [serializers.entry_resource(e, urls, reasons, linked=e.visible) for e in found],
        "removals": removal_items,
    }, cache="no-store")


def classify(raw: str) -> tuple[str, str]:
    """("uscc" | "ric", normalised number), else a 400 that says what is wrong.

    Old organisation codes and registration numbers are refused rather than
    matched: a subject is hashed under its main code (its USCC when it has
    one), so a look-up by an old code could answer "not listed" wrongly.
    """
    number = normalise(raw[:64])
    kind = detect(number)
    if kind in ("uscc", "ric"):
        return kind, number
    if kind in ("org_code", "reg_no"):
        raise ApiError(400, "unsupported_identifier", _l(
            "Old organisation codes and business registration numbers cannot be checked here. "
            "Use the unified social credit code, or search by name."), "code")
    if len(number) != 18:
        raise ApiError(400, "invalid_length", _l(
            "A unified social credit code and a resident ID number have 18 characters; "
            "this one has %(count)s.", count=len(number)), "code")
    validator = validate_ric_today if number[:17].isdigit() else validate_uscc
    try:
        validator(number)
        reason = "format"
    except InvalidIdentifier as problem:
        reason = problem.reason
    if reason == "checksum":
        raise ApiError(400, "invalid_check_digit", _l(
            "The check character (the last one) does not match the rest of the number. "
            "Please look for a typing mistake."), "code")
    raise ApiError(400, "invalid_identifier", _l(
        "This is not a valid unified social credit code or resident ID number."), "code")


@bp.get("/changes")
@spec.validate(resp=answers(ChangePage, "400", "404", "405", "500"))
def changes(query: ChangesQuery):
    """Change log

    Changes to entries, removals and the red list in the order they were made, each with the
    record's current public representation, or deleted=true when it is no longer public.
    Start without `since`; then pass `next_cursor` back unchanged as `since` (the cursor is
    opaque). has_more=false: poll later.
    """
    codes = _scope(lazy=True).codes
    settle = dt.timedelta(seconds=current_app.config.get("PORTAL_CHANGES_SETTLE_SECONDS", 60))
    page = change_feed.read(db.session, query.since or 0, query.limit, settle, codes)
    return _json({
        "data": page.items,
        "next_cursor": encode_change_cursor(page.position),
        "has_more": page.has_more,
    }, cache="no-cache")


@bp.get("/openapi.json")
@spec.validate(resp=answers(Document, "400", "405"))
def openapi(query: LangOnly):
    """This document

    The OpenAPI description of the API.
    """
    places = [item.code for item in jurisdiction.current_directory().active]
    return _json(document(current_app.config["PORTAL_BASE_URL"], _grounds(_scope()), places),
                 cache="public, max-age=3600")


def document(base_url: str, grounds: list[str], places: list[str]) -> dict:
    """The OpenAPI document of ``/api/v1`` with the values known only to this portal: the
    ``grounds`` of its profiles and the codes of its active jurisdictions (``places``)."""
    doc = contract.document(spec, base_url, ("jurisdiction", "lang"))
    for operation in doc["paths"]["/entries"].values():
        for parameter in operation["parameters"]:
            if parameter.get("name") == "ground":
                parameter["schema"] = {"type": "string", "enum": list(grounds)}
    if places:
        doc["components"]["parameters"]["jurisdiction"]["schema"] = {"type": "string",
                                                                      "enum": list(places)}
    return doc
