"""/screen: upload a file, follow its progress, read and download the results at a secret
address, delete them; files that cannot be read are answered on the form."""
import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from portal import clock
from portal.extensions import db
from portal.models import ScreeningBatch
from portal.rules import identifiers
from portal.services import screening_batches
from portal.services.screening_files import MAX_BYTES
from tests.factories import make_subject, published_case
from tests.web.test_public_check import _fresh_app
from tests.web.test_public_pages import english

RIC = "110101199003074514"
NAME = "佳木斯市华兴建筑工程有限公司"


@pytest.fixture
def listed(app, session):
    case = published_case(session, app, subject=make_subject(session, name=NAME), ground="J1",
                          decided_on=dt.date(2026, 3, 16))
    session.commit()
    return case


def upload(client, content: bytes, name="名单.csv", **fields):
    return client.post("/screen", data={"file": (io.BytesIO(content), name), **fields},
                       content_type="multipart/form-data")


def work(app, chunk=500):
    """What the workers do: screen every chunk."""
    done = 0
    while True:
        n = screening_batches.run_once(db.session, app.config["SECRET_KEY"],
                                       app.config["PORTAL_LOOKUP_KEY"], "host-a",
                                       clock.now(), clock.today(), chunk=chunk)
        if not n:
            return done
        done += n


def test_a_file_is_queued_screened_and_its_results_shown_and_downloaded(app, client, listed):
    content = ("名称,统一社会信用代码\r\n"
               f"{NAME},\r\n"
               f",{listed.subject.uscc}\r\n"
               f"张三,{RIC}\r\n"
               "完全无关的名字,\r\n").encode("utf-8-sig")
    answer = upload(client, content, threshold="0.8")
    assert answer.status_code == 303
    address = answer.headers["Location"]
    assert re.fullmatch(r"/screen/[A-Za-z0-9_-]{32}", address)
    page = client.get(address)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    html = page.get_data(as_text=True)
    assert "<progress" in html and 'data-status="queued"' in html
    progress = client.get(address + "/progress").get_json()
    assert progress == {"status": "queued", "total": 4, "processed": 0, "matched": 0,
                        "invalid": 0, "percent": 0}
    assert work(app, chunk=2) == 4
    assert client.get(address + "/progress").get_json()["percent"] == 100
    html = client.get(address).get_data(as_text=True)
    assert "<progress" not in html and NAME in html
    assert RIC not in html
    # CSV with a BOM, one line per match or per record without one, masked codes only
    download = client.get(address + "/results.csv")
    assert download.status_code == 200 and download.data.startswith(b"\xef\xbb\xbf")
    assert download.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(download.data.decode("utf-8-sig"))))
    assert rows[0][0] == "行号" and len(rows) >= 5
    assert {r[0] for r in rows[1:]} == {"2", "3", "4", "5"}
    assert RIC.encode() not in download.data
    assert identifiers.mask_ric(RIC).encode() in download.data
    by_row = {r[0]: r for r in rows[1:]}
    assert by_row["3"][4] == "代码" and by_row["3"][7] == NAME       # the exact code
    assert by_row["5"][3] == "未匹配"
    book = load_workbook(io.BytesIO(client.get(address + "/results.xlsx").data))
    sheet = book.active
    assert sheet.cell(1, 1).value == "行号" and sheet.max_row == len(rows)
    english(client)
    assert "Row" in client.get(address + "/results.csv").data.decode("utf-8-sig").splitlines()[0]


def test_the_uploader_deletes_the_results(app, client, listed):
    address = upload(client, f"名称\n{NAME}\n".encode()).headers["Location"]
    work(app)
    deleted = client.post(address + "/delete")
    assert deleted.status_code == 200
    assert client.get(address).status_code == 404
    assert client.get(address + "/results.csv").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningBatch)) == 0


def test_results_wait_for_the_screening_and_unknown_addresses_are_404(app, client):
    address = upload(client, "名称\n甲\n".encode()).headers["Location"]
    assert client.get(address + "/results.csv").status_code == 404   # not screened yet
    assert client.get(address + "/results.pdf").status_code == 404
    assert client.get("/screen/" + "A" * 32).status_code == 404
    assert client.get("/screen/" + "A" * 32 + "/progress").status_code == 404


@pytest.mark.parametrize("content,name,message", [
    (b"", "a.csv", "文件为空"),
    (b"\xd0\xcf\x11\xe0", "a.xls", ".xls"),
    ("名称\n".encode(), "a.csv", "没有名称或代码"),
])
def test_a_file_that_cannot_be_read_is_answered_on_the_form(app, client, content, name, message):
    page = upload(client, content, name)
    assert page.status_code == 422 and message in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningBatch)) == 0


def test_no_file_a_bad_threshold_and_a_too_large_file(app, client):
    page = client.post("/screen", data={}, content_type="multipart/form-data")
    assert page.status_code == 422
    page = upload(client, "名称\n甲\n".encode(), threshold="2")
    assert page.status_code == 422 and "0.5" in page.get_data(as_text=True)
    big = upload(client, b"a" * (MAX_BYTES + 100 * 1024))
    assert big.status_code == 413
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ScreeningBatch)) == 0


def test_uploads_need_the_form_token_and_are_rate_limited(tmp_path):
    app = _fresh_app(tmp_path, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True,
                     PORTAL_SCREEN_RATE_LIMIT="2 per hour")
    try:
        client = app.test_client()
        with app.app_context():
            form = client.get("/screen").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
            assert upload(client, "名称\n甲\n".encode()).status_code == 400
            for _ in range(2):
                assert upload(client, "名称\n甲\n".encode(), csrf_token=csrf).status_code == 303
            limited = upload(client, "名称\n甲\n".encode(), csrf_token=csrf)
            assert limited.status_code == 429 and "上传" in limited.get_data(as_text=True)
            assert client.get("/screen").status_code == 200        # the form itself is not limited
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_the_form_page_in_both_languages(client):
    html = client.get("/screen").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and "10000" in html.replace(",", "")
    english(client)
    html = client.get("/screen").get_data(as_text=True)
    assert "Screen a list of employers or persons" in html


def test_a_certificate_of_a_rows_code_from_the_results(app, client, listed, session):
    from portal.models import QueryCertificate
    from portal.services import certificates

    content = f"名称,代码\n甲,{listed.subject.uscc}\n乙,{RIC}\n丙,\n".encode()
    address = upload(client, content).headers["Location"]
    work(app)
    html = client.get(address).get_data(as_text=True)
    assert html.count("该代码的查询结果证明") == 1          # the listed row (matched by code)
    # the row's button posts its row number (no token that expires before the results do)
    button = re.search(r'<form class="certificate-issue" method="post" action="([^"]+)">'
                       r'.*?name="row" value="(\d+)"', html, re.S)
    assert button.group(1) == address + "/certificate" and button.group(2) == "2"
    # any row with a valid code, by its row number: today's /check answer for that code
    issued = client.post(address + "/certificate", data={"row": "3"})
    assert issued.status_code == 303 and issued.headers["Location"].startswith("/verify/QC-")
    cert = session.execute(sa.select(QueryCertificate)).scalar_one()
    content = certificates.content(cert)
    assert content["result"] == "not_listed"
    assert content["subject"] == {"kind": "ric", "identifier": identifiers.mask_ric(RIC)}
    assert RIC not in cert.content
    listed_row = client.post(address + "/certificate", data={"row": "2"})
    number = listed_row.headers["Location"].rsplit("/", 1)[1]
    assert certificates.content(certificates.by_number(session, number))["result"] == "listed"
    # a row without a code, and rows that do not exist
    no_code = client.post(address + "/certificate", data={"row": "4"})
    assert no_code.status_code == 422 and "文件第 4 行没有有效" in no_code.get_data(as_text=True)
    assert client.post(address + "/certificate", data={"row": "x"}).status_code == 404
    assert client.post(address + "/certificate", data={"row": "99"}).status_code == 422


def test_an_id_number_typed_into_the_name_column_is_never_shown_back(app, client):
    content = f"名称,代码\n张三 {RIC},12345\n{RIC},\n".encode()
    address = upload(client, content).headers["Location"]
    work(app)
    html = client.get(address).get_data(as_text=True)
    assert "张三" in html and identifiers.mask_ric(RIC) in html     # row 2: an invalid code
    assert RIC not in html
    csv_data = client.get(address + "/results.csv").data
    assert RIC.encode() not in csv_data and identifiers.mask_ric(RIC).encode() in csv_data
    sheet = load_workbook(io.BytesIO(client.get(address + "/results.xlsx").data)).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert not any(RIC in cell for cell in cells)


def test_a_file_name_with_control_characters_is_kept_without_them(app, client):
    answer = upload(client, "名称\n甲\n".encode(), name="名单\x00\x1b.csv")
    assert answer.status_code == 303
    batch = db.session.execute(sa.select(ScreeningBatch)).scalar_one()
    assert batch.filename == "名单.csv"
    assert "名单.csv" in client.get(answer.headers["Location"]).get_data(as_text=True)


@pytest.mark.parametrize("row", ["²", "¹⁰", "-1", "x", "1e3"])
def test_a_row_number_that_is_not_a_number_is_not_found(app, client, row):
    address = upload(client, "名称\n甲\n".encode()).headers["Location"]
    work(app)
    assert client.post(address + "/certificate", data={"row": row}).status_code == 404


def test_a_workbook_of_too_many_cells_is_answered_on_the_form(app, client):
    from portal.services.screening_files import MAX_CELLS
    from tests.services.test_screening_batches import _stuffed_xlsx

    raw = _stuffed_xlsx(sheet_extra=b'<row r="3">' + b"<c><v>1</v></c>" * (MAX_CELLS + 1)
                        + b"</row>")
    page = upload(client, raw, "名单.xlsx")
    assert page.status_code == 422 and "请只保留名称和代码两列" in page.get_data(as_text=True)
    english(client)
    page = upload(client, raw, "list.xlsx")
    assert "keep only the columns of names and codes" in page.get_data(as_text=True)


def test_an_expired_form_on_the_results_page_says_so_and_keeps_the_results(tmp_path):
    """The results stay for a day, the form token of their page for hours: a delete or a
    certificate asked from a page left open too long is answered on the page, not with a
    bare error."""
    app = _fresh_app(tmp_path, WTF_CSRF_ENABLED=True)
    try:
        client = app.test_client()
        with app.app_context():
            form = client.get("/screen").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
            address = upload(client, f"名称,代码\n甲,{RIC}\n".encode(),
                             csrf_token=csrf).headers["Location"]
            work(app)
            for action, data in (("/delete", {}), ("/certificate", {"row": "2"})):
                page = client.post(address + action, data={**data, "csrf_token": "stale"})
                assert page.status_code == 400
                html = page.get_data(as_text=True)
                assert "页面已过期，请再试一次" in html and "下载比对结果" in html
            assert client.get(address).status_code == 200          # nothing was deleted
            unknown = "/screen/" + "A" * 32
            assert client.post(unknown + "/delete", data={"csrf_token": "stale"}).status_code == 404
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()


def test_results_sealed_under_a_changed_secret_key_say_so(app, client, listed):
    """After the secret key is changed, finished results can no longer be opened: the page
    says the file could not be screened (it used to fail with an internal error)."""
    address = upload(client, f"名称\n{NAME}\n".encode()).headers["Location"]
    work(app)
    assert NAME in client.get(address).get_data(as_text=True)
    app.config["SECRET_KEY"] = "a-new-secret-key"
    page = client.get(address)
    assert page.status_code == 200 and "该文件未能完成比对" in page.get_data(as_text=True)
    assert client.get(address + "/results.csv").status_code == 404
    assert client.get(address + "/progress").get_json()["status"] == "failed"
