"""Landing page, the listed party's sign-in with its letter, its case page, the commitment print-out."""
from __future__ import annotations

import sqlalchemy as sa
from flask import redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal import clock
from portal.extensions import db
from portal.models import Submission
from portal.rules.workflow import SubmissionKind
from portal.services import filing_windows, party_access
from portal.services.calendar import load_calendar
from portal.submit import access, bureaus
from portal.submit.commitment import commitment
from portal.submit.forms import PartyLoginForm

#: ``next`` targets after signing in (endpoint names, never URLs).
NEXT = {"defence": "submit.defence", "objection": "submit.objection",
        "rectification": "submit.rectification", "repair": "submit.repair"}


def index():
    """The filings explained under the rules of the chosen jurisdiction (``?jurisdiction=``;
    the only one of a single-city portal)."""
    bureau = bureaus.chosen()
    return render_template("submit/index.html", profile=bureaus.profile_of(bureau), bureau=bureau,
                           bureaus=bureaus.active() if bureaus.several() else [])


def party_login():
    form = PartyLoginForm()
    target = request.values.get("next", "")
    failed = False
    if form.validate_on_submit():
        case = party_access.find_case_for_party(db.session, form.case_no.data, form.access_code.data,
                                                form.identifier.data)
        if case is not None:
            access.remember_party(case)
            return redirect(url_for(NEXT.get(target, "submit.case")))
        failed = True
        form.access_code.data = ""
    status = 200 if request.method == "GET" else 422
    return render_template("submit/party_login.html", form=form, failed=failed,
                           next=target if target in NEXT else "", bureaus=bureaus.active()), status


def party_logout():
    access.forget_party()
    return redirect(url_for("submit.index"))


def require_party():
    """The signed-in case, or a redirect to the sign-in (remembering where the party wanted to go)."""
    case = access.party_case(db.session)
    if case is None:
        target = (request.endpoint or "").rsplit(".", 1)[-1]
        return None, redirect(url_for("submit.party_login", next=target if target in NEXT else None))
    return case, None


def case_home():
    case, login = require_party()
    if login:
        return login
    profile = bureaus.case_profile(case)
    calendar = load_calendar(db.session)
    today = clock.today()
    filings = db.session.execute(
        sa.select(Submission).where(Submission.case_id == case.id,
                                    Submission.kind != SubmissionKind.COMPLAINT)
        .order_by(Submission.id.desc())
    ).scalars().all()
    return render_template(
        "submit/case.html", case=case, profile=profile, today=today, filings=filings,
        bureau=bureaus.of_case(case),
        windows={k.value: w for k, w in filing_windows.windows(db.session, case, profile, calendar, today).items()},
    )


def commitment_print():
    case, login = require_party()
    if login:
        return login
    profile = bureaus.case_profile(case)
    return render_template("submit/commitment.html", case=case, profile=profile,
                           bureau=bureaus.of_case(case),
                           text=commitment(profile, case, str(get_locale())), today=clock.today(),
                           title=_("Credit commitment"))
