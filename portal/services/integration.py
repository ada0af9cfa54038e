"""The bureau's business systems as API clients (Zhengzhou §三): tokens, scopes, case intake.

* Admins create a client with a set of scopes and receive its bearer token
  once (:func:`create_client`); only its SHA-256 digest is stored. Revoking
  (:func:`revoke_client`) is final: a system that needs a new token gets a
  new client. Both steps are audited.
* :func:`authenticate` maps a presented token to a usable client.
* :func:`intake_case` opens a case from a business-system record: the subject
  is found again by its code or registered, the case starts ``opened`` with
  origin ``integration``, unassigned (the clerks' queue), and carries the
  record's external reference, which makes the call idempotent. References
  are scoped to the client (stored as ``<client id>:<system>:<record id>``):
  a client never finds, nor blocks, another client's case by its reference.

Functions flush and never commit; ``now`` / ``today`` are passed in.
"""
from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.models import (
    ApiClient,
    Case,
    CaseOrigin,
    Jurisdiction,
    StaffUser,
    Subject,
    SubjectKind,
)
from portal.rules import thresholds
from portal.rules.profiles import Profile, UnknownGround
from portal.security import lookup_hash, token_digest
from portal.services import audit, cases, jurisdictions, rules_of, scope, subjects
from portal.services.audit import Actor

#: What a client may do; each integration endpoint requires one scope.
SCOPES = ("cases:write", "status:read", "changes:read", "webhooks:manage", "watchlists:manage")
TOKEN_PREFIX = "isk_"           # "integration secret key": recognisable by secret scanners
PREFIX_LENGTH = 12              # stored and shown: "isk_" + 8 characters of the token
MAX_TOKEN_LENGTH = 200
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,59}")


class IntegrationError(ValueError):
    """``code`` is machine-readable (the view translates it); ``field`` names the input."""

    def __init__(self, code: str, field_name: str | None = None):
        self.code, self.field = code, field_name
        super().__init__(f"{field_name}: {code}" if field_name else code)


def api_actor(client: ApiClient) -> Actor:
    """The audit actor of a business system: ``api:<client name>``."""
    return Actor(f"api:{client.name}")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)        # 256 random bits


# --------------------------------------------------------------------------
# Clients
# --------------------------------------------------------------------------

def create_client(session: Session, user: StaffUser, name: str, scopes,
                  now: dt.datetime, jurisdiction: str | None = None) -> tuple[ApiClient, str]:
    """A new client of ``jurisdiction`` (``None``: the portal's only one) and its token
    (returned once, never stored)."""
    name = (name or "").strip().lower()
    if not NAME_PATTERN.fullmatch(name):
        raise IntegrationError("invalid_name", "name")
    chosen = [s for s in SCOPES if s in set(scopes or ())]
    if not chosen or len(chosen) != len(set(scopes)):
        raise IntegrationError("invalid_scopes", "scopes")
    if session.scalar(sa.select(ApiClient.id).where(ApiClient.name == name)) is not None:
        raise IntegrationError("name_taken", "name")
    jurisdiction = jurisdiction or jurisdictions.only_code(session)
    if jurisdiction is None or session.get(Jurisdiction, jurisdiction) is None:
        raise IntegrationError("invalid_jurisdiction", "jurisdiction")
    token = new_token()
    client = ApiClient(name=name, token_prefix=token[:PREFIX_LENGTH],
                       token_hash=token_digest(token), scopes=chosen, active=True,
                       jurisdiction=jurisdiction,
                       created_by_id=user.id, created_at=now)
    session.add(client)
    session.flush()
    audit.record(session, Actor.staff(user), "api_client.create", "api_client", client.name,
                 {"scopes": chosen, "token_prefix": client.token_prefix})
    return client, token


def revoke_client(session: Session, user: StaffUser, client: ApiClient, now: dt.datetime) -> bool:
    """Revoke the token at once; False when it was already revoked (nothing recorded)."""
    if not client.usable:
        return False
    client.active, client.revoked_at = False, now
    session.flush()
    audit.record(session, Actor.staff(user), "api_client.revoke", "api_client", client.name,
                 {"token_prefix": client.token_prefix})
    return True


@dataclass(frozen=True)
class Authentication:
    """``client`` when the token is usable; else ``reason``: missing | invalid | revoked."""

    client: ApiClient | None
    reason: str | None = None


def authenticate(session: Session, token: str | None) -> Authentication:
    if not token:
        return Authentication(None, "missing")
    if len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        return Authentication(None, "invalid")
    digest = token_digest(token)
    client = session.execute(
        sa.select(ApiClient).where(ApiClient.token_hash == digest)).scalar_one_or_none()
    if client is None or not hmac.compare_digest(client.token_hash, digest):
        return Authentication(None, "invalid")
    if not client.usable:
        return Authentication(client, "revoked")
    return Authentication(client)


def record_call(session: Session, client: ApiClient, endpoint: str, status: int,
                now: dt.datetime, data: dict | None = None) -> None:
    """One audit event per call of a client (never with a full identifier in ``data``)."""
    client.last_used_at = now
    audit.record(session, api_actor(client), "api.call", "api_client", client.name,
                 {"endpoint": endpoint, "status": status, **(data or {})})


# --------------------------------------------------------------------------
# Case intake
# --------------------------------------------------------------------------

#: ``cases.external_ref`` is String(120): "<client id>:<system>:<record id>" must fit.
MAX_STORED_REF = 120
_STORED_REF = re.compile(r"([0-9]{1,18}):([^:]+):(.+)", re.DOTALL)


def scoped_ref(client: ApiClient, external_ref: str) -> str:
    """The stored form of a client's ``"<system>:<record id>"``: prefixed with the client's id.

    References belong to the client that sent them: another client's identical
    reference is another record (and never finds, nor blocks, this one's case).
    """
    return f"{client.id}:{external_ref}"


def ref_owner(stored: str | None) -> int | None:
    """The id of the client a stored reference belongs to (None: no reference)."""
    match = _STORED_REF.fullmatch(stored or "")
    return int(match.group(1)) if match else None


def public_ref(stored: str | None) -> tuple[str, str] | None:
    """``(system, record id)`` as the client sent them, without the client's id."""
    match = _STORED_REF.fullmatch(stored or "")
    return (match.group(2), match.group(3)) if match else None


def find_by_ref(session: Session, client: ApiClient, external_ref: str) -> Case | None:
    """The case ``client`` opened for its ``"<system>:<record id>"`` (never another's)."""
    return session.execute(sa.select(Case).where(
        Case.external_ref == scoped_ref(client, external_ref))).scalar()


def same_subject(key: str, subject: Subject, data: subjects.SubjectInput) -> bool:
    """Does an existing case's subject carry the identifier of this input?"""
    if data.kind is not subject.kind:
        return False
    if data.kind is SubjectKind.PERSON:
        return subject.id_hash == lookup_hash(key, data.id_number or "")
    pairs = ((data.uscc, subject.uscc), (data.org_code, subject.org_code),
             (data.reg_no, subject.reg_no))
    compared = [a == b for a, b in pairs if a and b]      # codes both records carry
    return bool(compared) and all(compared)


def same_record(key: str, case: Case, subject_data: subjects.SubjectInput,
                case_data: cases.CaseInput) -> bool:
    """True if a repeated request carries the record its reference opened ``case`` with.

    Everything the request says is compared: ground, subject (codes, name, kind of unit),
    facts, reasons, the figures of the ground's threshold (amount, months, person-times,
    the alternative), document number, department and its contact (an empty department
    is the profile's authority, as :func:`cases.open_case` stores it).
    """
    return (case.ground == case_data.ground
            and same_subject(key, case.subject, subject_data)
            and case.subject.name == subject_data.name
            and (case.facts or "") == (case_data.facts or "")
            and (case.reasons or "") == (case_data.reasons or "")
            and case.amount == case_data.amount
            and case.months == case_data.months
            and case.person_times == case_data.person_times
            and bool(case.alternative_met) == bool(case_data.alternative_met)
            and (subject_data.unit_kind is None or case.subject.unit_kind == subject_data.unit_kind)
            and (case.document_no or None) == (case_data.document_no or None)
            and (not case_data.department or case.department == case_data.department)
            and (case.department_contact or "") == (case_data.department_contact or ""))


def intake_case(session: Session, client: ApiClient, profile: Profile, key: str,
                subject_data: subjects.SubjectInput, case_data: cases.CaseInput,
                today: dt.date) -> tuple[Case, bool]:
    """The case for a business-system record: ``(case, created)``.

    ``case_data.external_ref`` is the client's ``"<system>:<record id>"``; it is
    stored scoped to the client (:func:`scoped_ref`). The same external
    reference of the same client returns the case opened for it before, as
    long as the request carries the same record (:func:`same_record`;
    ``IntegrationError("external_ref_conflict")`` otherwise: a reused
    reference must not silently swallow a different record).
    """
    if not case_data.external_ref:
        raise IntegrationError("required", "external_ref")
    stored_ref = scoped_ref(client, case_data.external_ref)
    if len(stored_ref) > MAX_STORED_REF:
        raise IntegrationError("too_long", "external_ref")
    scope.require_client(session, client, case_data.jurisdiction or client.jurisdiction)
    existing = find_by_ref(session, client, case_data.external_ref)
    if existing is not None:
        if not same_record(key, existing, subject_data, case_data):
            raise IntegrationError("external_ref_conflict", "external_ref")
        return existing, False
    # the client's bureau decides the case, under its profile
    profile = rules_of.jurisdiction(session, client.jurisdiction, profile)
    try:
        ground = profile.ground(case_data.ground)
    except UnknownGround:
        raise IntegrationError("unknown_ground", "ground") from None
    if subject_data.kind.value not in ground.subject_kinds:     # checked before any write
        raise IntegrationError("ground_not_for_kind", "ground")
    short = thresholds.shortfall(ground, case_data.figures)
    if short is not None:
        raise IntegrationError("below_threshold",
                               (short.missing or [lim.figure for lim in short.threshold.limits])[0])
    actor = api_actor(client)
    subject, _created = subjects.register_subject(session, actor, key, subject_data)
    data = cases.CaseInput(**{**case_data.__dict__, "origin": CaseOrigin.INTEGRATION,
                              "external_ref": stored_ref,
                              "jurisdiction": case_data.jurisdiction or client.jurisdiction})
    return cases.open_case(session, None, profile, subject, data, today, actor=actor), True
