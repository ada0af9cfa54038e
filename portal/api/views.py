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
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from portal import labels, paging
from portal import public_scope as jurisdiction
from portal.services import change_log as change_feed
from portal.api import contract, lookups  # noqa: F401  (lookups adds its routes to bp)
from portal.api.common import answers, bp, grounds_of, json_answer, scope_of, spec
from portal.api.resources import (
    ChangePage,
    ChangesQuery,
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
from portal.caching import aggregates
from portal.extensions import db
from portal.json_errors import ApiError
from portal.models import RemovalNotice
from portal.services import public_queries as queries
from portal.services import serializers

__all__ = ["bp", "document"]


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
    return json_answer({
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
    scope = scope_of()
    if query.ground is not None and query.ground not in grounds_of(scope):
        raise contract.invalid_value("ground", grounds_of(scope))
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
    scope = scope_of()
    found = queries.entry_by_public_id(db.session, public_id[:20], True)
    if found is not None and scope.codes is not None and found.jurisdiction not in scope.codes:
        found = None                      # not this jurisdiction's: as if it did not exist
    if found is None:
        gone = queries.withdrawal(db.session, "entry", public_id[:20])
        if gone is not None and (scope.codes is None or gone.jurisdiction in scope.codes):
            raise ApiError(410, "withdrawn", _l("This entry is no longer published."), "public_id",
                           withdrawn_on=gone.withdrawn_on.isoformat(), reason=gone.reason)
        raise ApiError(404, "not_found", _l("No entry is published under this id."), "public_id")
    return json_answer({"data": serializers.entry_resource(found, serializers.Urls())})


@bp.get("/removals")
@spec.validate(resp=answers(RemovalList, "400", "404", "405", "500", "503"))
def removals(query: RemovalsQuery):
    """Removals

    Published removal notices, newest removal first.
    """
    scope = scope_of()
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


@bp.get("/changes")
@spec.validate(resp=answers(ChangePage, "400", "404", "405", "500"))
def changes(query: ChangesQuery):
    """Change log

    Changes to entries, removals and the red list in the order they were made, each with the
    record's current public representation, or deleted=true when it is no longer public.
    Start without `since`; then pass `next_cursor` back unchanged as `since` (the cursor is
    opaque). has_more=false: poll later.
    """
    codes = scope_of(lazy=True).codes
    settle = dt.timedelta(seconds=current_app.config.get("PORTAL_CHANGES_SETTLE_SECONDS", 60))
    page = change_feed.read(db.session, query.since or 0, query.limit, settle, codes)
    return json_answer({
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
    return json_answer(document(current_app.config["PORTAL_BASE_URL"], grounds_of(scope_of()), places),
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
