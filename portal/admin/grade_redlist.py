"""The red-list queue (Zhengzhou §一): proposals to decide, the current red list, removals.

Views of the ``admin.grades`` blueprint (registered in :mod:`portal.admin.grades`).
An approver other than the proposer admits or refuses (four-eyes, checked in
``portal.services.redlist``); an approver removes a unit with a reason.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from portal import clock
from portal.admin import queries, scoping
from portal.admin import forms as admin_forms
from portal.admin import grade_forms as gf
from portal.admin.access import CASE_ROLES, role_required
from portal.admin.messages import step_error
from portal.extensions import db
from portal.models import ProposalState, RedListEntry, RedListProposal, Role
from portal.rules import grades as rules
from portal.rules.profiles import load_profile
from portal.services import cases, grade_steps, redlist


def criteria_choices(form: gf.ProposalForm, profile, locale: str) -> None:
    def applies(c) -> str:
        units = "、".join(str(gf.UNIT_TYPES.get(s, s)) for s in sorted(c.subjects))
        return " (" + _("only for: %(units)s", units=units) + ")" if c.subjects else ""

    form.criteria.choices = admin_forms.options(
        (c.code, f"{c.code} {c.text.get(locale)}{applies(c)}") for c in rules.red_list_criteria(profile))


def refusal_messages(exc: redlist.RedListError, profile, locale: str) -> list[str]:
    if exc.code != "refused":
        return [gf.redlist_error(exc.code)]
    out = [str(gf.OBSTACLES[r]) for r in exc.reasons if r != "criteria"]
    if exc.missing:
        texts = {c.code: c.text.get(locale) for c in rules.red_list_criteria(profile)}
        out.append(_("Not met: %(criteria)s", criteria="; ".join(
            f"{code} {texts.get(code, '')}" for code in exc.missing)))
    return out


def _remove_form() -> gf.RemoveEntryForm:
    form = gf.RemoveEntryForm(prefix="remove")
    form.reason.choices = admin_forms.options((r, gf.REDLIST_REMOVAL_REASONS[r])
                                              for r in redlist.STAFF_REASONS)
    return form


@role_required(*CASE_ROLES)
def queue():
    return _queue()


def _queue(refused: dict | None = None, status: int = 200):
    """The red-list queue; ``refused``: a decision just refused, why, and what was typed."""
    profile, today, mine = scoping.home_profile(), clock.today(), scoping.current()
    user = current_user._get_current_object()
    if not rules.red_list_criteria(profile):
        return render_template("admin/grades/redlist.html", profile=profile, offered=False)
    to_decide = request.args.get("to_decide") == "1"       # the desk's line: mine to decide
    pending = [p for p in redlist.pending_proposals(
        db.session, to_decide_by=user.id if to_decide else None) if mine.can_read(p.jurisdiction)]
    entries = [e for e in redlist.current_entries(db.session, today)
               if mine.can_read(e.jurisdiction)]
    flagged = {e.id for e in redlist.to_review(db.session, profile, today)}
    entries.sort(key=lambda e: e.id not in flagged)   # those to review first
    decided = list(db.session.execute(
        mine.filter(sa.select(RedListProposal), RedListProposal.jurisdiction)
        .where(RedListProposal.state != ProposalState.PROPOSED)
        .order_by(RedListProposal.decided_on.desc(), RedListProposal.id.desc()).limit(20)).scalars())
    removed = list(db.session.execute(
        mine.filter(sa.select(RedListEntry), RedListEntry.jurisdiction)
        .where(RedListEntry.removed_on.is_not(None))
        .order_by(RedListEntry.removed_on.desc(), RedListEntry.id.desc()).limit(20)).scalars())
    by_entry = {p.entry_id: p for p in db.session.execute(sa.select(RedListProposal).where(
        RedListProposal.entry_id.in_([e.id for e in entries + removed]))).scalars()}
    names = queries.staff_names(db.session, [p.proposed_by_id for p in pending + decided]
                                + [p.decided_by_id for p in decided])
    locale = str(get_locale())
    return render_template(
        "admin/grades/redlist.html", profile=profile, offered=True, pending=pending, entries=entries,
        to_decide=to_decide,
        decided=decided, removed=removed, flagged=flagged,
        by_entry=by_entry, names=names, locale=locale, gf=gf,
        criteria={c.code: c for c in rules.red_list_criteria(profile)},
        applicable=lambda p: [c.code for c in rules.applicable_criteria(profile, p.unit_type)],
        decision=lambda p: grade_steps.check_proposal(user, p, "admit"),
        may_remove=lambda e: grade_steps.check_entry(user, e).allowed,
        admit_form=gf.AdmitForm(prefix="admit", formdata=None),
        refuse_form=gf.RefuseForm(prefix="refuse", formdata=None), remove_form=_remove_form(),
        incentives=rules.red_list_rules(profile)[1], source=rules.red_list_rules(profile)[2],
        refused=refused), status


def _proposal(proposal_id: int) -> RedListProposal:
    """A proposal the user may decide (its bureau's approver decides it)."""
    found = db.session.get(RedListProposal, proposal_id)
    if found is None:
        abort(404)
    scoping.guard(found.jurisdiction, "red_list_proposal", found.proposal_no, write=True)
    return found


def _refused(exc: Exception, profile, name: str, form):
    """The queue again with the refusal and what was typed: 403 (who), 409 (the proposal or
    entry was decided meanwhile), 400 (what was entered, the unit's obstacles)."""
    db.session.rollback()
    if isinstance(exc, cases.PermissionDenied):
        messages, status = [step_error(exc)], 403
    else:
        messages = refusal_messages(exc, profile, str(get_locale()))
        status = 409 if exc.code in ("decided", "removed") else 400
    return _queue({"name": name, "message": " ".join(messages),
                   "kept": admin_forms.typed_values(form)}, status)


@role_required(Role.APPROVER)
def admit(proposal_id: int):
    proposal = _proposal(proposal_id)
    profile = load_profile(proposal.profile)
    form = gf.AdmitForm(prefix="admit")
    if not form.validate_on_submit():
        abort(400)
    try:
        entry = redlist.admit(db.session, current_user._get_current_object(), proposal, profile,
                              current_app.config["PORTAL_LOOKUP_KEY"], clock.today(), form.note.data)
    except (cases.PermissionDenied, redlist.RedListError) as exc:
        return _refused(exc, profile, proposal.proposal_no, form)
    db.session.commit()
    flash(_("%(name)s has been admitted to the red list.", name=entry.name), "info")
    return redirect(url_for(".redlist"))


@role_required(Role.APPROVER)
def refuse(proposal_id: int):
    proposal = _proposal(proposal_id)
    profile = load_profile(proposal.profile)
    form = gf.RefuseForm(prefix="refuse")
    if not form.validate_on_submit():
        return _refused(redlist.RedListError("reason_required"), profile, proposal.proposal_no,
                        form)
    try:
        redlist.refuse(db.session, current_user._get_current_object(), proposal, form.reason.data,
                       clock.today())
    except (cases.PermissionDenied, redlist.RedListError) as exc:
        return _refused(exc, profile, proposal.proposal_no, form)
    db.session.commit()
    flash(_("The red-list proposal has been refused."), "info")
    return redirect(url_for(".redlist"))


@role_required(Role.APPROVER)
def remove(entry_id: int):
    entry = db.session.get(RedListEntry, entry_id)
    if entry is None:
        abort(404)
    scoping.guard(entry.jurisdiction, "red_list_entry", entry.public_id, write=True)
    form = _remove_form()
    if not form.validate_on_submit():
        db.session.rollback()
        return _queue({"name": entry.name, "message": _("Choose a reason and write a note."),
                       "kept": admin_forms.typed_values(form)}, 400)
    try:
        redlist.remove(db.session, current_user._get_current_object(), entry, form.reason.data,
                       form.note.data, clock.today())
    except (cases.PermissionDenied, redlist.RedListError) as exc:
        return _refused(exc, load_profile(entry.profile), entry.name, form)
    db.session.commit()
    flash(_("%(name)s has been removed from the red list.", name=entry.name), "info")
    return redirect(url_for(".redlist"))
