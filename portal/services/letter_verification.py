"""Letter verification (文书核验): is the letter with this number and code genuine, and in force?

Every numbered letter prints a verification code (:func:`code_of`), derived from the
letter's number, register id and date of issue with the lookup key
(:func:`portal.security.letter_code`); nothing is stored. Anyone holding a letter can
type its number and code on the public page ``/letters/verify`` and :func:`verify` answers:

* ``None`` for a wrong number and for a wrong code alike (and for a number that
  cannot be one): the answer never tells which numbers exist. The code is compared in
  constant time, and a number not in the register is compared against a code of no
  letter, so both answers cost the same.
* otherwise a :class:`Verification`: the kind of letter, the bureau that issued it, the
  date of issue and whether it is still in force — never the party, its identifiers or
  the facts. The reasons shown are the public removal reasons (``portal.labels``).

Reads only.
"""
from __future__ import annotations

import datetime as dt
import hmac
import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock
from portal.models import AuditEvent, Case, Letter, LetterKind
from portal.rules.profiles import UnknownProfile, load_profile
from portal.rules.workflow import EVER_LISTED_STATES, LISTED_STATES, CaseState
from portal.security import canonical_letter_code, letter_code
from portal.services import jurisdictions

K, C = LetterKind, CaseState
#: The longest letter number the register holds (``Letter.letter_no``).
NUMBER_MAX = 60
#: Characters of a letter number (``JIA-LR-2026-00001``, ``JIA-TANGYUAN-GZ-2026-00002``).
_NUMBER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
#: Dashes people type (or paste from a word processor) inside a number, after NFKC folding.
_DASHES = str.maketrans({ch: "-" for ch in "‐‑‒–—―−_"})
#: Compared when the number is in no letter: the same work as for a letter in the register.
_NO_LETTER = ("-", 0, dt.date(1970, 1, 1))

#: The status of a letter (``Verification.status``).
IN_FORCE = "in_force"            # the act it notifies stands
CONCLUDED = "concluded"          # a pre-notice whose procedure has ended (decided or dropped)
NOT_IN_FORCE = "not_in_force"    # a listing decision whose listing has ended


@dataclass(frozen=True)
class Verification:
    """What the public page may say about a genuine letter (no party data)."""

    letter_no: str
    kind: LetterKind
    authority_zh: str
    authority_en: str
    issued_on: dt.date
    status: str
    #: NOT_IN_FORCE: the day the listing ended; CONCLUDED: the day of the decision or closure
    since: dt.date | None = None
    #: NOT_IN_FORCE: the removal reason (a key of ``labels.REMOVAL_REASONS``);
    #: CONCLUDED: ``"decided"`` or ``"dropped"``
    reason: str | None = None
    #: a listing decision in force whose published facts were corrected after an objection
    corrected_on: dt.date | None = None
    #: the bureau issued the same letter again later (under a new number, with a new access code)
    reissued_on: dt.date | None = None

    def authority(self, locale) -> str:
        if str(locale).startswith("en"):
            return self.authority_en or self.authority_zh
        return self.authority_zh


def code_of(key: str, letter: Letter | None) -> str | None:
    """The verification code printed on ``letter`` (None: no numbered letter yet)."""
    if letter is None or letter.id is None or not letter.letter_no or letter.issued_on is None:
        return None
    return letter_code(key, letter.letter_no, letter.id, letter.issued_on)


def normalise_number(typed: str | None) -> str | None:
    """A typed letter number as the register writes it (full-width folded, upper case, any dash
    a hyphen, spaces dropped), or ``None`` when it cannot be a letter number."""
    folded = unicodedata.normalize("NFKC", typed or "").upper().translate(_DASHES)
    number = "".join(folded.split())
    if not number or len(number) > NUMBER_MAX or not set(number) <= _NUMBER_CHARS:
        return None
    return number


def verify(session: Session, key: str, number: str | None, code: str | None) -> Verification | None:
    """The letter ``number`` if ``code`` is its verification code; ``None`` otherwise.

    ``number`` as typed (:func:`normalise_number`); ``code`` as typed, with or without
    the dashes (:func:`portal.security.canonical_letter_code`).
    """
    number = normalise_number(number)
    typed = canonical_letter_code(code or "") or ""
    letter = None
    if number is not None:
        letter = session.execute(sa.select(Letter).where(Letter.letter_no == number)
                                 ).scalar_one_or_none()
    expected = code_of(key, letter) if letter is not None else letter_code(key, *_NO_LETTER)
    same = hmac.compare_digest(expected.replace("-", ""), typed)
    if letter is None or not same:
        return None
    return _describe(session, letter)


def _authority(session: Session, letter: Letter) -> tuple[str, str]:
    """The bureau the letter was issued by, as its head prints it."""
    bureau = jurisdictions.directory(session).get(letter.jurisdiction)
    if bureau is not None:
        return bureau.authority_zh, bureau.authority_en
    try:
        authority = load_profile(letter.profile).authority
    except UnknownProfile:
        return "", ""
    return authority.zh, authority.en


def _reissued_on(session: Session, letter: Letter) -> dt.date | None:
    """The day the same letter of the same case was issued again (a new code), if it was."""
    later = session.scalar(sa.select(Letter.created_at).where(
        Letter.case_id == letter.case_id, Letter.kind == letter.kind, Letter.id > letter.id)
        .order_by(Letter.id).limit(1))
    return clock.local_day(later)


def _dropped_on(session: Session, case: Case) -> dt.date | None:
    """The day the case was closed without a listing (the audit of the step)."""
    at = session.scalar(sa.select(AuditEvent.at).where(
        AuditEvent.entity_type == "case", AuditEvent.entity_id == case.case_no,
        AuditEvent.action == "case.drop").order_by(AuditEvent.seq.desc()).limit(1))
    return clock.local_day(at)


def status_of(session: Session, letter: Letter, case: Case) -> dict:
    """Whether the act the letter notifies still stands, from the case as it is now.

    A listing decision is in force while the subject is listed and ends with the removal
    (its day and public reason); a pre-notice is in force while the procedure it opened
    runs, and concluded by the listing decision or by the closing of the case; a removal
    decision and a credit-repair certificate stay in force.
    """
    if letter.kind is K.LISTING_DECISION:
        if case.state in LISTED_STATES:
            return {"status": IN_FORCE, "corrected_on": case.corrected_on}
        if case.state is C.REMOVED:
            reason = case.removal_reason.value if case.removal_reason else None
            return {"status": NOT_IN_FORCE, "since": case.removed_on, "reason": reason}
    if letter.kind is K.PRE_NOTICE:
        if case.state in EVER_LISTED_STATES:
            return {"status": CONCLUDED, "since": case.decided_on, "reason": "decided"}
        if case.state is C.DROPPED:
            return {"status": CONCLUDED, "since": _dropped_on(session, case), "reason": "dropped"}
    return {"status": IN_FORCE}


def _describe(session: Session, letter: Letter) -> Verification:
    case = session.get(Case, letter.case_id)
    zh, en = _authority(session, letter)
    return Verification(letter_no=letter.letter_no, kind=letter.kind, authority_zh=zh,
                        authority_en=en, issued_on=letter.issued_on,
                        reissued_on=_reissued_on(session, letter),
                        **status_of(session, letter, case))
