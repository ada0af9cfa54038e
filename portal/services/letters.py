"""The bureau's letters to the party (两书同达): which may be issued, the register, the codes.

* :func:`available_kinds` — the letters a case's state allows: the pre-notice
  once served, the listing decision (with the credit-repair notice served with
  it) once signed, the removal decision once removed, and the credit-repair
  certificate where the profile issues one (Shanghai art. 10) after a removal
  for credit repair.
* :func:`code_letter` / :func:`verify_letter_code` — the party's access code
  is stored hashed; a letter carries it only when staff hand the code back
  (it was shown once) and it matches the case's current hash.
* :func:`reissue_code` — a new code for the letter that carries it; the old
  code stops working at once (``party_access`` compares the current hash).
* :func:`issue` / :func:`record_render` — the register (文书编号 per jurisdiction,
  year and kind; :func:`number_prefix`) and an audit event for every issue and every rendering.

Functions flush and never commit; the view commits once.
"""
from __future__ import annotations

import datetime as dt
import hashlib

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Case, Letter, LetterKind, Role, StaffUser
from portal.rules.profiles import Profile
from portal.rules.workflow import EVER_LISTED_STATES, LISTED_STATES, CaseState, RemovalReason
from portal.security import hash_code, is_code, new_code, verify_code
from portal.services import audit, rules_of, scope
from portal.services.audit import Actor
from portal.services.cases import CaseError
from portal.services.permissions import PermissionDenied

K, C = LetterKind, CaseState
#: States in which the case's current access code is the one printed on the pre-notice.
PRE_NOTICE_CODE_STATES = frozenset({C.PRE_NOTICED, C.DEFENCE_FILED, C.REVIEWED, C.PROPOSED})
#: States in which the current access code is the one printed on the listing decision.
DECISION_CODE_STATES = LISTED_STATES
#: Letters that carry the party's access code.
CODE_LETTERS = (K.PRE_NOTICE, K.LISTING_DECISION)
#: Who may print or issue letters (the admin sees no party data).
LETTER_ROLES = (Role.CLERK, Role.REVIEWER, Role.APPROVER)
#: Who may re-issue the code of each letter: those who serve that letter.
REISSUE_ROLES = {K.PRE_NOTICE: (Role.CLERK, Role.REVIEWER),
                 K.LISTING_DECISION: (Role.CLERK, Role.APPROVER)}
#: Short kind tags in letter numbers (ASCII: the number also names the PDF file).
KIND_TAGS = {K.PRE_NOTICE: "GZ", K.LISTING_DECISION: "LR", K.REMOVAL_DECISION: "YC",
             K.REPAIR_CERTIFICATE: "XF"}


class LetterError(ValueError):
    """This letter cannot be issued for this case now (wrong state, no certificate…)."""


def _actor(user: StaffUser, roles=LETTER_ROLES) -> Actor:
    if user is None or user.role not in roles:
        raise PermissionDenied(f"role {getattr(user, 'role', None)} may not issue letters")
    return Actor.staff(user)


def certificate_due(case: Case, profile: Profile) -> bool:
    """Shanghai art. 10: a written repair certificate after a removal for credit repair."""
    profile = rules_of.case(case, profile)
    return (profile.repair.certificate and case.state is C.REMOVED
            and case.removal_reason is RemovalReason.CREDIT_REPAIRED)


def available_kinds(case: Case, profile: Profile) -> list[LetterKind]:
    kinds = []
    if case.pre_notice_served_on is not None and case.state is not C.OPENED:
        kinds.append(K.PRE_NOTICE)
    if case.decided_on is not None and case.state in EVER_LISTED_STATES:
        kinds.append(K.LISTING_DECISION)
    if case.state is C.REMOVED and case.removed_on is not None:
        kinds.append(K.REMOVAL_DECISION)
    if certificate_due(case, profile):
        kinds.append(K.REPAIR_CERTIFICATE)
    return kinds


def require_available(case: Case, profile: Profile, kind: LetterKind) -> None:
    if kind not in available_kinds(case, profile):
        raise LetterError(f"no {kind.value} for case {case.case_no} in state {case.state.value}")


def code_letter(case: Case) -> LetterKind | None:
    """The letter the case's current access code belongs to (None: no code is current)."""
    if case.access_code_hash is None:
        return None
    if case.state in PRE_NOTICE_CODE_STATES:
        return K.PRE_NOTICE
    if case.state in DECISION_CODE_STATES:
        return K.LISTING_DECISION
    return None


def verify_letter_code(case: Case, kind: LetterKind, code: str | None) -> bool:
    """Is ``code`` the current access code, and is it the one this letter carries?"""
    ok = verify_code(case.access_code_hash, code or "")
    return ok and code_letter(case) is kind


def code_fingerprint(case: Case) -> str | None:
    """Identifies the current code's issue without revealing anything about the code."""
    if case.access_code_hash is None:
        return None
    return hashlib.sha256(case.access_code_hash.encode()).hexdigest()


def reissue_code(session: Session, user: StaffUser, case: Case, kind: LetterKind, *,
                 code: str | None = None) -> str:
    """A new access code for ``kind`` (the letter is issued again); the old code stops working.

    ``code``: a code chosen by the caller instead of a random one (the demo's documented
    codes, :mod:`portal.demo.parties`); ten characters of the codes' alphabet.
    """
    actor = _actor(user, REISSUE_ROLES.get(kind, ()))
    scope.require(session, user, case.jurisdiction)
    if kind not in CODE_LETTERS or code_letter(case) is not kind:
        raise CaseError(f"the access code of case {case.case_no} is not that of a {kind.value}")
    if code is not None and not is_code(code):
        raise ValueError("an access code is ten characters of the codes' alphabet")
    previous = code_fingerprint(case)
    code = code or new_code()
    case.access_code_hash = hash_code(code)
    audit.record(session, actor, "case.reissue_code", "case", case.case_no,
                 {"letter": kind.value, "previous": previous[:16] if previous else None,
                  "current": code_fingerprint(case)[:16]})
    session.flush()
    return code


def number_prefix(profile: Profile, jurisdiction: str | None) -> str:
    """The bureau part of a letter number: ``JIA`` for the jurisdiction seeded from a profile
    (its code is the profile's: the numbers it always had); ``JIA-TANGYUAN`` for another
    bureau under that profile (a jurisdiction code is unique, and the extra part tells its
    numbers from any seeded jurisdiction's)."""
    prefix = profile.code.upper()[:3]
    if jurisdiction and jurisdiction != profile.code:
        prefix += "-" + jurisdiction.upper()
    return prefix


def next_letter_no(session: Session, profile: Profile, kind: LetterKind,
                   year: int, jurisdiction: str | None = None) -> tuple[int, str]:
    """The next number of the sequence of ``jurisdiction`` (``None``: the one seeded from
    ``profile``), ``year`` and ``kind``: JIA-LR-2026-00001."""
    jurisdiction = jurisdiction or profile.code
    audit.serialise(session)   # concurrent issues number one after the other
    last = session.scalar(sa.select(sa.func.max(Letter.seq)).where(
        Letter.jurisdiction == jurisdiction, Letter.year == year, Letter.kind == kind))
    seq = (last or 0) + 1
    return seq, f"{number_prefix(profile, jurisdiction)}-{KIND_TAGS[kind]}-{year}-{seq:05d}"


def current_letter(session: Session, case: Case, kind: LetterKind) -> Letter | None:
    """The register row of ``kind`` as issued now: for code letters, with the current code."""
    query = sa.select(Letter).where(Letter.case_id == case.id, Letter.kind == kind)
    if kind in CODE_LETTERS:
        fingerprint = code_fingerprint(case) if code_letter(case) is kind else None
        if fingerprint is not None:
            query = query.where(Letter.code_fingerprint == fingerprint)
    return session.execute(query.order_by(Letter.id.desc()).limit(1)).scalar_one_or_none()


def letter_date(case: Case, kind: LetterKind, today: dt.date) -> dt.date:
    """A letter is dated with the act it notifies (service, decision, removal); the
    certificate, issued on application, with the day it is issued."""
    act = {K.PRE_NOTICE: case.pre_notice_served_on, K.LISTING_DECISION: case.decided_on,
           K.REMOVAL_DECISION: case.removed_on}.get(kind)
    return act or today


def issue(session: Session, user: StaffUser, case: Case, profile: Profile, kind: LetterKind,
          today: dt.date) -> Letter:
    """The register row of this letter: the existing one, or a new number (audited)."""
    actor = _actor(user)
    scope.require(session, user, case.jurisdiction)
    profile = rules_of.case(case, profile)
    require_available(case, profile, kind)
    letter = current_letter(session, case, kind)
    if letter is not None:
        return letter
    issued_on = letter_date(case, kind, today)
    carries_code = kind in CODE_LETTERS and code_letter(case) is kind
    fingerprint = code_fingerprint(case) if carries_code else None
    seq, number = next_letter_no(session, profile, kind, issued_on.year, case.jurisdiction)
    letter = Letter(case_id=case.id, kind=kind, profile=profile.code,
                    jurisdiction=case.jurisdiction, year=issued_on.year, seq=seq,
                    letter_no=number, issued_on=issued_on, issued_by_id=user.id,
                    code_fingerprint=fingerprint)
    session.add(letter)
    session.flush()
    audit.record(session, actor, "letter.issue", "case", case.case_no,
                 {"letter_no": number, "kind": kind.value, "issued_on": issued_on})
    return letter


#: The letter a step of the procedure issues with its act (两书同达: the listing decision and
#: the credit-repair notice are served together, when the decision is signed).
STEP_LETTERS = {"pre_notice": K.PRE_NOTICE, "approve": K.LISTING_DECISION,
                "remove": K.REMOVAL_DECISION}


def issue_with_step(session: Session, user: StaffUser, case: Case, profile: Profile, step: str,
                    today: dt.date) -> Letter | None:
    """Number the letter of ``step``'s act in the register as the act is taken (dated with
    the act), so a signed decision is never shown as a case without letters."""
    kind = STEP_LETTERS.get(step)
    if kind is None or kind not in available_kinds(case, rules_of.case(case, profile)):
        return None
    return issue(session, user, case, profile, kind, today)


def unnumbered(session: Session, case: Case, profile: Profile) -> list[LetterKind]:
    """Letters the case's acts call for that have no number in the register yet: acts taken
    before the register existed, or outside the back office (a report import, demo data)."""
    have = {row.kind for row in letters_of(session, case)}
    return [kind for kind in available_kinds(case, rules_of.case(case, profile))
            if kind not in have]


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def record_render(session: Session, user: StaffUser, letter: Letter, content: str, *, fmt: str,
                  locale: str, with_code: bool, full_ids: bool) -> str:
    """Audit one rendering (``full_ids``: it showed full ID numbers); returns its SHA-256.

    The register keeps the hash of the first rendering; every rendering's hash is in its
    audit event, so any printed copy can be traced. No number or code enters the log.
    """
    actor = _actor(user)
    digest = content_hash(content)
    if letter.sha256 is None:
        letter.sha256 = digest
    audit.record(session, actor, "letter.render", "case", letter.case.case_no, {
        "letter_no": letter.letter_no, "kind": letter.kind.value, "format": fmt,
        "locale": locale, "sha256": digest, "with_code": with_code, "full_ids": full_ids,
    })
    session.flush()
    return digest


def letters_of(session: Session, case: Case) -> list[Letter]:
    return list(session.execute(
        sa.select(Letter).where(Letter.case_id == case.id).order_by(Letter.id)).scalars())


def is_superseded(letter: Letter, case: Case) -> bool:
    """A code letter whose code has been replaced (re-issued, or the next letter's code)."""
    return letter.code_fingerprint is not None and letter.code_fingerprint != code_fingerprint(case)
