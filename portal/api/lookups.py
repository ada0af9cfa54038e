"""The public API's look-ups by code: ``/check`` (now), ``/check/on-day`` (on a past day,
from the publication history) and ``POST /screen`` (up to 1,000 names and codes at once).

All three answer masked identifiers only, are rate-limited per client address and are
never cached. The codes go through the keyed hash only; a full number is never logged.
"""
from __future__ import annotations

from flask import current_app, request
from flask_babel import lazy_gettext as _l

from portal import clock, labels
from portal.api import contract
from portal.api.common import answers, bp, json_answer, scope_of, spec
from portal.api.lookup_resources import OnDay, OnDayQuery, ScreenAnswer, ScreenRequest
from portal.api.resources import CheckQuery, CheckResult
from portal.extensions import db, limiter
from portal.json_errors import ApiError
from portal.rules.identifiers import (
    InvalidIdentifier,
    detect,
    mask_identifier,
    normalise,
    validate_uscc,
)
from portal.rules.point_in_time import Verdict
from portal.rules.profiles import load_profile
from portal.security import lookup_hash
from portal.services import public_queries as queries
from portal.services import publication_history, screening, serializers
from portal.services.subjects import validate_ric_today


def _check_limit() -> str:
    return current_app.config.get("PORTAL_API_CHECK_LIMIT", "30/minute")


def _screen_limit() -> str:
    return current_app.config.get("PORTAL_API_SCREEN_LIMIT", "10/minute")


def _screen_records_limit() -> str:
    return current_app.config.get("PORTAL_API_SCREEN_RECORDS_LIMIT", "20000/hour")


def _records_in_request() -> int:
    """The cost of a screening call for the per-address record budget: its record count (a
    body too large or not JSON costs 1 and is refused by the validation that follows)."""
    try:
        body = contract.parse_json(contract.raw_body(request, ScreenRequest.max_body))
    except ApiError:
        return 1
    records = body.get("records") if isinstance(body, dict) else None
    return max(1, len(records)) if isinstance(records, list) else 1


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
    codes = scope_of(lazy=True).codes
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
    return json_answer({
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




@bp.get("/check/on-day")
@limiter.limit(_check_limit)
@spec.validate(resp=answers(OnDay, "400", "404", "405", "429", "500"))
def check_on_day(query: OnDayQuery):
    """Was it listed on a day?

    Was this unified social credit code or resident ID number on the list on `date`, as
    published? Answered from the publication history (listings, corrections, removals with
    their days), which is kept after an entry stops being published and is never shown beyond
    this answer: no name, the ground only while it is published (not after a credit repair or
    a withdrawal), the public reason of a removal. A listing counts from the listing day its
    publication gives (the day of the decision) up to the day before its removal. Rate-limited
    per address like /check (a count of its own). Not cached.
    """
    codes = scope_of(lazy=True).codes
    kind, number = classify(query.code)
    today = clock.today()
    if query.date > today:
        raise ApiError(400, "date_in_future", _l(
            "This date has not come yet. Ask about today (%(today)s) or an earlier day.",
            today=today.isoformat()), "date")
    answer = publication_history.listed_on(
        db.session, lookup_hash(current_app.config["PORTAL_LOOKUP_KEY"], number), query.date,
        codes, today=today)
    urls, reasons = serializers.Urls(), serializers.translated(labels.REMOVAL_REASONS)
    return json_answer({
        "query": {"kind": kind, "code_masked": mask_identifier(number)},
        "date": query.date.isoformat(),
        "listed": answer.verdict is Verdict.LISTED,
        "verdict": answer.verdict.value,
        "records_begin": answer.records_begin.isoformat() if answer.records_begin else None,
        "listings": [_listing(x, answer.day, today, urls, reasons) for x in answer.listings],
    }, cache="no-store")


def _listing(x, day, today, urls, reasons) -> dict:
    """One listing of the answer (``publication_history.listing_facts``) with its texts in
    both languages and the entry's address while it is published."""
    ground = None
    if x.shows_ground:
        try:
            ground = load_profile(x.profile).ground(x.ground_code).text
        except (KeyError, ValueError):
            ground = None
    reason = x.removal_reason
    return {
        **publication_history.listing_facts(x, day, today),
        "removal_reason_text": reasons["zh_CN"].get(reason, reason) if reason else None,
        "removal_reason_text_en": reasons["en"].get(reason, reason) if reason else None,
        "ground_text": (ground.zh or x.ground_code) if ground else None,
        "ground_text_en": (ground.en or ground.zh or x.ground_code) if ground else None,
        "entry_url": urls.entry(x.public_id) if x.entry_public else None,
    }


@bp.post("/screen")
@limiter.limit(_screen_limit)
@limiter.limit(_screen_records_limit, cost=_records_in_request)
@spec.validate(json=ScreenRequest, validation_error_status=422, resp=answers(
    ScreenAnswer, "400", "404", "405", "413", "422", "429", "500"))
def screen(json: ScreenRequest):
    """Screen many names and codes

    Up to 1,000 records a call, each with a name, a code or both. Codes (USCC, old
    organisation code, registration number, resident ID number) match exactly through their
    keyed hash; names are scored (characters, words, pinyin, legal forms removed, traditional
    characters) and every match at or above `threshold` comes back with its score and the
    reasons it matched. Natural persons whom a profile does not publish are found only by
    their exact ID number, never by name. Codes come back masked, never in full. Limited per
    address in calls and in records (`Retry-After` on 429). Not cached; nothing is kept.
    """
    codes = scope_of(lazy=True).codes
    records = [screening.Record(row=i, name=r.name, code=r.code)
               for i, r in enumerate(json.records)]
    results = screening.screen(db.session, records, threshold=json.threshold,
                               jurisdictions=codes, today=clock.today())
    version, _changed = queries.publication_version(db.session)
    urls = serializers.Urls()
    return json_answer({
        "threshold": json.threshold,
        "publication_version": version,
        "screened_at": clock.now().isoformat(timespec="seconds"),
        "results": [_screened(i, result, urls) for i, result in enumerate(results)],
    }, cache="no-store")


def _screened(index: int, result, urls) -> dict:
    error = None
    if result.error is not None:
        error = {"code": result.error_reason or "invalid", "message": str(result.error)}
    return {
        "index": index, "code_masked": result.masked_code, "error": error,
        "matches": [{
            "public_id": m.public_id, "jurisdiction": m.jurisdiction,
            "subject_kind": m.subject_kind, "name": m.name, "code_masked": m.masked_code,
            "listed_on": m.listed_on.isoformat(), "ground_code": m.ground_code,
            "ground_text": m.ground_text, "ground_text_en": m.ground_text_en or m.ground_text,
            "term_last_day": m.term_last_day.isoformat(),
            "leaves_list_on": m.leaves_list_on.isoformat(),
            "entry_url": urls.entry(m.public_id) if m.public else None,
            "how": m.how, "score": round(float(m.score), 3),
            "reasons": [{"code": code, "label": str(screening.reason_label(code))}
                        for code in m.reasons],
        } for m in result.matches],
    }
