"""The credit commitment (信用承诺书) a credit-repair applicant makes, generated from the profile.

Jiamusi art. 12 and Chizhou §二(二)4(3) require a written commitment; the
national overlay a public one. The text is rendered in the request's
language; what the party confirmed online is stored verbatim with the
submission (``details["commitment"]``) together with the time of confirmation.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _

from portal import clock
from portal.models import Case, SubjectKind
from portal.rules.profiles import Profile

VERSION = "1"


@dataclass(frozen=True)
class Commitment:
    title: str
    addressee: str
    opening: str
    items: tuple[str, ...]

    def as_text(self) -> str:
        lines = [self.title, "", self.addressee, "", self.opening]
        lines += [f"{i}. {item}" for i, item in enumerate(self.items, 1)]
        return "\n".join(lines)


def commitment(profile: Profile, case: Case, locale: str) -> Commitment:
    """The commitment for the party of ``case`` (organisations show their USCC; persons no ID)."""
    subject = case.subject
    if subject.kind is SubjectKind.ORGANISATION and subject.uscc:
        party = _("%(name)s (unified social credit code %(code)s)", name=subject.name, code=subject.uscc)
    else:
        party = subject.name
    items = [
        _("The information and materials submitted are true, complete and valid; the committing "
          "party bears the legal consequences of any false statement."),
        _("The dishonest conduct named in the listing decision has been corrected and the "
          "obligations the decision set have been fulfilled."),
        _("The committing party will comply with the laws on social insurance, register and pay "
          "contributions in full and on time, and will not obtain social-insurance funds or benefits "
          "by fraud."),
        _("The committing party accepts supervision by the bureau and the public. If this commitment "
          "is broken, it accepts being listed again with the measures that follow, and the breach is "
          "recorded in its credit file."),
    ]
    if profile.national_overlay:
        items.append(_("The committing party agrees that this commitment is made public."))
    return Commitment(
        title=_("Credit commitment"),
        addressee=_("To: %(authority)s", authority=profile.authority.get(locale)),
        opening=_("The committing party, %(party)s, listed under case %(case_no)s, applies for credit "
                  "repair under %(document)s and makes the following commitment:", party=party,
                  case_no=case.case_no, document=profile.document.get(locale)),
        items=tuple(items),
    )


def confirmation(text: Commitment, locale: str, now: dt.datetime | None = None) -> dict:
    """What is stored when the party confirms online."""
    now = now or clock.now()
    return {"mode": "online", "confirmed_at": now.isoformat(timespec="seconds"),
            "version": VERSION, "locale": locale, "text": text.as_text()}
