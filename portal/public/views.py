"""Public pages: home, entry, health, language switch.

The lists (/entries, /removals, /redlist), the exact look-up (/check), the letter
verification (/letters/verify) and the statistics (/stats) live in their own
modules and are registered on this blueprint below, at definition time.
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
from flask_babel import get_locale

from portal import clock, deadline
from portal import public_scope as jurisdiction
from portal.caching import active_jurisdictions, aggregates
from portal.caching import conditional as _conditional
from portal.extensions import db
from portal.public import certificates, check, letter_verify, listing, screening, stats, watch
from portal.rules.profiles import UnknownProfile, load_profile
from portal.services import public_queries as queries
from portal.services.decided_under import decided_under
from search_index import Results

bp = Blueprint("public", __name__)
listing.register(bp)
check.register(bp)
certificates.register(bp)
letter_verify.register(bp)
screening.register(bp)
watch.register(bp)
stats.register(bp)
bp.record_once(lambda state: jurisdiction.init_app(state.app))


@bp.get("/")
def home():
    scope = jurisdiction.scope()

    def render():
        places = []
        if scope.province_wide:
            counts = aggregates.get("listed-by-jurisdiction",
                                    lambda: queries.listed_by_jurisdiction(db.session))
            places = jurisdiction.options(scope, listing.places_counts(counts, scope),
                                          str(get_locale()))
        return render_template("public/home.html", places=places, scope=scope,
                               summary=queries.home_summary(db.session, codes=scope.codes))

    return _conditional(render)


@bp.get("/entries/<public_id>")
def entry(public_id: str):
    today = clock.today()      # the rectification window: the page depends on the day
    scope = jurisdiction.scope()

    def render():
        found = queries.entry_with_jurisdiction(db.session, public_id)
        if found is not None and scope.codes is not None and found[0].jurisdiction not in scope.codes:
            found = None                    # not this jurisdiction's: as if it did not exist
        if found is None:
            gone = queries.withdrawal(db.session, "entry", public_id[:20])
            if gone is None or (scope.codes is not None and gone.jurisdiction not in scope.codes):
                abort(404)
            return render_template("public/withdrawn.html", withdrawal=gone), 410
        found, place = found
        several = active_jurisdictions() > 1
        # A city's entry speaks for its bureau; a single-city portal's pages stay as they were.
        site = jurisdiction.entry_site(place if several else None)
        jurisdiction.speak_for(site)
        removal = (queries.removal_for_entry(db.session, public_id)
                   if found.status == "removed" else None)
        return render_template(
            "public/entry.html", entry=found, removal=removal, profile=_profile_of(found),
            today=today, rules=decided_under(found.profile, found.listed_on), site=site,
            show_jurisdiction=several, bureau=jurisdiction.entry_site(place),
            rectification_open=bool(found.rectification_closes_on
                                    and today <= found.rectification_closes_on),
        )

    # The ETag comes from the publication version alone: a 304 costs that one query.
    return _conditional(render, day=today)


def _profile_of(entry):
    """The rules an entry was decided under (its own profile, never the portal's)."""
    try:
        return load_profile(entry.profile)
    except (UnknownProfile, ValueError):
        return jurisdiction.Scope().profile


SEARCH_FILTERS = ("ground", "subject_kind", "year")
PER_PAGE = 20
#: The facets of a search (a province-wide search also counts per jurisdiction).
SEARCH_FACETS = ("ground", "subject_kind", "year")


def _searchable_documents() -> int:
    """How many documents the index should hold (counted once per publication version)."""
    from portal.caching import aggregates
    from portal.services.indexer import expected_count

    return aggregates.get(("index-expected",), lambda: expected_count(db.session))


@bp.get("/search")
def search():
    from portal.search import get_index

    scope = jurisdiction.scope()
    profile = scope.profile
    q = request.args.get("q", "").strip()[:200]
    page = request.args.get("page", 1, type=int) or 1
    filters = {k: request.args[k] for k in SEARCH_FILTERS if request.args.get(k)}
    if "year" in filters and not filters["year"].isdigit():
        filters.pop("year")
    if profile is None:
        filters.pop("ground", None)          # ground codes mean different things per profile
    wanted = dict(filters)
    if scope.codes is not None:
        wanted["jurisdiction"] = sorted(scope.codes)
    facets = SEARCH_FACETS + (("jurisdiction",) if scope.province_wide else ())
    results, rows = None, {}
    index = get_index()
    context = {"filters": filters, "profile": profile, "per_page": PER_PAGE, "scope": scope}
    # An index written before documents carried their jurisdiction cannot be scoped: the
    # worker rebuilds it at once; meanwhile a scoped search says so.
    scoped = scope.codes is not None or scope.province_wide
    stale = scoped and q and index.exists() and not index.current()
    if q and (not index.exists() or stale):
        if _searchable_documents():
            # The index is being rebuilt (the worker does it from the projection): say so
            # rather than answer "nothing found".
            return render_template("public/search.html", q=q, results=None, rows=rows,
                                   unavailable=True, places=[], **context), 503
        results = Results(total=0, hits=[], facets={}, page=1, per_page=PER_PAGE, exact=False,
                          suggestion=None)                 # nothing published: nothing to find
    elif q:
        results = index.search(q, filters=wanted, facets=facets, page=max(page, 1),
                               per_page=PER_PAGE, time_limit=deadline.within(index.time_limit))
        rows = queries.entries_by_public_ids(db.session, [hit.id for hit in results.hits])
    places = []
    if results is not None and scope.province_wide:
        places = jurisdiction.options(scope, listing.places_counts(
            results.facets.get("jurisdiction", {}), scope), str(get_locale()))
    return render_template("public/search.html", q=q, results=results, rows=rows,
                           places=places, **context)


@bp.get("/lang/<code>")
def set_language(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    return redirect(_same_site(request.args.get("next", "")))


def _same_site(target: str) -> str:
    """``target`` when it is a path of this site, else the home page: never an open redirect
    (no control character, which browsers and URL parsers drop, no backslash, no host)."""
    from urllib.parse import urlsplit

    if (not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target)):
        return url_for("public.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path.startswith("//"):
        return url_for("public.home")
    return target


#: The display modes a visitor may choose (the class on <html>, see base.html and portal.css).
DISPLAYS = ("standard", "large")


@bp.get("/display/<mode>")
def set_display(mode: str):
    """Large text and high contrast (适老化, GB/T 37668) or the standard display: kept in the
    session like the language, so it works without JavaScript; back to the page it was
    chosen on."""
    if mode not in DISPLAYS:
        abort(404)
    if mode == "large":
        session["display"] = "large"
    else:
        session.pop("display", None)
    return redirect(_same_site(request.args.get("next", "")))


@bp.get("/healthz")
def healthz():
    from portal import health

    body, status = health.report()
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, status
