"""The letters to the party (两书同达): print or download, and re-issue with a new access code.

* ``POST /admin/cases/<id>/letters/<kind>`` renders a letter as HTML (print)
  or PDF. The access code is stored only hashed: the code page right after a
  step posts it back in a hidden field, and the letter carries it only if it
  matches the case's current code for that letter. Without it the letter is a
  copy that says the code was given on the original.
* ``POST /admin/cases/<id>/letters/<kind>/reissue`` issues the letter again
  with a new code (the old one stops working) and shows the code once.

Every issue and every rendering is audited (``letter.issue``, ``letter.render``
with whether full ID numbers were printed); a wrong code is refused and audited.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf, Length, Optional

from portal import clock, labels
from portal.admin import access, letter_pdf, scoping
from portal.admin.access import CASE_ROLES, role_required
from portal.admin.letter_content import TEMPLATES, letter_context, shows_full_ids
from portal.admin.messages import step_error
from portal.extensions import db
from portal.models import Case, LetterKind, StaffUser
from portal.rules.profiles import load_profile
from portal.services import audit, letters
from portal.services.audit import Actor
from portal.services.calendar import load_calendar
from portal.services.cases import CaseError
from portal.services.permissions import PermissionDenied

bp = Blueprint("letters", __name__, url_prefix="/cases")

K = LetterKind
KIND_LABELS = {
    K.PRE_NOTICE: _l("Prior notice (pre-notice)"),
    K.LISTING_DECISION: _l("Listing decision with the credit repair notice"),
    K.REMOVAL_DECISION: _l("Removal decision"),
    K.REPAIR_CERTIFICATE: _l("Credit repair certificate"),
}
LANGUAGES = (("zh_CN", "中文"), ("en", "English"))


class LetterForm(FlaskForm):
    code = HiddenField(validators=[Optional(), Length(max=20)])
    format = StringField(default="html", validators=[AnyOf(("html", "pdf"))])
    lang = StringField(default="zh_CN", validators=[AnyOf([value for value, _name in LANGUAGES])])


class ReissueForm(FlaskForm):
    """CSRF only: re-issuing takes no input."""


def _case(case_id: int) -> Case:
    """A case whose letters the user may issue: their own bureau's (a letter is an act)."""
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    scoping.guard(case.jurisdiction, "case", case.case_no, write=True)
    return case


def _kind(value: str) -> LetterKind:
    try:
        return LetterKind(value)
    except ValueError:
        abort(404)


def _title(kind: LetterKind) -> str:
    return labels.label(labels.LETTER_TITLES, kind)


def _render_letter(case: Case, kind: LetterKind, letter, lang: str, code: str | None,
                   pdf: bool, problem: str | None = None) -> tuple[str, str]:
    """(body, page) of the letter in ``lang``; the body is what the register hashes."""
    profile = load_profile(case.profile)
    with force_locale(lang):
        values = letter_context(db.session, case, profile, load_calendar(db.session), kind,
                                letter, lang, code)
        body = render_template(TEMPLATES[kind], **values)
        page = render_template("documents/page.html", body=Markup(body), title=_title(kind),
                               letter=letter, case=case, code=code, pdf=pdf, problem=problem,
                               letter_locale=lang)
    return body, page


@bp.post("/<int:case_id>/letters/<kind>")
@role_required(*CASE_ROLES)
def render(case_id: int, kind: str):
    letter_kind, case = _kind(kind), _case(case_id)
    form = LetterForm()
    if not form.validate_on_submit():
        abort(400)
    user: StaffUser = current_user._get_current_object()
    code = (form.code.data or "").strip() or None
    if code is not None and not letters.verify_letter_code(case, letter_kind, code):
        audit.record(db.session, Actor.staff(user), "letter.code_refused", "case", case.case_no,
                     {"kind": letter_kind.value})
        db.session.commit()
        flash(_("This access code is not the current code of this letter: the letter was not "
                "printed. Print a copy without the code, or issue the letter again with a new "
                "code."), "error")
        return redirect(url_for("admin.cases.show", case_id=case.id), 303)
    profile = load_profile(case.profile)
    try:
        letter = letters.issue(db.session, user, case, profile, letter_kind, clock.today())
    except PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except letters.LetterError:
        db.session.rollback()
        flash(_("This letter is not available for the case in its present state."), "error")
        return redirect(url_for("admin.cases.show", case_id=case.id), 303)
    fmt, lang = form.format.data, form.lang.data
    body, page = _render_letter(case, letter_kind, letter, lang, code, pdf=fmt == "pdf")
    pdf_bytes = None
    if fmt == "pdf":
        try:
            pdf_bytes = letter_pdf.render_pdf(page)
        except letter_pdf.PdfUnavailable:
            fmt = "html"
            body, page = _render_letter(case, letter_kind, letter, lang, code, pdf=False, problem=_(
                "The PDF could not be produced on this server. The letter is shown below: "
                "print it with the button or the browser's print menu."))
    letters.record_render(db.session, user, letter, body, fmt=fmt, locale=lang,
                          with_code=code is not None,
                          full_ids=shows_full_ids(letter_kind, case.subject))
    db.session.commit()
    if pdf_bytes is None:
        response = make_response(page)
    else:
        response = make_response(pdf_bytes)
        response.mimetype = "application/pdf"
        response.headers["Content-Disposition"] = f'attachment; filename="{letter.letter_no}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<int:case_id>/letters/<kind>/reissue")
@role_required(*CASE_ROLES)
def reissue(case_id: int, kind: str):
    """A new access code for the letter that carries it; shown once, like the first."""
    letter_kind, case = _kind(kind), _case(case_id)
    if not ReissueForm().validate_on_submit():
        abort(400)
    try:
        code = letters.reissue_code(db.session, current_user._get_current_object(), case,
                                    letter_kind)
    except PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc) if letter_kind in letters.REISSUE_ROLES else None)
    except CaseError:
        db.session.rollback()
        flash(_("This letter carries no access code in the present state of the case."), "error")
        return redirect(url_for("admin.cases.show", case_id=case.id), 303)
    db.session.commit()
    return render_template("admin/access_code.html", case=case, code=code, step="reissue",
                           letter_kind=letter_kind.value)


# --------------------------------------------------------------------------
# For the case page and the code page (template globals)
# --------------------------------------------------------------------------

@bp.app_template_global("letter_pdf_available")
def pdf_available() -> bool:
    return letter_pdf.available()


@bp.app_template_global("letter_languages")
def letter_languages():
    return LANGUAGES


@bp.app_template_global("case_letters")
def case_letters(case: Case) -> dict:
    """The Letters panel of the case page: the register and the letters its state allows."""
    profile = load_profile(case.profile)
    rows = letters.letters_of(db.session, case)
    names = {u.id: u.display_name for u in db.session.query(StaffUser).filter(
        StaffUser.id.in_({r.issued_by_id for r in rows if r.issued_by_id}))} if rows else {}
    current = letters.code_letter(case)
    role = current_user.role
    offers = [{
        "kind": kind.value, "label": str(KIND_LABELS[kind]),
        "carries_code": kind in letters.CODE_LETTERS,
        "code_current": current is kind,
        "can_reissue": current is kind and role in letters.REISSUE_ROLES.get(kind, ()),
    } for kind in letters.available_kinds(case, profile)]
    return {
        "letters": [{"row": r, "label": str(KIND_LABELS[r.kind]),
                     "by": names.get(r.issued_by_id, "—"),
                     "superseded": letters.is_superseded(r, case)} for r in rows],
        "offers": offers,
        # a certificate is issued on application: it has no act to be dated with
        "unnumbered": [{"label": str(KIND_LABELS[kind]), "act": None if kind is K.REPAIR_CERTIFICATE
                        else letters.letter_date(case, kind, clock.today())}
                       for kind in letters.unnumbered(db.session, case, profile)],
    }
