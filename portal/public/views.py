"""Public pages: home, entry, health, language switch."""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from werkzeug.http import is_resource_modified
from flask import (
    Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for,
)

from portal.extensions import db
from portal.public import queries
from portal.web import active_profile

bp = Blueprint("public", __name__)


def _conditional(render):
    """ETag / Last-Modified from the publication version; 304 before rendering when current."""
    version, changed_at = queries.publication_version(db.session)
    etag = f"pub-{version}-{session.get('lang', 'zh_CN')}"
    if changed_at is not None:
        changed_at = (changed_at if changed_at.tzinfo else changed_at.replace(tzinfo=dt.timezone.utc))
        changed_at = changed_at.astimezone(dt.timezone.utc).replace(microsecond=0)
    if not is_resource_modified(request.environ, etag=etag, last_modified=changed_at):
        response = current_app.response_class(status=304)
    else:
        response = current_app.make_response(render())
    response.set_etag(etag, weak=True)
    if changed_at is not None:
        response.last_modified = changed_at
    response.headers["Cache-Control"] = "public, max-age=60"
    response.vary.add("Cookie")
    return response


@bp.get("/")
def home():
    return _conditional(lambda: render_template(
        "public/home.html", summary=queries.home_summary(db.session), profile=active_profile()))


@bp.get("/entries/<public_id>")
def entry(public_id: str):
    found = queries.entry_by_public_id(db.session, public_id)
    if found is None:
        abort(404)
    removal = queries.removal_for_entry(db.session, public_id) if found.status == "removed" else None
    profile = active_profile()
    today = dt.date.today()
    return _conditional(lambda: render_template(
        "public/entry.html", entry=found, removal=removal, profile=profile, today=today,
        rectification_open=bool(found.rectification_closes_on and today <= found.rectification_closes_on),
    ))


SEARCH_FILTERS = ("ground", "subject_kind", "year")
PER_PAGE = 20


@bp.get("/search")
def search():
    from portal.search import get_index

    q = request.args.get("q", "").strip()[:200]
    page = request.args.get("page", 1, type=int) or 1
    filters = {k: request.args[k] for k in SEARCH_FILTERS if request.args.get(k)}
    if "year" in filters and not filters["year"].isdigit():
        filters.pop("year")
    results, rows = None, {}
    if q:
        results = get_index().search(q, filters=filters, page=max(page, 1), per_page=PER_PAGE)
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
    checks = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except sa.exc.SQLAlchemyError:
        checks["database"] = "error"
    status = 200 if all(v == "ok" for v in checks.values()) else 503
    return jsonify(status="ok" if status == 200 else "error", checks=checks), status
