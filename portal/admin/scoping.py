"""The back office asks ``portal.services.scope`` what the signed-in member of staff may see
and change, once per request, and refuses (and audits) every other jurisdiction's record.

* :func:`current` is the request's :class:`~portal.services.scope.Scope`;
* :func:`guard` lets a record of a readable (``write``: writable) jurisdiction through, and
  otherwise records a ``jurisdiction.refused`` audit event and answers 404 (a record one may
  not read does not exist for them) or 403 (one may read it but not change it: 谁认定、谁负责);
* :func:`jurisdiction_choices` are the jurisdictions a new record may be filed under.
"""
from __future__ import annotations

from flask import abort, g, make_response, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from portal.extensions import db
from portal.rules.profiles import load_profile
from portal.services import jurisdictions, scope
from portal.services.audit import Actor


def current() -> scope.Scope:
    found = g.get("_staff_scope")
    if found is None:
        user = current_user._get_current_object() if current_user.is_authenticated else None
        found = g._staff_scope = scope.staff_scope(db.session, user)
    return found


def directory() -> jurisdictions.Directory:
    found = g.get("_jurisdictions")
    if found is None:
        found = g._jurisdictions = jurisdictions.directory(db.session)
    return found


def refuse(entity_type: str, entity_id: object, jurisdiction: str | None, *, write: bool):
    """Audit the refused attempt and abort: 404 when the record is not readable, else 403."""
    from portal.admin.access import denied

    db.session.rollback()
    scope.record_refusal(db.session, Actor.staff(current_user), entity_type, entity_id,
                         jurisdiction, {"endpoint": request.endpoint, "method": request.method,
                                        "write": write})
    db.session.commit()
    if not current().can_read(jurisdiction):
        abort(404)
    abort(make_response(denied(_(
        "This record belongs to a bureau you do not work for: you may read it but not "
        "change it."))))


def guard(jurisdiction: str | None, entity_type: str, entity_id: object, *,
          write: bool = False) -> None:
    """Go on only if the record's ``jurisdiction`` is readable (``write``: writable)."""
    mine = current()
    if mine.can_write(jurisdiction) or (not write and mine.can_read(jurisdiction)):
        return
    refuse(entity_type, entity_id, jurisdiction, write=write)


def members_of(jurisdiction: str | None) -> str | None:
    """Whose staff may handle a record of ``jurisdiction`` (``None``: anybody, in a portal of
    one jurisdiction)."""
    return None if current().everything else jurisdiction


def may_write(jurisdiction: str | None) -> bool:
    return current().can_write(jurisdiction)


def jurisdiction_choices() -> list[tuple[str, str]]:
    """The writable jurisdictions (code, name in the reader's language), in directory order."""
    mine, locale = current(), str(get_locale())
    return [(item.code, item.name(locale)) for item in directory().items
            if item.active and item.code in mine.writable]


def chosen_jurisdiction(raw: str | None) -> str | None:
    """The jurisdiction a form names, when writable; the only writable one when none is named."""
    codes = [code for code, _name in jurisdiction_choices()]
    if raw:
        return raw if raw in codes else None
    return codes[0] if len(codes) == 1 else None


def profile_of(code: str | None):
    """The rules of jurisdiction ``code`` (its profile). A code without a row is one seeded
    from the profile of that code (the column default of records that name a profile)."""
    info = directory().get(code)
    if info is not None:
        return info.rules
    if code:
        return load_profile(code)
    from portal.web import active_profile  # a portal without any jurisdiction yet

    return active_profile()


def working():
    """The jurisdiction a page works for: the writable one the request names (``jurisdiction``
    in the query or the form; another is refused and audited), else the user's first."""
    try:
        raw = request.values.get("jurisdiction") or ""
    except RequestEntityTooLarge:       # an upload over the limit: its page names no bureau
        raw = request.args.get("jurisdiction") or ""
    if raw:
        if raw not in {code for code, _name in jurisdiction_choices()}:
            guard(raw, "jurisdiction", raw, write=True)
        return directory().get(raw)
    return home()


def working_code() -> str | None:
    found = working()
    return found.code if found is not None else None


def home():
    """The jurisdiction the user records new work in: their first writable one (or None)."""
    choices = jurisdiction_choices()
    return directory().get(choices[0][0]) if choices else None


def home_code() -> str | None:
    found = home()
    return found.code if found is not None else None


def home_profile():
    """The rules of the first jurisdiction the user works for (a filing without a case, when
    a service needs a default)."""
    choices = jurisdiction_choices()
    if choices:
        return profile_of(choices[0][0])
    items = directory().active
    return items[0].rules if items else profile_of(None)


def label(code: str | None) -> str:
    info = directory().get(code)
    return info.name(str(get_locale())) if info is not None else (code or "")


def several() -> bool:
    """Does the reader see more than one jurisdiction (lists then say whose each row is)?"""
    return len(current().readable) > 1
