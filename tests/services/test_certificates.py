"""Query certificates: content as /check answers, Ed25519 signature, hash chain, immutability."""
import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.models import QueryCertificate, SubjectKind
from portal.rules import identifiers
from portal.rules.workflow import RemovalReason
from portal.security import lookup_hash
from portal.services import certificates, signing
from portal.services.certificates import Subject
from tests.factories import make_subject, published_case, remove_published

KEY = "test-lookup-key"
AUTHORITY = {"zh_CN": "佳木斯市人力资源和社会保障局", "en": "Jiamusi Human Resources and Social Security Bureau"}


@pytest.fixture
def signer(app):
    return signing.signer(app.config["PORTAL_CERT_SIGNING_KEY"])


def subject_of(code: str, kind: str = "uscc") -> Subject:
    masked = identifiers.mask_ric(code) if kind == "ric" else code
    return Subject(kind=kind, masked=masked, code_hash=lookup_hash(KEY, code))


def issue(session, signer, subject):
    cert = certificates.issue(session, signer, subject, authority=AUTHORITY)
    session.commit()
    return cert


def test_a_listed_organisation_is_certified_with_its_listing(app, session, signer):
    case = published_case(session, app, subject=make_subject(session, name="佳木斯市乙物流有限公司"),
                          ground="J6", decided_on=dt.date(2026, 2, 2))
    session.commit()
    cert = issue(session, signer, subject_of(case.subject.uscc))
    content = certificates.content(cert)
    assert content["result"] == "listed"
    assert content["subject"] == {"kind": "uscc", "identifier": case.subject.uscc}
    assert content["number"] == cert.number and cert.number.startswith("QC-")
    assert certificates.normalise_number(cert.number.lower()) == cert.number
    [listing] = content["listed"]
    assert listing["name"] == "佳木斯市乙物流有限公司" and listing["ground_code"] == "J6"
    assert listing["listed_on"] == "2026-02-02" and listing["ground"]["zh_CN"] and listing["ground"]["en"]
    assert listing["leaves_list_on"] == case.leaves_list_on.isoformat()
    assert content["publication_version"] == cert.publication_version > 0
    assert content["authority"] == AUTHORITY
    # signed over the stored canonical bytes, hashed, first in the chain
    data = cert.content.encode()
    assert certificates.canonical(content) == data
    assert signing.verify(signer.public, data, cert.signature) and cert.key_id == signer.key_id
    assert cert.content_sha256 == certificates.sha256_hex(data)
    assert (cert.seq, cert.prev_hash) == (1, certificates.GENESIS)
    assert cert.chain_hash == certificates.chain_hash(certificates.GENESIS, cert.content_sha256)


def test_not_listed_and_removed_answers(app, session, signer):
    other = make_subject(session, name="佳木斯市清白有限公司")
    case = published_case(session, app, subject=make_subject(session, name="佳木斯市丁商贸有限公司"),
                          ground="J1", decided_on=dt.date(2026, 3, 16))
    remove_published(session, case, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    session.commit()
    clear = certificates.content(issue(session, signer, subject_of(other.uscc)))
    assert (clear["result"], clear["listed"], clear["removed"]) == ("not_listed", [], [])
    removed = certificates.content(issue(session, signer, subject_of(case.subject.uscc)))
    assert removed["result"] == "removed" and removed["listed"] == []
    [notice] = removed["removed"]
    assert (notice["removed_on"], notice["reason"]) == ("2026-05-20", "rectified")
    assert notice["reason_text"]["zh_CN"] != notice["reason_text"]["en"] == "Rectified in time"


def test_an_unpublished_person_is_masked_and_the_id_number_never_stored(app, session, signer):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    person = make_subject(session, SubjectKind.PERSON, name="钱冒领")
    published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON, subject=person,
                   ground="ZP3", decided_on=dt.date(2026, 3, 16))
    session.commit()
    cert = issue(session, signer, subject_of(person.id_number, "ric"))
    content = certificates.content(cert)
    assert content["result"] == "listed" and content["listed"][0]["name"] == "钱**"
    assert content["subject"]["identifier"] == identifiers.mask_ric(person.id_number)
    assert content["listed"][0]["entry"] is None
    row = session.execute(sa.select(QueryCertificate)).scalar_one()
    stored = " ".join(str(getattr(row, c.key)) for c in QueryCertificate.__table__.columns)
    assert person.id_number not in stored and "钱冒领" not in stored
    assert row.subject_hash == lookup_hash(KEY, person.id_number)


def test_the_downloaded_json_verifies_and_a_changed_byte_does_not(app, session, signer):
    cert = issue(session, signer, subject_of(make_subject(session).uscc))
    doc = json.loads(json.dumps(certificates.document(cert)))
    assert certificates.verify_document(doc, signer.public) == []
    for i in (0, len(doc["content"]) // 2, len(doc["content"]) - 2):
        changed = dict(doc, content=doc["content"][:i] + chr(ord(doc["content"][i]) ^ 1)
                       + doc["content"][i + 1:])
        assert "the signature does not match the content" in certificates.verify_document(
            changed, signer.public)
    forged = dict(doc, signature=doc["signature"][:-4] + "AAA=")
    assert certificates.verify_document(forged, signer.public)
    other = signing.signer("A" * 43 + "=").public
    assert len(certificates.verify_document(doc, other)) == 2      # another key id, no match
    assert certificates.verify_document({"content": 1}, signer.public)


def test_the_chain_links_every_certificate_and_the_command_finds_a_tampered_row(
        app, session, signer, backend):
    subject = subject_of(make_subject(session).uscc)
    first, second, third = (issue(session, signer, subject) for _ in range(3))
    assert [c.seq for c in (first, second, third)] == [1, 2, 3]
    assert second.prev_hash == first.chain_hash and third.prev_hash == second.chain_hash
    assert certificates.verify_chain(session, signer.public) == (3, [])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["certificates", "chain"])
    assert result.exit_code == 0 and "3" in result.output
    tampered = second.content.replace('"not_listed"', '"listed"')
    if backend == "postgresql":         # the database itself refuses to change an issued one
        with pytest.raises(sa.exc.DBAPIError, match="cannot be changed"):
            session.execute(sa.update(QueryCertificate).values(content=tampered)
                            .where(QueryCertificate.id == second.id))
        session.rollback()
        with pytest.raises(sa.exc.DBAPIError, match="cannot be changed"):
            session.execute(sa.delete(QueryCertificate).where(QueryCertificate.id == third.id))
        session.rollback()
        session.execute(sa.text("ALTER TABLE query_certificates DISABLE TRIGGER "
                                "query_certificates_immutable"))
    try:
        session.execute(sa.update(QueryCertificate).values(content=tampered)
                        .where(QueryCertificate.id == second.id))
        session.commit()
    finally:
        if backend == "postgresql":
            session.execute(sa.text("ALTER TABLE query_certificates ENABLE TRIGGER "
                                    "query_certificates_immutable"))
            session.commit()
    count, problems = certificates.verify_chain(session, signer.public)
    assert count == 3 and any(second.number in p and "hash" in p for p in problems)
    result = runner.invoke(args=["certificates", "chain"])
    assert result.exit_code == 1 and second.number in result.output


def test_concurrent_issues_never_share_a_predecessor(app, signer, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    with Session(db.engine) as setup:
        uscc = make_subject(setup).uscc
        setup.commit()
    subject, barrier, errors = subject_of(uscc), threading.Barrier(4), []

    def worker():
        with app.app_context(), Session(db.engine) as own:
            try:
                barrier.wait()
                certificates.issue(own, signer, subject, authority=AUTHORITY)
                own.commit()
            except Exception as exc:  # reported below
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    db.session.expire_all()
    assert certificates.verify_chain(db.session, signer.public) == (4, [])
