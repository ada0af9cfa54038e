"""Query certificates on the web: issued from a /check answer, shown as issued, verifiable offline."""
import base64
import datetime as dt
import hashlib
import json
import random
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import QueryCertificate, SubjectKind
from portal.rules import identifiers
from portal.rules.workflow import RemovalReason
from portal.services import certificates
from tests.factories import make_subject, published_case, remove_published
from tests.web.test_public_check import _fresh_app
from tests.web.test_public_jurisdictions import province  # noqa: F401  (fixture)

NAME = "佳木斯市乙物流有限公司"
TOKEN = re.compile(r'name="token" value="([^"]+)"')


@pytest.fixture
def listed(app, session):
    case = published_case(session, app, subject=make_subject(session, name=NAME), ground="J6",
                          decided_on=dt.date(2026, 2, 2))
    session.commit()
    return case


def certify(client, code: str) -> str:
    """Check ``code``, press the certificate button; the certificate's address."""
    answer = client.post("/check", data={"code": code}).get_data(as_text=True)
    token = TOKEN.search(answer).group(1)
    assert code not in token
    issued = client.post("/check/certificate", data={"token": token})
    assert issued.status_code == 303
    location = issued.headers["Location"]
    assert re.fullmatch(r"/verify/QC-\d{4}-[A-Z2-7]{10}", location)
    return location


def test_a_listed_organisation_gets_a_certificate_that_verifies_offline(listed, client, tmp_path, app):
    address = certify(client, listed.subject.uscc)
    page = client.get(address)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    number = address.rsplit("/", 1)[1]
    cert = db.session.execute(sa.select(QueryCertificate)).scalar_one()
    assert cert.number == number
    assert "查询结果证明" in html and number in html and NAME in html and "已列入" in html
    assert listed.subject.uscc in html and cert.signature in html and cert.key_id in html
    assert '<svg role="img"' in html and "flask --app wsgi certificates verify" in html
    assert f"http://localhost/verify/{number}" in html
    # the signed JSON and the published key: verified with nothing but cryptography
    download = client.get(f"{address}.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    doc = download.get_json()
    pem = client.get("/certificates/public-key")
    assert pem.status_code == 200 and b"BEGIN PUBLIC KEY" in pem.data
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    key = load_pem_public_key(pem.data)
    key.verify(base64.b64decode(doc["signature"]), doc["content"].encode("utf-8"))
    assert json.loads(doc["content"])["result"] == "listed"
    changed = doc["content"].replace(NAME, NAME[:-1] + "司 ")
    with pytest.raises(InvalidSignature):
        key.verify(base64.b64decode(doc["signature"]), changed.encode("utf-8"))
    key_json = client.get("/certificates/public-key.json").get_json()
    raw = base64.b64decode(key_json["public_key_raw_base64"])
    assert key_json["key_id"] == hashlib.sha256(raw).hexdigest()[:16] == doc["key_id"]
    # the documented command, with the downloaded key file (no portal key needed)
    (tmp_path / "cert.json").write_bytes(download.data)
    (tmp_path / "key.pem").write_bytes(pem.data)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["certificates", "verify", str(tmp_path / "cert.json"),
                             "--key", str(tmp_path / "key.pem")])
    assert ok.exit_code == 0 and f"VERIFIED {number}: listed" in ok.output
    raw_file = download.data
    position = raw_file.index(b"listed", raw_file.index(b'"content"'))
    (tmp_path / "bad.json").write_bytes(raw_file[:position] + b"L" + raw_file[position + 1:])
    bad = runner.invoke(args=["certificates", "verify", str(tmp_path / "bad.json")])
    assert bad.exit_code == 1 and "NOT VERIFIED" in bad.output


def test_a_certificate_shows_what_was_issued_after_the_list_changes(listed, client, session):
    address = certify(client, listed.subject.uscc)
    remove_published(session, listed, RemovalReason.RECTIFIED, dt.date(2026, 5, 20))
    session.commit()
    html = client.get(address).get_data(as_text=True)
    assert "已列入" in html and "已移出" not in html
    later = certify(client, listed.subject.uscc)
    assert later != address
    again = client.get(later).get_data(as_text=True)
    assert "已移出" in again and "整改" in again


def test_a_person_is_masked_everywhere(app, session, client):
    app.config["PORTAL_PROFILE"] = "zhengzhou"
    person = make_subject(session, SubjectKind.PERSON, name="钱冒领")
    published_case(session, app, profile_code="zhengzhou", kind=SubjectKind.PERSON, subject=person,
                   ground="ZP3", decided_on=dt.date(2026, 3, 16))
    session.commit()
    address = certify(client, person.id_number)
    for suffix in ("", ".json"):
        body = client.get(address + suffix).get_data(as_text=True)
        assert person.id_number not in body and "钱冒领" not in body
        assert identifiers.mask_ric(person.id_number) in body.replace("\\u002a", "*")
    assert "钱**" in client.get(address).get_data(as_text=True)


def test_not_listed_in_english_and_the_pdf(client, session):
    uscc = make_subject(session).uscc
    session.commit()
    client.get("/lang/en")
    address = certify(client, uscc)
    html = client.get(address).get_data(as_text=True)
    assert "Certificate of look-up result" in html and "Not listed" in html
    pdf = client.get(f"{address}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")


@pytest.mark.parametrize("path", ["/verify/QC-2026-AAAAAAAAAA", "/verify/QC-2026-AAAAAAAAAA.json",
                                  "/verify/nonsense", "/verify/QC-2026-AAAAAAAAAA.exe",
                                  "/verify/" + "9" * 300, "/verify/qc-2026-aaaaaaaaaa.pdf"])
def test_unknown_numbers_are_404(client, path):
    assert client.get(path).status_code == 404
    assert client.get("/verify/QC-2026-%00AAAAAAAAA").status_code in (400, 404)


def test_no_certificate_without_a_valid_answer_token(client, listed, session):
    for token in ("", "forged", certificates.GENESIS):
        refused = client.post("/check/certificate", data={"token": token})
        assert refused.status_code == 400
        assert "已过期" in refused.get_data(as_text=True)
    answer = client.post("/check", data={"code": listed.subject.uscc}).get_data(as_text=True)
    token = TOKEN.search(answer).group(1)
    assert client.post("/check/certificate", data={"token": token[:-2] + "xx"}).status_code == 400
    assert client.get("/check/certificate").status_code == 405
    assert session.scalar(sa.select(sa.func.count()).select_from(QueryCertificate)) == 0


def test_issuing_needs_the_form_token_and_is_rate_limited(tmp_path):
    app = _fresh_app(tmp_path, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True,
                     PORTAL_CHECK_RATE_LIMIT="3 per minute")
    try:
        client = app.test_client()
        code = identifiers.generate_uscc(random.Random(5))
        with app.app_context():
            form = client.get("/check").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
            answer = client.post("/check", data={"code": code, "csrf_token": csrf}).get_data(as_text=True)
            token = TOKEN.search(answer).group(1)
            assert client.post("/check/certificate", data={"token": token}).status_code == 400
            for _ in range(3):
                issued = client.post("/check/certificate", data={"token": token, "csrf_token": csrf})
                assert issued.status_code == 303
            limited = client.post("/check/certificate", data={"token": token, "csrf_token": csrf})
            assert limited.status_code == 429
            assert db.session.scalar(sa.select(sa.func.count()).select_from(QueryCertificate)) == 3
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_scoped_answer_is_certified_for_its_jurisdiction(province, client, session):  # noqa: F811
    from tests.web.test_public_jurisdictions import CHI_AUTHORITY, JIA_AUTHORITY

    uscc = province["uscc"]["chi"]
    answer = client.post("/check?jurisdiction=jiamusi", data={"code": uscc}).get_data(as_text=True)
    token = TOKEN.search(answer).group(1)
    assert client.post("/check/certificate", data={"token": token}).status_code == 400
    issued = client.post("/check/certificate?jurisdiction=jiamusi", data={"token": token})
    assert issued.status_code == 303 and "jurisdiction" not in issued.headers["Location"]
    content = certificates.content(session.execute(sa.select(QueryCertificate)).scalar_one())
    assert (content["jurisdiction"], content["result"]) == ("jiamusi", "not_listed")
    assert content["authority"]["zh_CN"] == JIA_AUTHORITY
    province_wide = certificates.content(certificates.by_number(
        session, certify(client, uscc).rsplit("/", 1)[1]))
    assert (province_wide["jurisdiction"], province_wide["result"]) == (None, "listed")
    assert province_wide["listed"][0]["jurisdiction"] == "chizhou"
    assert CHI_AUTHORITY not in json.dumps(content, ensure_ascii=False)


def test_the_pdf_carries_its_signed_document_and_verifies_offline(listed, client, app, tmp_path):
    """The PDF alone is enough: the command verifies the signed JSON embedded in it, and a
    PDF whose embedded document differs by one byte is not verified."""
    import io

    from pypdf import PdfReader, PdfWriter

    address = certify(client, listed.subject.uscc)
    number = address.rsplit("/", 1)[1]
    pdf = client.get(f"{address}.pdf").data
    [embedded] = PdfReader(io.BytesIO(pdf)).attachments[f"{number}.json"]
    assert json.loads(embedded)["signature"] == client.get(f"{address}.json").get_json()["signature"]
    (tmp_path / "cert.pdf").write_bytes(pdf)
    (tmp_path / "key.pem").write_bytes(client.get("/certificates/public-key").data)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["certificates", "verify", str(tmp_path / "cert.pdf"),
                             "--key", str(tmp_path / "key.pem")])
    assert ok.exit_code == 0 and f"VERIFIED {number}: listed" in ok.output
    # one byte of the signed content changed inside the PDF
    position = embedded.index(b"listed", embedded.index(b'"content"'))
    tampered = embedded[:position] + b"L" + embedded[position + 1:]
    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf)))
    writer.add_attachment(f"{number}.json", tampered)
    out = io.BytesIO()
    writer.write(out)
    (tmp_path / "bad.pdf").write_bytes(out.getvalue())
    bad = runner.invoke(args=["certificates", "verify", str(tmp_path / "bad.pdf")])
    assert bad.exit_code == 1 and "NOT VERIFIED" in bad.output
    # a PDF that is not a certificate, and a damaged file
    (tmp_path / "plain.pdf").write_bytes(_plain_pdf())
    plain = runner.invoke(args=["certificates", "verify", str(tmp_path / "plain.pdf")])
    assert plain.exit_code == 1 and "exactly one signed certificate" in plain.output
    (tmp_path / "cut.pdf").write_bytes(pdf[: len(pdf) // 3])
    cut = runner.invoke(args=["certificates", "verify", str(tmp_path / "cut.pdf")])
    assert cut.exit_code == 1 and isinstance(cut.exception, SystemExit)   # an answer, not a crash


def _plain_pdf() -> bytes:
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
