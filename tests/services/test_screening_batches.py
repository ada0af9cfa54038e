"""Batch screening files: read from CSV/XLSX, queued sealed, screened in chunks under a lease
(a host that dies leaves its chunk to another, no row twice), deleted after the retention."""
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from portal.models import BatchStatus, ScreeningBatch, ScreeningChunk
from portal.rules import identifiers
from portal.security import lookup_hash
from portal.services import screening_batches as batches
from portal.services import screening_files as files
from portal.services.report_files import FileProblem
from portal.services.screening import Match, Record, Result

SECRET = "test-secret"
KEY = "test-lookup-key"
NOW = dt.datetime(2026, 12, 6, 2, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 12, 6)
RIC = "110101199003074514"


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- reading files ------------------------------------------------------------
def test_a_csv_with_a_header_in_either_order_and_encoding():
    text = "统一社会信用代码,名称\r\n91230800MA1ABCDE1X,佳木斯市甲建筑有限公司\r\n,乙公司\r\n"
    for raw in (text.encode("utf-8-sig"), text.encode("gb18030")):
        records = files.read_records(raw, "list.csv")
        assert records == [Record(2, "佳木斯市甲建筑有限公司", "91230800MA1ABCDE1X"),
                           Record(3, "乙公司", None)]


def test_an_xlsx_below_a_title_and_a_file_without_a_header():
    raw = xlsx([["供应商名单"], ["Name", "ID number"], ["张三", RIC], [None, None], ["李四", None]])
    assert files.read_records(raw, "x.xlsx") == [Record(3, "张三", RIC), Record(5, "李四", None)]
    # no header: the cell that reads as a code is the code, the other the name
    raw = f"{RIC},张三\n丙公司\n".encode()
    assert files.read_records(raw, "x.csv") == [Record(1, "张三", RIC), Record(2, "丙公司", None)]


@pytest.mark.parametrize("raw,name,code", [
    (b"", "a.csv", "empty"),
    (b"\xd0\xcf\x11\xe0old", "a.xls", "xls"),
    (b"not a zip", "a.xlsx", "not_a_table"),
    ("名称\n".encode(), "a.csv", "no_rows"),
    (b"PK\x03\x04broken", "a.xlsx", "not_a_table"),
])
def test_files_that_cannot_be_read_say_why(raw, name, code):
    with pytest.raises(FileProblem) as problem:
        files.read_records(raw, name)
    assert problem.value.code == code


def test_too_many_rows_and_too_many_bytes():
    raw = "名称\n".encode() + "".join(f"公司{i}\n" for i in range(11)).encode()
    with pytest.raises(FileProblem) as problem:
        files.read_records(raw, "a.csv", max_rows=10)
    assert (problem.value.code, problem.value.params) == ("too_many_rows", {"max": 10})
    assert len(files.read_records(raw, "a.csv", max_rows=11)) == 11
    with pytest.raises(FileProblem) as problem:
        files.read_records(b"x" * (files.MAX_BYTES + 1), "a.csv")
    assert problem.value.code == "too_large"



def _stuffed_xlsx(sheet_extra: bytes = b"", shared_strings: bytes | None = None) -> bytes:
    """A small workbook whose first sheet gets ``sheet_extra`` rows (and a shared-string
    table): a few hundred KB that unpack to millions of cells."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(xlsx([["名称"], ["甲"]])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", sheet_extra + b"</sheetData>") \
                    .replace(b'<dimension ref="A1:A2" />', b"")
            if shared_strings is not None and info.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" '
                                    b'ContentType="application/vnd.openxmlformats-officedocument.'
                                    b'spreadsheetml.sharedStrings+xml"/></Types>')
            if shared_strings is not None and info.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdS" Type="http://'
                                    b'schemas.openxmlformats.org/officeDocument/2006/relationships'
                                    b'/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
            book.writestr(info.filename, data)
        if shared_strings is not None:
            book.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/'
                          b'spreadsheetml/2006/main">' + shared_strings + b"</sst>")
    return out.getvalue()


@pytest.mark.parametrize("stuffing", [
    {"sheet_extra": b'<row r="3">' + b"<c><v>1</v></c>" * (files.MAX_CELLS + 1) + b"</row>"},
    {"sheet_extra": b"".join(b'<row r="%d">' % line + b"<c><v>1</v></c>" * 100 + b"</row>"
                             for line in range(3, 3 + files.MAX_CELLS // 100 + 1))},
    {"shared_strings": b"<si><t>ab</t></si>" * (files.MAX_CELLS + 1)},
], ids=["one-wide-row", "many-rows", "shared-strings"])
def test_a_small_workbook_that_unpacks_to_too_many_cells_is_refused_unread(stuffing):
    """A public upload of a few hundred KB must not cost the web process minutes and
    gigabytes: the cells are counted before the workbook is opened."""
    raw = _stuffed_xlsx(**stuffing)
    assert len(raw) < files.MAX_BYTES / 4
    with pytest.raises(FileProblem) as problem:
        files.read_records(raw, "x.xlsx")
    assert problem.value.code == "too_many_cells"



@pytest.mark.parametrize("stuffing", [
    b'<row r="3" x="' + b"a" * (3 * files.MAX_TOKEN) + b'"><c><v>1</v></c></row>',
    b"<!--" + b"a>" * (2 * files.MAX_TOKEN) + b"-->",
], ids=["long-attribute", "long-comment"])
def test_a_workbook_with_a_tag_of_megabytes_is_refused_unread(stuffing):
    """The XML parser reads one long tag in time that grows with its square (a 90 MB
    attribute took minutes): such a workbook is refused before it is read."""
    with pytest.raises(FileProblem) as problem:
        files.read_records(_stuffed_xlsx(sheet_extra=stuffing), "x.xlsx")
    assert problem.value.code == "not_a_table"


def test_a_wide_ordinary_workbook_is_read():
    header = ["名称", "代码"] + [f"列{i}" for i in range(28)]
    rows = [header] + [[f"公司{i}", "", *(["备注"] * 28)] for i in range(2000)]
    assert len(files.read_records(xlsx(rows), "x.xlsx")) == 2000


# -- sealing ------------------------------------------------------------------
def test_sealed_data_opens_only_with_the_same_secret_and_unchanged():
    sealed = batches.seal(SECRET, [[2, "张三", RIC]])
    assert RIC.encode() not in sealed and "张三".encode() not in sealed
    assert batches.unseal(SECRET, sealed) == [[2, "张三", RIC]]
    with pytest.raises(ValueError):
        batches.unseal("another-secret", sealed)
    changed = bytearray(sealed)
    changed[40] ^= 1
    with pytest.raises(ValueError):
        batches.unseal(SECRET, bytes(changed))


# -- the worker's chunks --------------------------------------------------------
def fake_screen(calls):
    """A stand-in for the matching engine: a record whose name starts with 甲 matches."""
    def screen(session, records, *, threshold, jurisdictions, today, key):
        assert key == KEY
        calls.append((tuple(r.row for r in records), threshold, jurisdictions, today))
        out = []
        for r in records:
            masked = identifiers.mask_ric(r.code) if r.code else None
            matches = ()
            if r.name and r.name.startswith("甲"):
                matches = (Match("E1", "jiamusi", "organisation", "甲公司", "912308…", TODAY,
                                 "J1", "未登记", "", TODAY, TODAY, TODAY, True, "name", 0.91,
                                 ("same_name",)),)
            error = "invalid" if r.name == "坏" else None
            out.append(Result(r, masked, error, matches, code_kind="ric" if r.code else None))
        return out
    return screen


def queue(session, count, **kw):
    records = [Record(i + 2, ("甲" if i % 3 == 0 else "乙") + str(i), RIC if i == 1 else None)
               for i in range(count)]
    batch, token = batches.create(session, SECRET, records, filename="名单.xlsx",
                                  threshold=kw.get("threshold", 0.85), jurisdiction=None,
                                  codes=kw.get("codes"), now=kw.get("now", NOW),
                                  keep=dt.timedelta(hours=24))
    session.commit()
    return batch, token


def test_a_file_is_screened_chunk_by_chunk_and_its_rows_dropped(app, session):
    batch, token = queue(session, 25, codes=["jiamusi"])
    assert batches.by_token(session, token, NOW) is batch and batch.status is BatchStatus.QUEUED
    assert RIC.encode() not in batch.rows
    calls = []
    done = [batches.run_once(session, SECRET, KEY, "host-a", NOW, TODAY, chunk=10,
                             screen=fake_screen(calls)) for _ in range(4)]
    assert done == [10, 10, 5, 0]
    assert [c[0][0] for c in calls] == [2, 12, 22]
    assert calls[0][1:] == (0.85, ["jiamusi"], TODAY)
    session.expire_all()
    batch = session.get(ScreeningBatch, batch.id)
    assert (batch.status, batch.processed, batch.total, batch.matched) == (
        BatchStatus.DONE, 25, 25, 9)
    assert batch.rows is None and batch.leased_by is None
    assert batch.expires_at.replace(tzinfo=dt.UTC) == NOW + dt.timedelta(hours=24)
    rows = list(batches.results(session, SECRET, batch))
    assert [r["row"] for r in rows] == list(range(2, 27))
    assert rows[1]["code"] == identifiers.mask_ric(RIC)
    # a valid code keeps its keyed hash (a certificate of it can be issued), never the code
    assert rows[1]["subject"] == {"kind": "ric", "hash": lookup_hash(KEY, RIC)}
    assert rows[0]["subject"] is None
    assert rows[0]["matches"][0] | {"reasons": None} == {
        "public_id": "E1", "jurisdiction": "jiamusi", "subject_kind": "organisation",
        "name": "甲公司", "code": "912308…", "listed_on": "2026-12-06", "ground_code": "J1",
        "ground": {"zh_CN": "未登记", "en": "未登记"},
        "term_last_day": "2026-12-06", "leaves_list_on": "2026-12-06", "how": "name",
        "score": 0.91, "reasons": None, "public": True}
    stored = b"".join(session.execute(sa.select(ScreeningChunk.results)).scalars())
    assert RIC.encode() not in stored and "甲".encode() not in stored
    assert batches.progress(batch).as_json() == {"status": "done", "total": 25, "processed": 25,
                                                 "matched": 9, "invalid": 0, "percent": 100}


def test_a_leased_batch_waits_for_its_host_and_a_dead_hosts_lease_passes(app, session):
    queue(session, 30)
    calls = []
    assert batches.run_once(session, SECRET, KEY, "host-a", NOW, TODAY, chunk=10,
                            screen=fake_screen(calls)) == 10
    # host b finds the batch leased to a
    assert batches.run_once(session, SECRET, KEY, "host-b", NOW + dt.timedelta(seconds=5), TODAY,
                            chunk=10, screen=fake_screen(calls)) == 0
    # a died: after the lease, b goes on from where a stopped
    later = NOW + batches.LEASE + dt.timedelta(seconds=1)
    assert batches.run_once(session, SECRET, KEY, "host-b", later, TODAY, chunk=10,
                            screen=fake_screen(calls)) == 10
    assert [c[0][0] for c in calls] == [2, 12]


def test_a_chunk_whose_lease_was_taken_meanwhile_is_not_stored_twice(app, session):
    from portal.extensions import db

    batch, _token = queue(session, 20)
    calls = []

    def slow(session_, records, **kw):
        # while host a screens, its lease runs out: host b takes it, screens the same rows
        # and commits them first
        out = fake_screen(calls)(session_, records, **kw)
        with db.engine.begin() as other:
            other.execute(sa.update(ScreeningBatch).values(leased_by="host-b", processed=10))
            other.execute(sa.insert(ScreeningChunk).values(
                batch_id=batch.id, start=0, count=10, results=batches.seal(SECRET, [])))
        return out

    assert batches.run_once(session, SECRET, KEY, "host-a", NOW, TODAY, chunk=10, screen=slow) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(ScreeningChunk)) == 1
    session.expire_all()
    assert (batch.processed, batch.leased_by) == (10, "host-b")


def test_retention_deletes_the_batch_and_its_results(app, session):
    batch, token = queue(session, 3)
    batches.run_once(session, SECRET, KEY, "host-a", NOW, TODAY, screen=fake_screen([]))
    assert batches.sweep(session, NOW + dt.timedelta(hours=23)) == 0
    assert batches.by_token(session, token, NOW + dt.timedelta(hours=24)) is None
    assert batches.sweep(session, NOW + dt.timedelta(hours=24)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(ScreeningBatch)) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(ScreeningChunk)) == 0


def test_a_batch_sealed_under_another_secret_fails_instead_of_looping(app, session):
    batch, token = queue(session, 3)
    assert batches.run_once(session, "rotated", KEY, "host-a", NOW, TODAY,
                            screen=fake_screen([])) == 0
    session.expire_all()
    assert (batch.status, batch.failure, batch.rows) == (BatchStatus.FAILED, "unreadable", None)
    assert batches.run_once(session, "rotated", KEY, "host-a", NOW, TODAY,
                            screen=fake_screen([])) == 0


def test_unknown_and_overlong_tokens_find_nothing(app, session):
    queue(session, 1)
    assert batches.by_token(session, "nope", NOW) is None
    assert batches.by_token(session, "x" * 500, NOW) is None
    assert batches.by_token(session, "", NOW) is None


def test_combined_and_annotated_headers_name_their_columns():
    raw = f"序号,名称/姓名,统一社会信用代码或身份证号码（18位）\n1,张三,{RIC}\n2,,{RIC}\n".encode()
    assert files.read_records(raw, "a.csv") == [Record(2, "张三", RIC), Record(3, None, RIC)]


def test_the_worker_screens_a_file_and_then_gives_back_the_names_index(app, session):
    from portal.services import screening_index
    from portal.worker import Worker

    from portal import clock

    # the worker reads the bureau's clock: the file is queued now, not on the module's fixed day
    batch, _token = queue(session, 3, now=clock.now())
    worker = Worker(index=None, replica="host-a")
    assert worker.screen_files() == 3
    assert screening_index._cache            # built for the file
    assert worker.screen_files() == 0
    assert not screening_index._cache         # the queue is empty: the memory goes back
    session.expire_all()
    assert session.get(ScreeningBatch, batch.id).status is BatchStatus.DONE


def test_the_staff_report_importer_counts_a_workbook_before_opening_it_too():
    """The report importer reads XLSX through the same reader: a small workbook that
    unpacks to millions of cells is refused there as well, before it is opened."""
    from portal.rules.profiles import load_profile
    from portal.services.report_files import MAX_COLUMNS, read_rows
    from portal.services.report_format import report_format

    fmt = report_format(load_profile("jiamusi"))
    raw = _stuffed_xlsx(sheet_extra=b'<row r="3">' + b"<c><v>1</v></c>" * (
        (2000 + 10) * MAX_COLUMNS + 1) + b"</row>")
    with pytest.raises(FileProblem) as problem:
        read_rows(fmt, raw, "report.xlsx", max_rows=2000)
    assert problem.value.code == "too_many_cells"


def test_typed_lines_split_a_code_from_its_label_at_any_comma_or_tab():
    assert files.typed_lines("91110000100000000A，供应商甲\n\n  \nX1\t乙, 丙\n,只有标签") == [
        (1, "91110000100000000A", "供应商甲"), (4, "X1", "乙, 丙"), (5, "", "只有标签")]
    assert files.typed_lines(None) == []
