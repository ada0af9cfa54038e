"""Who may act on a case or follow a submission (SPEC §6; the letters carry the codes).

* A listed party proves who it is with three things from its letter: the
  case number, the access code printed on the pre-notice or decision letter
  (stored hashed on the case; a new letter issues a new code) and the
  subject's identifier (USCC, legacy organisation code or registration
  number; a person's resident ID number), compared normalised.
* A submitter follows a filing with its receipt number and the query code
  shown once on the receipt.

Both answers are all-or-nothing: ``None`` for any wrong element, after the
same amount of hashing work, so a caller cannot tell which part was wrong.
"""
from __future__ import annotations

import hashlib
import hmac
import unicodedata
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import Case, Subject, Submission
from portal.rules.identifiers import normalise
from portal.security import hash_code, verify_code


def clean_reference(value: str | None) -> str:
    """Case and receipt numbers as typed: full-width to half-width, trimmed, upper-case."""
    return unicodedata.normalize("NFKC", value or "").strip().upper().replace(" ", "")[:40]


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return hash_code("DECOY-CODE")


def subject_identifiers(subject: Subject) -> set[str]:
    """Every identifier the subject may prove itself with, normalised."""
    return {normalise(c) for c in (subject.uscc, subject.org_code, subject.reg_no, subject.id_number) if c}


def find_case_for_party(session: Session, case_no: str, access_code: str, identifier: str) -> Case | None:
    """The case if all three elements match, else ``None``."""
    case = session.execute(
        sa.select(Case).where(Case.case_no == clean_reference(case_no))
    ).scalar_one_or_none()
    code_ok = verify_code(case.access_code_hash if case else _decoy_hash(), access_code or "")
    if case is None or not code_ok:
        return None
    given = normalise(identifier or "")
    known = subject_identifiers(case.subject)
    if not given or not any(hmac.compare_digest(given, k) for k in known):
        return None
    return case


def access_fingerprint(case: Case) -> str:
    """Changes when the bureau issues a new access code: it ends earlier party sessions."""
    return hashlib.sha256((case.access_code_hash or "").encode()).hexdigest()[:16]


def find_submission(session: Session, receipt_no: str, query_code: str) -> Submission | None:
    """The submission if the receipt number and its query code match, else ``None``."""
    submission = session.execute(
        sa.select(Submission).where(Submission.receipt_no == clean_reference(receipt_no))
    ).scalar_one_or_none()
    ok = verify_code(submission.query_code_hash if submission else _decoy_hash(), query_code or "")
    return submission if submission is not None and ok else None
