"""Query certificates (查询结果证明): the answer of /check, issued as a signed document.

:func:`issue` runs the look-up again from the keyed hash of the code (the code
typed is never stored; the certificate holds the identifier masked as /check
shows it), writes the canonical content (:func:`canonical`), signs it with
Ed25519 (:mod:`portal.services.signing`) and appends it to the certificates'
hash chain under a lock, so two issues never share a predecessor. Nothing here
ever updates or deletes a certificate; the page, the PDF and the JSON download
show the stored content, never a recomputed one.

:func:`document` is the downloadable JSON; :func:`verify_document` checks it
offline against the public key; :func:`verify_chain` recomputes every row.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal import clock, labels
from portal.models import QueryCertificate
from portal.rules.identifiers import mask_name
from portal.rules.profiles import load_profile
from portal.rules import point_in_time
from portal.rules.point_in_time import Verdict
from portal.services import public_queries as queries
from portal.services import publication_history, signing
from portal.services.serializers import translated

FORMAT = "query-certificate/1"
GENESIS = "0" * 64
PREFIX = "QC"
_RANDOM_CHARS = 10
_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
#: PostgreSQL advisory lock serialising the chain's appenders ("QCRT").
CHAIN_LOCK = 0x51435254

LISTED, REMOVED, NOT_LISTED = "listed", "removed", "not_listed"
#: a point-in-time answer for a day before the portal's records begin
NO_RECORD = "no_record"


def canonical(content: dict) -> bytes:
    """The bytes that are hashed and signed: UTF-8 JSON, sorted keys, no spaces."""
    return json.dumps(content, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chain_hash(prev_hash: str, content_sha256: str) -> str:
    """SHA-256 of the previous chain hash and this content's hash (hex strings, concatenated)."""
    return sha256_hex((prev_hash + content_sha256).encode("ascii"))


def new_number(year: int) -> str:
    return f"{PREFIX}-{year}-" + "".join(secrets.choice(_B32) for _ in range(_RANDOM_CHARS))


def normalise_number(raw: str) -> str | None:
    """A typed or linked certificate number as stored (upper case), or None if it cannot be one."""
    value = (raw or "").strip().upper()
    parts = value.split("-")
    if (len(parts) != 3 or parts[0] != PREFIX or len(parts[1]) != 4 or not parts[1].isdigit()
            or len(parts[2]) != _RANDOM_CHARS or any(ch not in _B32 for ch in parts[2])):
        return None
    return value


@dataclass(frozen=True)
class Subject:
    """Who was checked, as /check shows it: the kind of code, masked, and its keyed hash."""

    kind: str           # "uscc" | "ric"
    masked: str
    code_hash: str


def _ground(profile_code: str, ground_code: str, zh: str, en: str) -> dict:
    try:
        text = load_profile(profile_code).ground(ground_code).text
        return {"zh_CN": text.zh or zh, "en": text.en or en or zh}
    except (KeyError, ValueError):
        return {"zh_CN": zh, "en": en or zh}


def _shown_name(name: str, subject_kind: str, public: bool) -> str:
    return name if public or subject_kind != "person" else mask_name(name)


def _listing(entry) -> dict:
    zh, en = getattr(entry, "jurisdiction_names", (entry.jurisdiction, entry.jurisdiction))
    return {
        "name": _shown_name(entry.name, entry.subject_kind, bool(entry.visible)),
        "identifier": entry.code_display,
        "jurisdiction": entry.jurisdiction,
        "jurisdiction_name": {"zh_CN": zh, "en": en},
        "ground_code": entry.ground_code,
        "ground": _ground(entry.profile, entry.ground_code, entry.ground_text, entry.ground_text_en),
        "listed_on": entry.listed_on.isoformat(),
        "term_last_day": entry.term_last_day.isoformat(),
        "leaves_list_on": entry.leaves_list_on.isoformat(),
        "entry": entry.public_id if entry.visible else None,
    }


def _removal(notice, reasons: dict) -> dict:
    public = queries.notice_is_public(notice)
    return {
        "name": _shown_name(notice.name, notice.subject_kind, public),
        "identifier": notice.code_display,
        "jurisdiction": notice.jurisdiction,
        "ground_code": notice.ground_code,
        "ground": _ground(notice.profile, notice.ground_code, notice.ground_text, ""),
        "listed_on": notice.listed_on.isoformat(),
        "removed_on": notice.removed_on.isoformat(),
        "reason": notice.reason,
        "reason_text": {lang: reasons[lang].get(notice.reason, notice.reason) for lang in reasons},
    }


def _history_item(listing: point_in_time.Listing, day: dt.date, issued_on: dt.date,
                  reasons: dict) -> dict:
    """One listing of a point-in-time answer (``publication_history.listing_facts``) with the
    texts of its ground and removal reason in both languages."""
    reason = listing.removal_reason
    return {
        **publication_history.listing_facts(listing, day, issued_on),
        "reason_text": ({lang: reasons[lang].get(reason, reason) for lang in reasons}
                        if reason else None),
        "ground": (_ground(listing.profile, listing.ground_code, listing.ground_code, "")
                   if listing.shows_ground else None),
    }


def _as_of(session: Session, subject: Subject, codes, day: dt.date, issued_on: dt.date) -> dict:
    """The answer for a past ``day`` from the publication history, as /check gives it."""
    answer = publication_history.listed_on(session, subject.code_hash, day, codes,
                                           today=issued_on)
    verdict = answer.verdict
    reasons = translated(labels.REMOVAL_REASONS)
    history = [_history_item(listing, day, issued_on, reasons) for listing in answer.listings]
    return {
        "as_of": day.isoformat(),
        "result": (LISTED if verdict is Verdict.LISTED else NO_RECORD
                   if verdict in (Verdict.BEFORE_RECORDS, Verdict.FUTURE) else NOT_LISTED),
        "verdict": verdict.value,
        "records_begin": answer.records_begin.isoformat() if answer.records_begin else None,
        "history": history,
    }


def content_of(session: Session, number: str, subject: Subject, codes, scope: str | None,
               authority: dict, issued_at: dt.datetime, issued_on: dt.date,
               day: dt.date | None = None) -> dict:
    """What the certificate says: the look-up run now, exactly as /check answers it — for
    today, or (``day``) for a past day from the publication history."""
    version, _changed = queries.publication_version(session)
    head = {
        "format": FORMAT,
        "number": number,
        "issued_at": issued_at.astimezone(dt.UTC).isoformat(timespec="seconds"),
        "issued_on": issued_on.isoformat(),
        "authority": authority,
        "jurisdiction": scope,
        "publication_version": version,
        "subject": {"kind": subject.kind, "identifier": subject.masked},
    }
    if day is not None and day != issued_on:
        return {**head, **_as_of(session, subject, codes, day, issued_on)}
    listed = queries.check_entries(session, subject.code_hash, codes)
    removed = queries.check_removals(session, subject.code_hash, codes)
    reasons = translated(labels.REMOVAL_REASONS)
    return {
        **head,
        "result": LISTED if listed else REMOVED if removed else NOT_LISTED,
        "listed": [_listing(entry) for entry in listed],
        "removed": [_removal(notice, reasons) for notice in removed],
    }


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})


def _head(session: Session) -> tuple[int, str]:
    row = session.execute(sa.select(QueryCertificate.seq, QueryCertificate.chain_hash)
                          .order_by(QueryCertificate.seq.desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, GENESIS)


def issue(session: Session, signer: signing.Signer, subject: Subject, codes=None,
          scope: str | None = None, authority: dict | None = None,
          day: dt.date | None = None) -> QueryCertificate:
    """Issue a certificate of the current answer for ``subject`` (``day``: of the answer for
    that past day); flushes, never commits.

    ``codes``: the jurisdictions looked in (None: all, as /check); ``scope``: the one asked
    for, if any; ``authority``: who answers, ``{"zh_CN": ..., "en": ...}``.
    """
    _lock_chain(session)
    issued_at = clock.now().replace(microsecond=0)
    issued_on = clock.today()
    number = new_number(issued_on.year)
    while session.scalar(sa.select(QueryCertificate.id).where(QueryCertificate.number == number)):
        number = new_number(issued_on.year)
    if day is not None and day > issued_on:
        raise ValueError("a certificate answers for today or a past day")
    content = content_of(session, number, subject, codes, scope, authority or {},
                         issued_at, issued_on, day)
    data = canonical(content)
    digest = sha256_hex(data)
    seq, prev = _head(session)
    certificate = QueryCertificate(
        number=number, seq=seq + 1, issued_at=issued_at,
        publication_version=content["publication_version"], content=data.decode("utf-8"),
        content_sha256=digest, subject_hash=subject.code_hash, prev_hash=prev,
        chain_hash=chain_hash(prev, digest), signature=signer.sign(data), key_id=signer.key_id,
    )
    session.add(certificate)
    session.flush()
    return certificate


def by_number(session: Session, number: str) -> QueryCertificate | None:
    value = normalise_number(number)
    if value is None:
        return None
    return session.execute(sa.select(QueryCertificate)
                           .where(QueryCertificate.number == value)).scalar_one_or_none()


def content(certificate: QueryCertificate) -> dict:
    """The stored content as issued (never recomputed)."""
    return json.loads(certificate.content)


def document(certificate: QueryCertificate, public_key_url: str | None = None) -> dict:
    """The downloadable JSON: the canonical content as a string, its signature and chain links."""
    return {
        "format": FORMAT,
        "number": certificate.number,
        "content": certificate.content,
        "content_sha256": certificate.content_sha256,
        "algorithm": signing.ALGORITHM,
        "signature": certificate.signature,
        "key_id": certificate.key_id,
        "public_key_url": public_key_url,
        "chain": {"seq": certificate.seq, "prev_hash": certificate.prev_hash,
                  "chain_hash": certificate.chain_hash},
    }


def verify_document(doc: dict, public) -> list[str]:
    """Problems with a downloaded certificate checked against ``public`` (empty: genuine)."""
    try:
        data = doc["content"].encode("utf-8")
        signature, key_id = doc["signature"], doc["key_id"]
    except (KeyError, TypeError, AttributeError):
        return ["not a query certificate: content, signature or key_id missing"]
    problems = []
    if key_id != signing.key_id_of(public):
        problems.append(f"signed with key {key_id}, not with this public key "
                        f"({signing.key_id_of(public)})")
    if not signing.verify(public, data, signature):
        problems.append("the signature does not match the content")
    if doc.get("content_sha256") not in (None, sha256_hex(data)):
        problems.append("content_sha256 does not match the content")
    try:
        inner = json.loads(data)
    except ValueError:
        return problems + ["the content is not JSON"]
    if isinstance(inner, dict) and doc.get("number") not in (None, inner.get("number")):
        problems.append("the number does not match the content")
    return problems


def verify_chain(session: Session, public) -> tuple[int, list[str]]:
    """(certificates checked, problems): every row's content hash, chain link and signature.

    A signature is checked when the row names ``public``'s key id (rows signed with an
    earlier key still have their hashes and links checked).
    """
    problems, prev, expected_seq, count = [], GENESIS, 1, 0
    rows = session.execute(sa.select(QueryCertificate).order_by(QueryCertificate.seq))
    for cert in rows.scalars():
        count += 1
        data = cert.content.encode("utf-8")
        where = f"certificate {cert.number} (#{cert.seq})"
        if cert.seq != expected_seq:
            problems.append(f"{where}: position {cert.seq}, expected {expected_seq}")
        if sha256_hex(data) != cert.content_sha256:
            problems.append(f"{where}: content does not match its hash")
        if cert.prev_hash != prev:
            problems.append(f"{where}: previous hash does not match the certificate before it")
        if chain_hash(cert.prev_hash, cert.content_sha256) != cert.chain_hash:
            problems.append(f"{where}: chain hash does not match")
        if cert.key_id == signing.key_id_of(public) and not signing.verify(public, data,
                                                                            cert.signature):
            problems.append(f"{where}: signature does not match the content")
        try:
            if json.loads(data).get("number") != cert.number:
                problems.append(f"{where}: number does not match the content")
        except (ValueError, AttributeError):
            problems.append(f"{where}: content is not JSON")
        prev, expected_seq = cert.chain_hash, cert.seq + 1
    return count, problems
