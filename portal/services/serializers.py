"""Plain-dict representations of the public projection for the API, exports and feeds.

Field names are stable machine names (they are part of the API contract and
of the JSON exports); dates are ISO 8601 strings. Everything comes from the
projection (``PublishedEntry``, ``RemovalNotice``, ``RedListEntry``), which
stores identity-card numbers already masked: nothing here can unmask one.
Both languages are given where the projection has both (``ground_text`` /
``ground_text_en``, ``reason_text`` / ``reason_text_en``), so a JSON body
does not depend on the reader's language.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale

from portal import labels
from portal.rules.profiles import load_profile
from portal.services.decided_under import decided_under

LANGUAGES = ("zh_CN", "en")


def iso(value) -> str | None:
    """ISO 8601 for dates; timestamps in UTC with a ``Z`` (naive values are UTC)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return value.isoformat()


class Urls:
    """Canonical public URLs (``PORTAL_BASE_URL`` + path), built without a url_for per row."""

    _MARK = "PUBLICIDMARK"

    def __init__(self) -> None:
        self.base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
        # Canonical: never the scope of the page or answer that lists it.
        if has_request_context():
            path = url_for("public.entry", public_id=self._MARK, jurisdiction=None)
        else:       # the worker (watch alerts): the same path, without a request
            path = current_app.url_map.bind("localhost").build(
                "public.entry", {"public_id": self._MARK})
        self._entry_head, self._entry_tail = path.split(self._MARK, 1)

    def absolute(self, path: str) -> str:
        return self.base + path

    def entry(self, public_id: str | None) -> str | None:
        if not public_id:
            return None
        return f"{self.base}{self._entry_head}{public_id}{self._entry_tail}"


def translated(table: dict) -> dict[str, dict[str, str]]:
    """A label table in both languages: ``{"zh_CN": {key: text}, "en": {key: text}}``."""
    out = {}
    for language in LANGUAGES:
        with force_locale(language):
            out[language] = {key: str(text) for key, text in table.items()}
    return out


def ground_text_en(profile_code: str, ground_code: str, fallback: str) -> str:
    """English ground text from the profile (removal notices store only the Chinese)."""
    try:
        return load_profile(profile_code).ground(ground_code).text.en or fallback
    except (KeyError, ValueError):
        return fallback


# --------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------

def entry_summary(row, urls: Urls) -> dict:
    """The export columns of an entry (also the first fields of :func:`entry_resource`)."""
    return {
        "public_id": row.public_id,
        "url": urls.entry(row.public_id),
        "name": row.name,
        "subject_kind": row.subject_kind,
        "code": row.code_display,
        "ground_code": row.ground_code,
        "ground_text": row.ground_text,
        "ground_text_en": row.ground_text_en or row.ground_text,
        "severity": row.severity,
        "listed_on": iso(row.listed_on),
        "term_start": iso(row.term_start),
        "term_last_day": iso(row.term_last_day),
        "leaves_list_on": iso(row.leaves_list_on),
        "department": row.department,
        "under_objection": bool(row.under_objection),
        "profile": row.profile,
        "jurisdiction": row.jurisdiction,
    }


def entry_resource(entry, urls: Urls, reasons: dict | None = None, *, linked: bool = True) -> dict:
    """Everything the public entry page shows, as data. ``linked=False``: no public page."""
    data = entry_summary(entry, urls)
    if not linked:
        data["url"] = None
    reasons = reasons or translated(labels.REMOVAL_REASONS)
    # The names come joined to the entry (``portal.services.public_queries.named``): no query per entry.
    names = getattr(entry, "jurisdiction_names", None) or (entry.jurisdiction, entry.jurisdiction)
    rep = None
    if entry.legal_rep_name:
        rep = {"name": entry.legal_rep_name, "id_number_masked": entry.legal_rep_id_masked}
    data.update({
        "jurisdiction_name": names[0],
        "jurisdiction_name_en": names[1],
        "status": entry.status,
        "extra_codes": list(entry.extra_codes or []),
        "legal_representative": rep,
        "facts": entry.facts,
        "reasons": entry.reasons,
        "legal_basis": entry.legal_basis,
        "document_no": entry.document_no,
        "department_contact": entry.department_contact,
        "listing_year": entry.listing_year,
        "published_on": iso(entry.published_on),
        "repeat_listing": bool(entry.repeat_listing),
        "corrected_on": iso(entry.corrected_on),
        "rectification_closes_on": iso(entry.rectification_closes_on),
        "repair_opens_on": iso(entry.repair_opens_on),
        "dates_provisional": list(entry.dates_provisional or []),
        "removed_on": iso(entry.removed_on),
        "removal_reason": entry.removal_reason,
        "removal_reason_text": reasons["zh_CN"].get(entry.removal_reason) if entry.removal_reason else None,
        "removal_reason_text_en": reasons["en"].get(entry.removal_reason) if entry.removal_reason else None,
        "version": entry.version,
        "updated_at": iso(entry.updated_at),
        "decided_under": decided_under(entry.profile, entry.listed_on),
    })
    return data


# --------------------------------------------------------------------------
# Removal notices
# --------------------------------------------------------------------------

def removal_summary(row, urls: Urls, reasons: dict) -> dict:
    """The export columns of a removal notice (also the API representation)."""
    return {
        "public_id": row.public_id,
        "name": row.name,
        "subject_kind": row.subject_kind,
        "code": row.code_display,
        "ground_code": row.ground_code,
        "ground_text": row.ground_text,
        "ground_text_en": ground_text_en(row.profile, row.ground_code, row.ground_text),
        "listed_on": iso(row.listed_on),
        "removed_on": iso(row.removed_on),
        "reason": row.reason,
        "reason_text": reasons["zh_CN"].get(row.reason, row.reason),
        "reason_text_en": reasons["en"].get(row.reason, row.reason),
        "department": row.department,
        "entry_public_id": row.entry_public_id,
        "entry_url": urls.entry(row.entry_public_id),
        "profile": row.profile,
        "jurisdiction": row.jurisdiction,
    }


def removal_resource(notice, urls: Urls, reasons: dict) -> dict:
    data = removal_summary(notice, urls, reasons)
    data.update({"version": notice.version, "updated_at": iso(notice.updated_at)})
    return data


# --------------------------------------------------------------------------
# Red list
# --------------------------------------------------------------------------

def redlist_resource(row) -> dict:
    return {
        "public_id": row.public_id,
        "name": row.name,
        "code": row.code_display,
        "criteria": list(row.criteria or []),
        "admitted_on": iso(row.admitted_on),
        "valid_until": iso(row.valid_until),
        "removed_on": iso(row.removed_on),
        "removal_reason": row.removal_reason,
        "updated_at": iso(row.updated_at),
        "jurisdiction": row.jurisdiction,
    }
