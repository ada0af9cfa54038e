"""Public pages: home, entry, health, language switch.

The lists (/entries, /removals, /redlist), the exact look-up (/check) and the
statistics (/stats) live in their own modules and are registered on this
blueprint below, at definition time.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from portal import clock, deadline
from portal.caching import conditional as _conditional
from portal.extensions import db
from portal.public import check, listing, stats
from portal.services import public_queries as queries
from portal.services.decided_under import decided_under
from portal.web import active_profile
from search_index import Results

bp = Blueprint("public", __name__)
listing.register(bp)
check.register(bp)
stats.register(bp)


@bp.get("/")
def home():
    return _conditional(lambda: render_template(
        "public/home.html", summary=queries.home_summary(db.session), profile=active_profile()))


@bp.get("/entries/<public_id>")
def entry(public_id: str):
    today = clock.today()      # the rectification window: the page depends on the day

    def render():
        found = queries.entry_by_public_id(db.session, public_id)
        if found is None:
            gone = queries.withdrawal(db.session, "entry", public_id[:20])
            if gone is None:
                abort(404)
            return render_template("public/withdrawn.html", withdrawal=gone), 410
        removal = (queries.removal_for_entry(db.session, public_id)
                   if found.status == "removed" else None)
        return render_template(
            "public/entry.html", entry=found, removal=removal, profile=active_profile(),
            today=today, rules=decided_under(found.profile, found.listed_on),
            rectification_open=bool(found.rectification_closes_on
                                    and today <= found.rectification_closes_on),
        )

    # The ETag comes from the publication version alone: a 304 costs that one query.
    return _conditional(render, day=today)


SEARCH_FILTERS = ("ground", "subject_kind", "year")
PER_PAGE = 20


def _searchable_documents() -> int:
    """How many documents the index should hold (counted once per publication version)."""
    from portal.caching import aggregates
    from portal.services.indexer import expected_count

    return aggregates.get(("index-expected",), lambda: expected_count(db.session))


@bp.get("/search")
def search():
    from portal.search import get_index

    q = request.args.get("q", "").strip()[:200]
    page = request.args.get("page", 1, type=int) or 1
    filters = {k: request.args[k] for k in SEARCH_FILTERS if request.args.get(k)}
    if "year" in filters and not filters["year"].isdigit():
        filters.pop("year")
    results, rows = None, {}
    index = get_index()
    if q and not index.exists():
        if _searchable_documents():
            # The index is being rebuilt (the worker does it from the projection): say so
            # rather than answer "nothing found".
            return render_template("public/search.html", q=q, results=None, rows=rows,
                                   filters=filters, profile=active_profile(), per_page=PER_PAGE,
                                   unavailable=True), 503
        results = Results(total=0, hits=[], facets={}, page=1, per_page=PER_PAGE, exact=False,
                          suggestion=None)                 # nothing published: nothing to find
    elif q:
        results = index.search(q, filters=filters, page=max(page, 1), per_page=PER_PAGE,
                               time_limit=deadline.within(index.time_limit))
        rows = queries.entries_by_public_ids(db.session, [hit.id for hit in results.hits])
    return render_template("public/search.html", q=q, results=results, rows=rows,
                           filters=filters, profile=active_profile(), per_page=PER_PAGE)


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    target = request.args.get("next", "")
    # Only same-site paths: never an open redirect.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("public.home")
    return redirect(target)


@bp.get("/healthz")
def healthz():
    from portal import health

    body, status = health.report()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status
