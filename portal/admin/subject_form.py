"""From the new-case form to the services' inputs, with translated identifier errors."""
from __future__ import annotations

from flask_babel import gettext as _
from wtforms import SelectChoice

from portal import threshold_messages
from portal.admin.forms import CaseForm, options
from portal.identifier_messages import identifier_error
from portal.models import CaseOrigin, SubjectKind
from portal.rules import thresholds
from portal.rules.profiles import Profile, UnknownGround
from portal.rules.profiles.citations import article_label
from portal.services.cases import CaseInput
from portal.services.subjects import PersonInput, SubjectError, SubjectInput

#: form field -> identifier kind (for the wording of its errors)
FIELD_KIND = {"uscc": "uscc", "org_code": "org_code", "reg_no": "reg_no", "id_number": "ric",
              "legal_rep_id": "ric", "resp1_id": "ric", "resp2_id": "ric"}
#: service field -> form field
SERVICE_FIELD = {"responsible-0-name": "resp1_name", "responsible-0-id_number": "resp1_id",
                 "responsible-1-name": "resp2_name", "responsible-1-id_number": "resp2_id"}


def ground_choices(profile: Profile, locale: str) -> list[SelectChoice]:
    kinds = {"organisation": _("organisations"), "person": _("individuals")}
    choices = []
    for ground in profile.grounds:
        text = ground.text.get(locale)
        short = text if len(text) <= 60 else text[:59] + "…"
        applies = ", ".join(kinds[k] for k in sorted(ground.subject_kinds) if k in kinds)
        article = article_label(ground.article).get(locale)
        choices.append((ground.code, f"{article} {short} ({applies})"))
    return options(choices)


def subject_input(form: CaseForm) -> SubjectInput:
    kind = SubjectKind(form.kind.data)
    return SubjectInput(
        kind=kind, name=form.name.data or "", uscc=form.uscc.data, org_code=form.org_code.data,
        reg_no=form.reg_no.data, id_number=form.id_number.data, address=form.address.data,
        unit_kind=form.unit_kind.data or None,
        legal_rep=PersonInput(form.legal_rep_name.data or "", form.legal_rep_id.data),
        responsible=(PersonInput(form.resp1_name.data or "", form.resp1_id.data),
                     PersonInput(form.resp2_name.data or "", form.resp2_id.data)),
    )


def case_input(form: CaseForm, default_contact: str) -> CaseInput:
    return CaseInput(
        ground=form.ground.data, facts=form.facts.data.strip(),
        reasons=(form.reasons.data or "").strip(), origin=CaseOrigin(form.origin.data),
        document_no=(form.document_no.data or "").strip() or None, amount=form.amount.data,
        months=form.months.data, person_times=form.person_times.data,
        alternative_met=bool(form.alternative_met.data),
        department=(form.department.data or "").strip(),
        department_contact=(form.department_contact.data or "").strip() or default_contact,
    )


def attach_error(form: CaseForm, exc: SubjectError) -> None:
    """Put a service's identifier error on the field it belongs to (never echoing the number)."""
    name = SERVICE_FIELD.get(exc.field, exc.field)
    field = getattr(form, name, None) or form.name
    field.errors = list(field.errors or []) + [identifier_error(FIELD_KIND.get(name, ""), exc.code)]


def below_threshold(form: CaseForm, profile: Profile) -> bool:
    """Ask the ground's threshold (``rules.thresholds``, the check ``open_case`` enforces) and put
    the refusal, citing the threshold and the case's figures, on the figure it concerns."""
    try:
        ground = profile.ground(form.ground.data)
    except UnknownGround:
        return False
    short = thresholds.shortfall(ground, case_input(form, "").figures)
    if short is None:
        return False
    attach_threshold(form, short)
    return True


def attach_threshold(form: CaseForm, short: thresholds.Shortfall) -> None:
    figure = (short.missing or [lim.figure for lim in short.threshold.limits])[0]
    field = getattr(form, figure)
    field.errors = list(field.errors or []) + [threshold_messages.refusal(short)]
