"""Open data: exports, the Atom feed, sitemaps and robots.txt (blueprint ``opendata``).

* ``/exports/entries.{csv,xlsx,json}`` — the current list (listed and public);
  ``/exports/removals.{csv,xlsx,json}`` — the published removal notices.
  Language of CSV/XLSX headers and labels: ``?lang=en`` or ``?lang=zh_CN``,
  otherwise the visitor's language (session), otherwise Chinese. JSON uses
  machine field names and carries both languages, so it is the same in both.
* ``/feeds/changes.atom`` — the newest additions and removals (Atom 1.0).
* ``/sitemap.xml`` (+ ``/sitemap-<n>.xml`` past 50,000 URLs) and ``/robots.txt``.

Everything reads only the public projection; exports and the feed are
cacheable with the ETag / Last-Modified of the publication version (the ETag
is per URL, so ``?lang=en`` needs no part of its own; it varies with the
session language because the language-less URL does). Exports are files built
once per publication version (:mod:`portal.services.opendata_files`).
"""
from __future__ import annotations

from filelock import Timeout
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import force_locale
from werkzeug.http import is_resource_modified

from portal import clock
from portal import public_scope as jurisdiction
from portal.caching import as_utc, conditional, publication_token
from portal.extensions import db
from portal.json_errors import requested_language
from portal.public import opendata_feeds as feeds
from portal.services import opendata_files as files
from portal.services import opendata_formats as formats

bp = Blueprint("opendata", __name__)

#: Paths crawlers are asked to leave alone: personal look-ups, filings, staff pages,
#: query pages and the bulk downloads (names of people do not belong in search engines' caches).
ROBOTS_DISALLOW = ("/admin", "/submit", "/track", "/check", "/search", "/lang/", "/exports/", "/api/")


@bp.get("/exports/<any(entries, removals, withdrawals):dataset>.<any(csv, xlsx, json):fmt>")
def export(dataset: str, fmt: str):
    """The file of the current publication version (see :mod:`opendata_files`): a 304 costs
    the version query only; Range requests get 206 with the bytes asked for."""
    language = requested_language()
    version, changed_at = publication_token()
    scope = _file_scope(jurisdiction.scope())
    tag = files.file_language(fmt, language)
    last_modified = as_utc(changed_at)
    if not is_resource_modified(request.environ, etag=files.etag(version, tag, scope.code),
                                last_modified=last_modified):
        response = current_app.response_class(status=304)
        response.set_etag(files.etag(version, tag, scope.code))
        if last_modified is not None:
            response.last_modified = last_modified
    else:
        try:
            found = files.for_request(db.session, dataset, fmt, language, version, changed_at,
                                      scope)
        except Timeout:                       # the file of this version is still being built
            db.session.rollback()
            response = current_app.response_class(
                "Export being prepared, please retry shortly. / 文件正在生成，请稍后再试。\n",
                status=503, mimetype="text/plain")
            response.headers["Retry-After"] = "30"
            response.headers["Cache-Control"] = "no-store"
            return response
        db.session.rollback()                 # the build (if any) read in this transaction
        response = send_file(found.path, conditional=True, etag=found.etag, max_age=None)
        response.headers["Content-Type"] = formats.MIMETYPES[fmt]
        stem = f"{dataset}-{scope.code}" if scope.code else dataset
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{stem}-{clock.today().isoformat()}.{fmt}"')
    if fmt != "json":   # JSON does not depend on the language, CSV and XLSX do
        response.content_language = "en" if language == "en" else "zh-CN"
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers.pop("Expires", None)
    response.vary.add("Cookie")           # the language-less URL follows the session language
    return response


def _file_scope(found: jurisdiction.Scope) -> formats.Scope:
    """The export files of a request's scope (their name, their rows, the profile they name)."""
    profile = found.profile
    return formats.Scope(found.code, found.codes, profile.code if profile is not None else None)


@bp.get("/feeds/changes.atom")
def changes_feed():
    language = requested_language()
    scope = jurisdiction.scope()

    def render():
        rows = feeds.latest_changes(db.session, codes=scope.codes)
        withdrawals = feeds.latest_withdrawals(db.session, codes=scope.codes)
        self_url = current_app.config["PORTAL_BASE_URL"].rstrip("/") + url_for(
            "opendata.changes_feed", lang=request.args.get("lang") and language)
        with force_locale(language):
            body = feeds.atom_feed(rows, publication_token()[1], language, self_url, withdrawals,
                                   site=scope.site(), scope=scope.code)
        return Response(body, content_type="application/atom+xml; charset=utf-8")

    return conditional(render)


@bp.get("/sitemap.xml")
def sitemap():
    _total, parts = feeds.sitemap_count(db.session)
    body = feeds.sitemap_index(parts) if parts > 1 else feeds.urlset(db.session)
    return _xml(body)


@bp.get("/sitemap-<int:number>.xml")
def sitemap_part(number: int):
    _total, parts = feeds.sitemap_count(db.session)
    if not 1 <= number <= parts:
        abort(404)
    return _xml(feeds.urlset(db.session, number))


@bp.get("/robots.txt")
def robots():
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    openapi = url_for("api.openapi")
    lines = ["User-agent: *", f"Allow: {openapi}"]
    lines += [f"Disallow: {path}" for path in ROBOTS_DISALLOW]
    lines += ["Allow: /", "", f"Sitemap: {base}{url_for('opendata.sitemap')}", ""]
    response = Response("\n".join(lines), mimetype="text/plain")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


def _xml(body) -> Response:
    response = Response(stream_with_context(body), content_type="application/xml; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response

