"""Batch screening: many names and codes against the public list at once (issue 15, item 1).

Reads the public projection only, under the same rule as ``/check``
(:func:`portal.services.public_queries.check_entries`): listed entries that public pages
show, and natural persons whom a profile does not publish — these only through an exact
ID number, never by name.

* A code (USCC, resident ID number, legacy organisation code, registration number;
  :mod:`portal.rules.identifiers`) is validated and matched through its keyed hash only
  (``published_entries.code_hash``; the legacy codes of organisations through the hashes
  the name index keeps). A full ID number is never given back: ``masked_code`` is masked
  (``mask_identifier``). A code that is not valid gives ``error``, never an exception.
* A name is scored against the public names (:mod:`portal.rules.name_match`, candidates
  from :mod:`portal.services.screening_index`); every match at or above ``threshold`` is
  returned with its score and reasons.

Former names: the projection keeps none (``published_entries`` has no former-name field),
so the reason ``former_name`` is defined but no match gives it yet.
"""
from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from portal.models import PublishedEntry
from portal.rules import identifiers, name_match
from portal.rules.identifiers import InvalidIdentifier
from portal.security import lookup_hash
from portal.services import public_queries as queries
from portal.services import screening_index

#: The default score a name match needs (README "Batch screening — matching": chosen on the
#: labelled set in tests/screening/).
DEFAULT_THRESHOLD = 0.85
#: Records one call may screen (the API's limit; the worker screens a file in such chunks).
MAX_RECORDS_PER_CALL = 1000
#: The lowest threshold a caller may set: below it every name resembles every other.
MIN_THRESHOLD = 0.5
#: Codes looked up per statement.
_CHUNK = 500


@dataclass(frozen=True)
class Record:
    """One line to screen: its row number in the caller's list, a name and/or a code."""

    row: int
    name: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Match:
    """A listed entry a record matched, as the public list shows it."""

    public_id: str
    jurisdiction: str
    subject_kind: str
    name: str                   # the published name (a person not published: masked)
    masked_code: str            # the entry's code as published (a person's ID masked)
    listed_on: dt.date
    ground_code: str
    ground_text: str
    ground_text_en: str
    term_start: dt.date
    term_last_day: dt.date
    leaves_list_on: dt.date
    public: bool                # the entry has a public page (False: a person found by ID only)
    how: str                    # "code" | "name"
    score: float                # 1.0 for a code
    reasons: tuple[str, ...]    # name_match.REASONS


@dataclass(frozen=True)
class Result:
    """The answer for one record: its code masked, the code's error if any, the matches.

    ``record`` is the record screened with its code masked as ``masked_code`` (a full ID
    number is never given back, not even to the caller who sent it)."""

    record: Record
    masked_code: str | None
    error: str | None           # translated (lazily) when the code is not valid
    matches: tuple[Match, ...]
    code_kind: str | None = None        # uscc | ric | org_code | reg_no of a valid code
    error_reason: str | None = None     # machine code of the error: "<kind>:<reason>"


REASON_LABELS = {
    "exact_code": _l("Same code"),
    "same_name": _l("Same name"),
    "legal_form_stripped": _l("Another or no legal form (有限公司 …)"),
    "traditional": _l("Traditional characters"),
    "full_width": _l("Full-width characters"),
    "punctuation": _l("Spaces, brackets or punctuation"),
    "pinyin": _l("Pinyin"),
    "place_omitted": _l("Place name left out"),
    "word_order": _l("Words in another order"),
    "typo": _l("Differs in some characters"),
    "homophone": _l("Sounds the same"),
    "other_trade_name": _l("Another trade name"),
    "former_name": _l("Former name"),
}


def reason_label(code: str):
    """The translatable label of a reason code (the code itself when unknown)."""
    return REASON_LABELS.get(code, code)


class ScreeningError(ValueError):
    """The call itself cannot be screened (too many records, a threshold out of range)."""


def screen(session: Session, records: Sequence[Record], *, threshold: float,
           jurisdictions: Sequence[str] | None, today: dt.date,
           key: str | None = None) -> list[Result]:
    """Screen ``records`` (at most :data:`MAX_RECORDS_PER_CALL`) against the public list.

    ``threshold``: the score a name match needs (``MIN_THRESHOLD``..1); ``jurisdictions``:
    the bureaus' codes to screen against (None: the whole portal); ``today``: the bureau's
    day (a resident ID born after it is not valid); ``key``: the lookup key (default:
    ``PORTAL_LOOKUP_KEY``). One result per record, in the records' order.
    """
    if len(records) > MAX_RECORDS_PER_CALL:
        raise ScreeningError(f"at most {MAX_RECORDS_PER_CALL} records per call")
    if not MIN_THRESHOLD <= threshold <= 1.0:
        raise ScreeningError(f"the threshold is between {MIN_THRESHOLD} and 1")
    key = key or current_app.config["PORTAL_LOOKUP_KEY"]
    scope = None if jurisdictions is None else frozenset(jurisdictions)
    index = screening_index.index_for(session, key)
    codes = [parse_code(r.code, today) for r in records]
    by_code = _code_matches(session, index, key, [c for c in codes if c.number], scope)
    found: list[list[tuple[int, str, float, tuple[str, ...]]]] = []
    for record, code in zip(records, codes):
        hits = [(entry_id, "code", 1.0, ("exact_code",))
                for entry_id in by_code.get(code.number, ())] if code.number else []
        seen = {hit[0] for hit in hits}
        name = str(record.name).strip()[:200] if record.name is not None else ""
        if name:
            query = _prepared(name)
            for hit in index.search(query, threshold, scope):
                if hit.entry_id not in seen:
                    hits.append((hit.entry_id, "name", hit.score, hit.reasons))
                    seen.add(hit.entry_id)
        found.append(hits)
    entries = _entries(session, {hit[0] for hits in found for hit in hits})
    results = []
    for record, code, hits in zip(records, codes, found):
        matches = [_match(entries[entry_id], how, value, reasons)
                   for entry_id, how, value, reasons in hits if entry_id in entries]
        matches.sort(key=lambda m: (m.how != "code", -m.score, m.public_id))
        shown = replace(record, code=code.masked) if record.code is not None else record
        results.append(Result(record=shown, masked_code=code.masked, error=code.error,
                              matches=tuple(matches), code_kind=code.kind,
                              error_reason=code.reason))
    return results


@functools.lru_cache(maxsize=20_000)
def _prepared(name: str) -> name_match.Name:
    return name_match.prepare(name)


# ------------------------------------------------------------------------ codes

@dataclass(frozen=True)
class ParsedCode:
    kind: str | None = None
    number: str | None = None       # normalised, valid
    masked: str | None = None
    error: object = None
    reason: str | None = None


_LENGTHS = {9: ("org_code",), 15: ("reg_no",), 18: ("ric", "uscc")}


def parse_code(raw: str | None, today: dt.date) -> ParsedCode:
    """The kind and normalised number of a typed code, or its error (never an exception)."""
    if raw is None or not str(raw).strip():
        return ParsedCode()
    number = identifiers.normalise(str(raw)[:64])
    kinds = _LENGTHS.get(len(number))
    if kinds is None:
        return ParsedCode(masked=identifiers.mask_ric(number), error=code_error("any", "length"),
                     reason="any:length")
    reasons = {}
    validators = {"ric": functools.partial(identifiers.validate_ric, today=today),
                  "uscc": identifiers.validate_uscc, "org_code": identifiers.validate_org_code,
                  "reg_no": identifiers.validate_reg_no}
    for kind in kinds:
        try:
            valid = validators[kind](number)
        except InvalidIdentifier as exc:
            reasons[kind] = exc.reason
            continue
        masked = identifiers.mask_ric(valid) if kind == "ric" else valid
        return ParsedCode(kind=kind, number=valid, masked=masked)
    kind = _likely_kind(number, reasons)
    return ParsedCode(masked=identifiers.mask_identifier(number), error=code_error(kind, reasons[kind]),
                 reason=f"{kind}:{reasons[kind]}")


def _likely_kind(number: str, reasons: dict[str, str]) -> str:
    """Of the kinds a wrong 18-character code could be, the one it most resembles (as /check)."""
    if len(reasons) == 1:
        return next(iter(reasons))
    ric, uscc = reasons["ric"], reasons["uscc"]
    if ric in ("birth_date", "region") or (
            ric == "checksum" and (uscc != "checksum" or identifiers.plausible_birth_date(number))):
        return "ric"
    return "uscc" if uscc == "checksum" else "ric"


def code_error(kind: str, reason: str):
    """The translatable message for a code that is not valid (the wording of the case form)."""
    if reason == "length":
        return {
            "uscc": _l("A unified social credit code has 18 characters."),
            "ric": _l("A resident ID number has 18 characters."),
            "org_code": _l("An organisation code has 9 characters (8 plus a check character)."),
            "reg_no": _l("A business registration number has 15 digits."),
        }.get(kind, _l("The number has the wrong length."))
    if reason == "format":
        return _l("The number contains characters that are not allowed at their position.")
    if reason == "checksum":
        return _l("The check character does not match: please look for a typing mistake.")
    if reason == "birth_date":
        return _l("The birth date inside this ID number is impossible.")
    if reason == "region":
        return _l("The region code at the start of this ID number does not exist.")
    return _l("The number is not valid.")


def _code_matches(session: Session, index, key: str, codes: list[ParsedCode],
                  scope) -> dict[str, list[int]]:
    """number -> ids of the listed entries with that code (keyed hashes only): the primary
    code of every entry /check answers for, and the legacy codes of public organisations."""
    hashes = {lookup_hash(key, c.number): c.number for c in codes}
    out: dict[str, list[int]] = {}
    for digest, number in hashes.items():
        found = index.by_code_hash(digest, scope)
        if found:
            out.setdefault(number, []).extend(found)
    digests = sorted(hashes)
    for start in range(0, len(digests), _CHUNK):
        rows = session.execute(
            sa.select(PublishedEntry.id, PublishedEntry.code_hash).where(
                PublishedEntry.code_hash.in_(digests[start:start + _CHUNK]),
                PublishedEntry.status == "listed",
                PublishedEntry.visible.is_(True) | (PublishedEntry.subject_kind == "person"),
                queries.within(PublishedEntry.jurisdiction, scope))
            .order_by(PublishedEntry.id)).all()
        for entry_id, digest in rows:
            ids = out.setdefault(hashes[digest], [])
            if entry_id not in ids:
                ids.append(entry_id)
    return out


# ------------------------------------------------------------------------ entries

def _entries(session: Session, ids: set[int]) -> dict[int, PublishedEntry]:
    ordered, out = sorted(ids), {}
    for start in range(0, len(ordered), _CHUNK):
        for entry in session.execute(sa.select(PublishedEntry).where(
                PublishedEntry.id.in_(ordered[start:start + _CHUNK]),
                PublishedEntry.status == "listed")).scalars():
            out[entry.id] = entry
    return out


def _match(entry: PublishedEntry, how: str, value: float, reasons: tuple[str, ...]) -> Match:
    public = bool(entry.visible)
    shown = entry.name if public or entry.subject_kind != "person" else identifiers.mask_name(entry.name)
    return Match(
        public_id=entry.public_id, jurisdiction=entry.jurisdiction, subject_kind=entry.subject_kind,
        name=shown, masked_code=entry.code_display, listed_on=entry.listed_on,
        ground_code=entry.ground_code, ground_text=entry.ground_text,
        ground_text_en=entry.ground_text_en or "", term_start=entry.term_start,
        term_last_day=entry.term_last_day, leaves_list_on=entry.leaves_list_on,
        public=public, how=how, score=value, reasons=reasons)
