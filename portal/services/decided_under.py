"""Which rules an entry was decided under: its profile's document and that document's validity.

Shanghai's measures were valid from 2018-08-01 to 2023-07-31 (seed 002 art. 12); an entry
says so, and says when its decision was taken outside that period, on the entry page and
in the API body, in both languages.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from flask_babel import force_locale, format_date
from flask_babel import gettext as _

from portal.rules import terms
from portal.rules.profiles import UnknownProfile, load_profile

LANGUAGES = ("zh_CN", "en")


def _day(value: dt.date, language: str) -> str:
    if language.startswith("zh"):
        return f"{value.year}年{value.month}月{value.day}日"
    return format_date(value, "long")


def _statement(profile, warning: str | None, language: str) -> str:
    document = profile.document.get(language)
    start, end = profile.valid_from, profile.valid_until
    if start and end:
        text = _("Decided under %(document)s (in force from %(start)s to %(end)s).", document=document,
                 start=_day(start, language), end=_day(end, language))
    elif start:
        text = _("Decided under %(document)s (in force from %(start)s).", document=document,
                 start=_day(start, language))
    elif end:
        text = _("Decided under %(document)s (in force until %(end)s).", document=document,
                 end=_day(end, language))
    else:
        text = _("Decided under %(document)s.", document=document)
    if warning == "expired":
        text += " " + _("The decision was taken after these rules had expired.")
    elif warning == "not_yet_in_force":
        text += " " + _("The decision was taken before these rules came into force.")
    return text


@lru_cache(maxsize=64)
def _statements(profile_code: str, warning: str | None) -> dict[str, str]:
    """Both languages' statements (one per profile and warning: the API lists many entries)."""
    profile = load_profile(profile_code)
    out = {}
    for language in LANGUAGES:
        with force_locale(language):
            out[language] = _statement(profile, warning, language)
    return out


def decided_under(profile_code: str, decided_on: dt.date | None) -> dict | None:
    """The rules of an entry, as data for the API and the entry page (None: unknown profile)."""
    try:
        profile = load_profile(profile_code)
    except (UnknownProfile, ValueError):
        return None
    warning = terms.profile_warning(profile, decided_on) if decided_on else None
    statements = _statements(profile_code, warning)
    return {
        "document": profile.document.zh,
        "document_en": profile.document.en,
        "valid_from": profile.valid_from.isoformat() if profile.valid_from else None,
        "valid_until": profile.valid_until.isoformat() if profile.valid_until else None,
        "in_force_on_decision": bool(decided_on and profile.is_in_force(decided_on)),
        "statement": statements["zh_CN"],
        "statement_en": statements["en"],
    }
