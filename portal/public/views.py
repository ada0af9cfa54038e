"""Public pages: home, entry, health, language switch."""
from __future__ import annotations

import datetime as dt
from email.utils import format_datetime

import sqlalchemy as sa
from flask import (
    Blueprint, abort, current_app, jsonify, redirect, render_template, request, session, url_for,
)

from portal.extensions import db
from portal.public import queries
from portal.web import active_profile

bp = Blueprint("public", __name__)


def _conditional(render):
    """ETag / Last-Modified from the publication version; 304 when the client is current."""
    version, changed_at = queries.publication_version(db.session)
    etag = f'W/"pub-{version}-{session.get("lang", "zh_CN")}"'
    if request.if_none_match and etag.strip('W/').strip('"') in {
        t.strip('W/').strip('"') for t in request.if_none_match.as_set(include_weak=True)
    }:
        response = current_app.response_class(status=304)
    else:
        response = current_app.make_response(render())
    response.headers["ETag"] = etag
    if changed_at is not None:
        if changed_at.tzinfo is None:
            changed_at = changed_at.replace(tzinfo=dt.timezone.utc)
        response.headers["Last-Modified"] = format_datetime(changed_at, usegmt=True)
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
