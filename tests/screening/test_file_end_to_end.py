"""A file of 10,000 rows through /screen: queued, screened by the worker chunk by chunk with
the progress moving, and the result file right for the labelled set hidden inside it."""
import csv
import io
import random

import pytest
from openpyxl import Workbook, load_workbook

from portal import clock
from portal.extensions import db
from portal.services import screening, screening_batches
from tests.screening import evaluation

ROWS = 10_000
#: Characters no listed name in entries.csv uses together: filler rows match nothing.
FILLER = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"


def filler_name(rng: random.Random) -> str:
    return "".join(rng.choice(FILLER) for _ in range(6)) + "填充测试有限公司"


@pytest.fixture
def made(app, session, backend):
    if backend != "sqlite":
        pytest.skip("the file's path does not depend on the database: run once, on SQLite")
    return evaluation.publish_list(app, session)


def test_a_ten_thousand_row_file_is_screened_with_progress_and_right_results(app, client, made):
    queries = evaluation.load_queries()
    rng = random.Random(15)
    rows = [["名称", "统一社会信用代码/身份证号码"]]
    labelled_at = {}
    spacing = ROWS // len(queries)
    for i in range(ROWS):
        if i % spacing == 0 and i // spacing < len(queries):
            query = queries[i // spacing]
            labelled_at[i + 2] = query
            rows.append([query.name or None, evaluation.resolve_code(query.code, made)])
        else:
            rows.append([filler_name(rng), None])
    book = Workbook()
    for row in rows:
        book.active.append(row)
    raw = io.BytesIO()
    book.save(raw)
    answer = client.post("/screen", data={"file": (io.BytesIO(raw.getvalue()), "名单.xlsx")},
                         content_type="multipart/form-data")
    assert answer.status_code == 303
    address = answer.headers["Location"]
    assert client.get(address + "/progress").get_json()["total"] == ROWS

    seen = []
    while True:
        done = screening_batches.run_once(db.session, app.config["SECRET_KEY"],
                                          app.config["PORTAL_LOOKUP_KEY"], "host-a",
                                          clock.now(), evaluation.TODAY)
        if not done:
            break
        state = client.get(address + "/progress").get_json()
        seen.append(state["percent"])
        if state["status"] == "running":
            assert 'max="10000"' in client.get(address).get_data(as_text=True)   # the bar
    assert seen == sorted(seen) and seen[-1] == 100 and len(seen) == ROWS // screening_batches.CHUNK
    assert any(0 < p < 100 for p in seen)

    download = client.get(address + "/results.xlsx")
    sheet = load_workbook(io.BytesIO(download.data), read_only=True).active
    lines = list(sheet.iter_rows(values_only=True))
    header = lines[0]
    col = {name: header.index(name) for name in ("行号", "名单中的名称", "名单中的代码（脱敏）",
                                                 "匹配方式")}
    found: dict[int, set] = {}
    for line in lines[1:]:
        if line[col["名单中的名称"]]:
            found.setdefault(int(line[col["行号"]]), set()).add(
                (line[col["名单中的名称"]], line[col["名单中的代码（脱敏）"]] or ""))
    # filler rows match nothing; each labelled row lists exactly what the engine finds for it
    assert set(found) <= set(labelled_at)
    direct = evaluation.run(db.session, made, queries, screening.DEFAULT_THRESHOLD)
    key_of = {}
    for row, query in labelled_at.items():
        result = direct[queries.index(query)]
        expected = {(m.name, m.masked_code) for m in result.matches}
        assert found.get(row, set()) == expected, (row, query)
        for m in result.matches:
            key_of[(m.name, m.masked_code)] = next(k for k, (_s, pid) in made.items()
                                                   if pid == m.public_id)
    # precision and recall read back from the file
    tp = fp = fn = 0
    for row, query in labelled_at.items():
        keys = {key_of[pair] for pair in found.get(row, set())}
        tp += len(keys & query.expected)
        fp += len(keys - query.expected)
        fn += len(query.expected - keys)
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\n10,000-row file: precision {precision:.3f}, recall {recall:.3f} "
          f"(tp {tp}, fp {fp}, fn {fn})")
    from tests.screening.test_eval_set import PRECISION_FLOOR, RECALL_FLOOR
    assert precision >= PRECISION_FLOOR and recall >= RECALL_FLOOR
    # the CSV says the same, with a BOM
    text = client.get(address + "/results.csv").data
    assert text.startswith(b"\xef\xbb\xbf")
    assert len(list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))) == len(lines)
