"""/letters/verify: is a letter of the bureau genuine, and still in force? (文书核验)

The holder of a letter types its number (文书编号) and the verification code printed
under the signature. The answer is the same for a wrong number and a wrong code, so the
page tells nobody which numbers exist; a genuine letter is described by its kind, the
bureau, the date of issue and whether it is still in force, never by the party or the
facts (:mod:`portal.services.letter_verification`).

A POST form (CSRF-protected), rate-limited per client address like /check (the
limiter's keys are keyed hashes, :mod:`portal.ratelimit`); the code is 12 characters of
a 31-letter alphabet, so guessing one letter's code from many addresses is hopeless and
the number gets no limit of its own (which would let anyone lock a holder out).
Responses are ``no-store``; neither the number nor the code is logged.
"""
from __future__ import annotations

import unicodedata

from flask import Blueprint, current_app, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField

from portal import clock, labels
from portal.extensions import db, limiter
from portal.public import check
from portal.security import LETTER_CODE_LENGTH, canonical_letter_code, is_code
from portal.services import letter_verification as verification
from portal.web import no_store

DEFAULT_LIMIT = "20 per minute"
#: At most this much of a typed number is sent back in the form.
ECHO_MAX = verification.NUMBER_MAX + 20


class VerifyForm(FlaskForm):
    number = StringField(_l("Letter number"))
    code = StringField(_l("Verification code"))


def _rate_limit() -> str:
    return current_app.config.get("PORTAL_LETTER_VERIFY_RATE_LIMIT", DEFAULT_LIMIT)


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/letters/verify", "letter_verify",
                    limiter.limit(_rate_limit, methods=["POST"])(verify),
                    methods=["GET", "POST"])
    check.answers_errors("public.letter_verify", _too_many, _csrf_failed)


def _problem(number: str, code: str) -> str | None:
    """A translated message for a form that cannot be checked at all (says nothing of letters)."""
    if not number.strip() or not code.strip():
        return _("Please enter both the letter number and the verification code, as printed on "
                 "the letter.")
    if canonical_letter_code(code) is None:
        if is_code(unicodedata.normalize("NFKC", code).upper().replace(" ", "")):
            return _("This looks like the access code of the letter, which is for signing in and "
                     "must be kept confidential. The verification code has %(n)s characters and "
                     "is printed at the end of the letter, under the date.", n=LETTER_CODE_LENGTH)
        return _("A verification code has %(n)s letters and digits, printed in groups of four "
                 "(for example 7KQ3-M9XP-2BWD). Please check the code.", n=LETTER_CODE_LENGTH)
    return None


def verify():
    form = VerifyForm()
    answered, found, error = False, None, None
    if request.method == "POST" and form.validate_on_submit():
        number, code = form.number.data or "", form.code.data or ""
        error = _problem(number, code)
        if error is None:
            found = verification.verify(db.session, current_app.config["PORTAL_LOOKUP_KEY"],
                                        number, code)
            answered = True
        form.number.data = number[:ECHO_MAX]
        form.code.data = ""           # the code is never sent back
    elif request.method == "POST":
        error = _("The form has expired. Please enter the letter number and the code again.")
    return _page(form, status=400 if error else 200, error=error, answered=answered, found=found)


def _page(form: VerifyForm, status: int = 200, **context):
    response = make_response(render_template(
        "public/letter_verify.html", form=form, today=clock.today(), labels=labels,
        statuses=verification, **context), status)
    return no_store(response)


def _too_many(error):
    return _page(VerifyForm(formdata=None), status=429, too_many=True)


def _csrf_failed(error):
    return _page(VerifyForm(formdata=None), status=400, error=_(
        "The form has expired. Please enter the letter number and the code again."))
