"""Blueprint "submit": /submit (the five filings, the party's sign-in) and /track.

The routing table is here; the views live in ``party``, ``filings`` and
``track``. Every page is personal: responses are never cached. Sign-in
forms are rate limited (per address, and per case or receipt number).
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import RequestEntityTooLarge

from portal import ratelimit
from portal.extensions import limiter
from portal.rules.identifiers import normalise
from portal.submit import filings, party, track

bp = Blueprint("submit", __name__)

SIGN_IN_PER_ADDRESS = "10 per 10 minutes"
SIGN_IN_PER_REFERENCE = "20 per hour"


def _reference_key() -> str:
    """Rate-limit key for guessing one case's or one filing's code from many addresses."""
    value = request.form.get("case_no") or request.form.get("receipt_no") or ""
    # Hashed: an ID number typed into the case-number field must not become a Redis key name.
    return ratelimit.keyed("ref", normalise(value)[:40])


def _sign_in(view):
    view = limiter.limit(SIGN_IN_PER_ADDRESS, methods=["POST"])(view)
    return limiter.limit(SIGN_IN_PER_REFERENCE, methods=["POST"], key_func=_reference_key)(view)


RULES = (
    ("/submit", "index", party.index, ("GET",)),
    ("/submit/party", "party_login", _sign_in(party.party_login), ("GET", "POST")),
    ("/submit/party/logout", "party_logout", party.party_logout, ("POST",)),
    ("/submit/case", "case", party.case_home, ("GET",)),
    ("/submit/defence", "defence", filings.defence, ("GET", "POST")),
    ("/submit/objection", "objection", filings.objection, ("GET", "POST")),
    ("/submit/rectification", "rectification", filings.rectification, ("GET", "POST")),
    ("/submit/repair", "repair", filings.repair, ("GET", "POST")),
    ("/submit/repair/commitment", "commitment", party.commitment_print, ("GET",)),
    ("/submit/complaint", "complaint", filings.complaint, ("GET", "POST")),
    ("/track", "track_login", _sign_in(track.track_login), ("GET", "POST")),
    ("/track/logout", "track_logout", track.track_logout, ("POST",)),
    ("/track/<receipt_no>", "track", track.track, ("GET",)),
    ("/track/<receipt_no>/reply", "track_reply", track.track_reply, ("POST",)),
    ("/track/<receipt_no>/files/<int:attachment_id>", "track_file", track.track_file, ("GET",)),
)
for rule, endpoint, view, methods in RULES:
    bp.add_url_rule(rule, endpoint, view, methods=list(methods))


@bp.url_value_preprocessor
def limit_body_size(endpoint, values):
    # Enough for the allowed files plus the text fields; a larger body is refused before parsing.
    # (A URL value preprocessor runs before every before_request hook, CSRF's included, which
    # is the first to read the form.)
    config = current_app.config
    files = int(config["PORTAL_MAX_FILES"]) + 1  # + the signed commitment of a repair application
    request.max_content_length = files * int(config["PORTAL_MAX_UPLOAD_MB"]) * 1024 * 1024 + 1024 * 1024


@bp.after_request
def personal_pages(response):
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error):
    return render_template("submit/problem.html", problem="too_large"), 413


@bp.errorhandler(CSRFError)
def expired_form(error):
    return render_template("submit/problem.html", problem="expired"), 400


@bp.errorhandler(429)
def too_many(error):
    return render_template("submit/problem.html", problem="too_many"), 429
