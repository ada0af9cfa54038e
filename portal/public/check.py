"""/check: "is this subject listed?" by unified social credit code or full resident ID number,
today or on a past day (查询日期: answered from the publication history,
``portal.services.publication_history.listed_on``).

A POST form (CSRF-protected) so that an ID number never ends up in a URL,
browser history, proxy or access log; the response is ``no-store``.  The
code is matched through its keyed hash only and is never logged; the answer
shows masked identifiers only.  Rate-limited per client address.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable

from flask import Blueprint, current_app, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import StringField

from portal import clock
from portal import public_scope as jurisdiction
from portal.extensions import db, limiter
from portal.public import certificate_token
from portal.rules import identifiers
from portal.rules.identifiers import InvalidIdentifier
from portal.security import lookup_hash
from portal.services import public_queries as queries
from portal.services import publication_history
from portal.services.certificates import Subject
from portal.services.report_format import parse_date
from portal.web import _error_page, no_store

DEFAULT_LIMIT = "20 per minute"


class CheckForm(FlaskForm):
    code = StringField(_l("Unified social credit code or resident ID number"))
    day = StringField(_l("Date to check (optional)"))


class CheckError(ValueError):
    """The typed code is not a valid USCC or resident ID number; the message is translated."""


def _rate_limit() -> str:
    return current_app.config.get("PORTAL_CHECK_RATE_LIMIT", DEFAULT_LIMIT)


#: The look-up forms of the public blueprint that answer "too many" (429) and an expired form
#: (CSRF) with their own page: endpoint -> (too_many, csrf_failed). Other pages: the usual page.
FORM_PAGES: dict[str, tuple[Callable, Callable]] = {}


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/check", "check", limiter.limit(_rate_limit, methods=["POST"])(check),
                    methods=["GET", "POST"])
    answers_errors("public.check", _too_many_check, _csrf_failed_check)
    bp.register_error_handler(429, _too_many)
    bp.register_error_handler(CSRFError, _csrf_failed)


def answers_errors(endpoint: str, too_many: Callable, csrf_failed: Callable) -> None:
    """Let the form page ``endpoint`` answer its own 429 and expired-form errors."""
    FORM_PAGES[endpoint] = (too_many, csrf_failed)


def _too_many(error):
    page = FORM_PAGES.get(request.endpoint)
    return page[0](error) if page else _error_page(error)


def _csrf_failed(error):
    page = FORM_PAGES.get(request.endpoint)
    return page[1](error) if page else _error_page(error)


def parse_code(raw: str) -> tuple[str, str]:
    """("uscc" | "ric", normalised code), or CheckError with a translated message."""
    number = identifiers.normalise(raw or "")
    if not number:
        raise CheckError(_("Please enter a unified social credit code or a resident ID number."))
    if len(number) != 18:
        raise CheckError(_("A unified social credit code and a resident ID number both have "
                           "18 characters; you entered %(n)s.", n=len(number)))
    reasons = {}
    ric_today = functools.partial(identifiers.validate_ric, today=clock.today())
    for kind, validate in (("ric", ric_today), ("uscc", identifiers.validate_uscc)):
        try:
            return kind, validate(number)
        except InvalidIdentifier as exc:
            reasons[kind] = exc.reason
    # Neither: explain the failure of the kind the number most resembles.
    ric, uscc = reasons["ric"], reasons["uscc"]
    if ric in ("birth_date", "region") or (
            ric == "checksum" and (uscc != "checksum" or identifiers.plausible_birth_date(number))):
        kind = "ric"
    elif uscc == "checksum":
        kind = "uscc"
    else:
        raise CheckError(_("This is neither a unified social credit code nor a resident ID number: "
                           "it contains characters that are not allowed there."))
    messages = {
        ("ric", "checksum"): _("The check digit (the last character) of this resident ID number "
                               "does not match. Please check the number."),
        ("ric", "birth_date"): _("This resident ID number contains an impossible date of birth. "
                                 "Please check the number."),
        ("ric", "region"): _("This resident ID number begins with an unknown region code. "
                             "Please check the number."),
        ("uscc", "checksum"): _("The check character (the last character) of this unified social "
                                "credit code does not match. Please check the code."),
    }
    raise CheckError(messages[(kind, reasons[kind])])


def parse_day(raw: str | None, today: dt.date) -> dt.date | None:
    """The day asked about (None: today), or CheckError with a translated message."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = parse_date(text[:40])
    except ValueError:
        raise CheckError(_("This is not a date. Write it for example as %(example)s.",
                           example=today.isoformat())) from None
    if day > today:
        raise CheckError(_("This date has not come yet. Please enter today (%(today)s) or an "
                           "earlier date.", today=today.isoformat()))
    return day


def check():
    # Scoped only when a jurisdiction is asked for: the look-up reads nothing else.
    codes = jurisdiction.scope().codes if jurisdiction.requested_code() is not None else None
    form = CheckForm()
    today = clock.today()
    result, error, day_error = None, None, None
    if request.method == "POST" and form.validate_on_submit():
        day = None
        try:
            day = parse_day(form.day.data, today)
        except CheckError as exc:
            day_error = str(exc)
        try:
            kind, number = parse_code(form.code.data)
        except CheckError as exc:
            error = str(exc)
        else:
            if day_error is None:
                result = _answer(kind, number, day, today, codes)
            if day_error is None or kind == "ric":
                form.code.data = ""   # a full number is not sent back once it has been read
    elif request.method == "POST":
        error = _("The form has expired. Please enter the code again.")
    return _page(form, error=error, day_error=day_error, result=result, today=today,
                 status=422 if error or day_error else 200)


def _answer(kind: str, number: str, day: dt.date | None, today: dt.date, codes) -> dict:
    """Today: the current entries and removal notices; a past day: the answer for that day."""
    code_hash = lookup_hash(current_app.config["PORTAL_LOOKUP_KEY"], number)
    masked = identifiers.mask_ric(number) if kind == "ric" else number
    subject = Subject(kind=kind, masked=masked, code_hash=code_hash)
    if day is not None and day != today:
        return {"kind": kind, "masked": masked, "today": today,
                "answer": publication_history.listed_on(db.session, code_hash, day, codes,
                                                        today=today),
                "certificate_token": certificate_token.make(
                    subject, jurisdiction.requested_code(), day)}
    listed = queries.check_entries(db.session, code_hash, codes)
    removed = queries.check_removals(db.session, code_hash, codes)
    return {
        "kind": kind, "masked": masked, "today": today,
        # the certificate button (portal.public.certificates)
        "certificate_token": certificate_token.make(subject, jurisdiction.requested_code()),
        "listed": listed, "removed": removed,
        "public_notices": {n.public_id: queries.notice_is_public(n) for n in removed},
    }


def _page(form: CheckForm, status: int = 200, **context):
    return no_store(make_response(render_template(
        "public/check.html", form=form, mask_name=identifiers.mask_name, **context), status))


def _too_many_check(error):
    """429 on /check: the form again, with a translated explanation."""
    return _page(CheckForm(formdata=None), status=429, too_many=True, today=clock.today())


def _csrf_failed_check(error):
    """An expired or missing CSRF token on /check: ask again instead of a bare 400 page."""
    return _page(CheckForm(formdata=None), status=400, today=clock.today(),
                 error=_("The form has expired. Please enter the code again."))
