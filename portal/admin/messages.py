"""Translated messages for the machine-readable errors of the services."""
from __future__ import annotations

from flask_babel import gettext as _

from portal import labels
from portal.rules.workflow import InvalidTransition
from portal.services.cases import CaseError
from portal.services.permissions import FORBIDDEN, PermissionDenied, Verdict
from portal.services.staff import MIN_PASSWORD_LENGTH


def staff_error(code: str) -> str:
    return {
        "wrong_password": _("The current password is wrong."),
        "password_unchanged": _("The new password must differ from the current one."),
        "password_too_short": _("The password must have at least %(n)s characters.", n=MIN_PASSWORD_LENGTH),
        "password_contains_username": _("The password must not contain the user name."),
        "password_too_simple": _("The password is too simple: use more different characters."),
        "bad_username": _("User names have 2 to 60 characters: lower-case letters, digits, "
                          "dots, hyphens and underscores."),
        "username_taken": _("This user name is already taken."),
        "cannot_deactivate_self": _("You cannot deactivate your own account."),
        "cannot_change_own_role": _("You cannot change your own role."),
    }.get(code, _("The change could not be made."))


def calendar_error(code: str, detail: object = None) -> str:
    if code == "year_not_editable":
        return _("The schedule of %(year)s is published or confirmed and can no longer be changed "
                 "here.", year=detail)
    if code == "statutory_missing":
        days = ", ".join(d.isoformat() for d in detail or ())
        return _("These statutory holidays would be working days in the entered schedule: "
                 "%(days)s. Enter them as days off before confirming.", days=days)
    if code == "csv_columns":
        return _("Line %(line)s: expected date,is_workday,note.", line=detail)
    if code == "csv_date":
        return _("Line %(line)s: the date must be written YYYY-MM-DD.", line=detail)
    if code == "csv_flag":
        return _("Line %(line)s: is_workday must be 1 (working day) or 0 (day off).", line=detail)
    if code == "csv_duplicate":
        return _("Line %(line)s: this date appears twice.", line=detail)
    if code == "csv_empty":
        return _("The file contains no dates.")
    if code == "csv_wrong_year":
        return _("%(day)s is not in the year being entered.", day=detail)
    return _("The calendar could not be changed.")


def removal_error(code: str) -> str:
    """Why this removal would be wrong (``portal.rules.terms.removal_problem``)."""
    return {
        "before_listing": _("A removal cannot lie before the listing decision."),
        "term_not_over": _("The term has not ended yet: the subject leaves the list on the day "
                           "after its last day."),
        "not_rectifiable": _("Early removal after rectification is not possible on this ground."),
        "repeat_listing": _("Early removal after rectification is only possible for a first "
                            "listing."),
        "repair_not_allowed": _("This jurisdiction provides no credit repair."),
        "repair_not_open": _("Credit repair is not yet possible: the minimum period of this "
                             "listing has not passed."),
    }.get(code, _("The step could not be taken."))


def step_reason(verdict: Verdict) -> str:
    """Why a step is not offered, in the user's language (``portal.services.permissions``)."""
    reason = verdict.reason
    if reason == "role":
        return _("This step is taken by: %(roles)s.", roles=_(", ").join(
            labels.label(labels.ROLES, r) for r in verdict.roles))
    if reason == "four_eyes":
        if verdict.step in ("admit", "refuse"):
            return _("You proposed this unit: a different approver must decide (four-eyes rule).")
        return _("You prepared this proposal: a different approver must sign the decision "
                 "(four-eyes rule).")
    if reason == "staff_only" or verdict.refusal == FORBIDDEN:
        return _("Your role may not take this step.")
    if reason == "defence_window":
        return _("The defence window is open until %(date)s; the review can be completed after it.",
                 date=verdict.until.isoformat())
    if reason == "shared":
        return _("The upload to the sharing platform has already been recorded.")
    if reason == "case_state":
        return _("The case is not in a state in which this decision can take effect.")
    if reason == "case_required":
        return _("This filing is not linked to a case.")
    if reason == "removal":
        return removal_error(verdict.detail or "")
    return _("This step is not possible in the case's current state; the page may be out of "
             "date.")


def step_error(exc: Exception) -> str:
    """A refused step of the listing procedure, in the user's language."""
    verdict = getattr(exc, "verdict", None)
    if isinstance(verdict, Verdict):
        return step_reason(verdict)
    if isinstance(exc, PermissionDenied):
        if "four-eyes" in str(exc):
            return _("A different approver must sign the decision (four-eyes rule).")
        return _("Your role may not take this step.")
    if isinstance(exc, InvalidTransition):
        return _("This step is not possible in the case's current state; the page may be out of "
                 "date.")
    if isinstance(exc, CaseError):
        text = str(exc)
        if "defence window closed" in text:
            return _("The defence arrived after the defence window closed.")
        if "does not apply" in text:
            return _("This ground does not apply to this kind of subject.")
        if "removal not possible" in text:
            return removal_error(text.rsplit(": ", 1)[-1])
    return _("The step could not be taken.")
