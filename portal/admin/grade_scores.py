"""The credit score in the back office (Zhengzhou §三 ¶1): views of the ``admin.grades`` blueprint.

* :func:`subject_score` — the subject's score, grade and contributions for its grade page;
* ``/admin/grades/score-table`` — the score model, the score → grade table in force (or the
  profile's provisional one), the proposals with their back-test (the grade distribution over
  the current data under the table in force and under the proposal), and the history.
  A reviewer or approver proposes a table; an approver other than the proposer puts it in
  force or rejects it (four-eyes, checked in ``portal.services.score_tables``).
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock
from portal.admin import access, queries, scoping
from portal.admin import forms as admin_forms
from portal.admin import grade_forms as gf
from portal.admin.access import CASE_ROLES, role_required
from portal.admin.messages import step_error
from portal.extensions import db
from portal.models import Role, ScoreGradeTable
from portal.rules import grades as grade_rules
from portal.services import cases, credit_scores, grade_steps, score_tables
from portal.services import scope as scopes

PROPOSERS = grade_steps.TABLE_PROPOSE_ROLES


def subject_score(subject) -> credit_scores.SubjectScore | None:
    """The subject's score under the rules and table of the user's bureau, from the records
    the user reads (None: the bureau's rules have no score)."""
    return credit_scores.credit_score_of(db.session, {subject.id}, clock.today(),
                                         scoping.current(), scoping.home_code())


def contribution_texts(profile, locale: str) -> dict[tuple[str, str], str]:
    """(source, code) -> what the code means, in the reader's language."""
    out = {("finding", i.code): i.text.get(locale)
           for kind in ("organisation", "person") for i in grade_rules.catalogue(profile, kind)}
    out.update({("red_list", c.code): c.text.get(locale)
                for c in grade_rules.red_list_criteria(profile)})
    out.update({("complaint", k): str(v) for k, v in gf.COMPLAINT_OUTCOMES.items()})
    return out


def _scope_of(jurisdiction: str):
    return scopes.scope_of(db.session, [jurisdiction])


@role_required(*CASE_ROLES)
def page():
    return _page()


def _page(form: gf.ScoreTableForm | None = None, refused: dict | None = None, status: int = 200):
    jurisdiction, today, locale = scoping.home_code(), clock.today(), str(get_locale())
    profile = credit_scores.scored_profile(db.session, jurisdiction)
    if profile is None:
        return render_template("admin/grades/score_table.html", offered=False,
                               profile=scoping.home_profile(), locale=locale), status
    user = current_user._get_current_object()
    pending = score_tables.pending(db.session, jurisdiction)
    test = credit_scores.backtest(db.session, jurisdiction, today, _scope_of(jurisdiction),
                                  {row.table_no: score_tables.bands_of(row) for row in pending})
    current = test.current
    if form is None:
        form = gf.ScoreTableForm(formdata=None, bands="\n".join(
            f"{b.grade} {b.min_score}" for b in current.bands))
    history = score_tables.decided(db.session, jurisdiction)
    names = queries.staff_names(db.session, [r.proposed_by_id for r in pending + history]
                                + [r.decided_by_id for r in history]
                                + ([current.row.decided_by_id, current.row.proposed_by_id]
                                   if current.row else []))
    return render_template(
        "admin/grades/score_table.html", offered=True, profile=profile, model=profile.score,
        locale=locale, current=current, pending=pending, history=history, names=names,
        test=test, bands_of=score_tables.bands_of, day_of=clock.local_day,
        form=form, refused=refused, gf=gf,
        can_propose=grade_steps.can_propose_table(user).allowed
        and scoping.may_write(jurisdiction),
        decision=lambda row: grade_steps.check_table(user, row, "approve"),
        approve_form=gf.ApproveTableForm(prefix="approve", formdata=None),
        reject_form=gf.RejectTableForm(prefix="reject", formdata=None),
        texts=contribution_texts(profile, locale),
        criteria={c.code: c for c in grade_rules.red_list_criteria(profile)},
    ), status


@role_required(*PROPOSERS)
def propose():
    form = gf.ScoreTableForm()
    if not form.validate_on_submit():
        return _page(form, status=400)
    try:
        bands = score_tables.parse_bands(form.bands.data)
        row = score_tables.propose(db.session, current_user._get_current_object(),
                                   scoping.home_code(), bands, form.note.data, clock.today())
    except cases.PermissionDenied as exc:
        db.session.rollback()
        return access.denied(step_error(exc))
    except score_tables.ScoreTableError as exc:
        db.session.rollback()
        (form.note if exc.code == "note_required" else form.bands).errors = [
            gf.score_table_error(exc.code)]
        return _page(form, status=400)
    db.session.commit()
    flash(_("Score table %(no)s awaits an approver's decision.", no=row.table_no), "info")
    return redirect(url_for(".score_table"))


def _table(table_id: int) -> ScoreGradeTable:
    found = db.session.get(ScoreGradeTable, table_id)
    if found is None:
        abort(404)
    scoping.guard(found.jurisdiction, "score_table", found.table_no, write=True)
    return found


def _refused(exc: Exception, row: ScoreGradeTable, form):
    """The page again with why: 403 (who: role, four-eyes), 409 (decided meanwhile), 400."""
    db.session.rollback()
    if isinstance(exc, cases.PermissionDenied):
        message, status = step_error(exc), 403
    else:
        message = gf.score_table_error(exc.code)
        status = 409 if exc.code == "decided" else 400
    return _page(refused={"name": row.table_no, "message": message,
                          "kept": admin_forms.typed_values(form)}, status=status)


@role_required(Role.APPROVER)
def approve(table_id: int):
    row = _table(table_id)
    form = gf.ApproveTableForm(prefix="approve")
    if not form.validate_on_submit():
        abort(400)
    try:
        score_tables.approve(db.session, current_user._get_current_object(), row, clock.today(),
                             form.note.data)
    except (cases.PermissionDenied, score_tables.ScoreTableError) as exc:
        return _refused(exc, row, form)
    db.session.commit()
    flash(_("Score table %(no)s is in force from today.", no=row.table_no), "info")
    return redirect(url_for(".score_table"))


@role_required(Role.APPROVER)
def reject(table_id: int):
    row = _table(table_id)
    form = gf.RejectTableForm(prefix="reject")
    if not form.validate_on_submit():
        return _refused(score_tables.ScoreTableError("reason_required"), row, form)
    try:
        score_tables.reject(db.session, current_user._get_current_object(), row,
                            form.reason.data, clock.today())
    except (cases.PermissionDenied, score_tables.ScoreTableError) as exc:
        return _refused(exc, row, form)
    db.session.commit()
    flash(_("Score table %(no)s has been rejected.", no=row.table_no), "info")
    return redirect(url_for(".score_table"))
