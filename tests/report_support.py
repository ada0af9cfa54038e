"""Report files for the import tests: CSV and XLSX built in the test, valid identifiers."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random

from openpyxl import Workbook

from portal.rules import identifiers

SHANGHAI_HEADER = [
    "失信信息产生的事由", "失信信息产生的日期", "文书编号", "失信主体名称或姓名",
    "统一社会信用代码(或组织机构代码)，或身份证号码",           # half-width brackets: tolerated
    " 法定代表人或主要负责人姓名（失信主体为单位的） ", "法定代表人或主要负责人身份证号码（失信主体为单位的）",
    "其他需要报送的信息内容", "失信情形代码", "涉及金额（元）",
]
ZHENGZHOU_HEADER = [
    "序号", "单位名称", "组织机构代码", "工商注册号", "法定代表人（负责人）姓名",
    "法定代表人(负责人)身份证号", "参保职工数", "欠费月数及金额", "违法情况", "催缴情况", "备注",
]


def ids(seed: int = 7) -> dict:
    rng = random.Random(seed)
    return {
        "uscc": [identifiers.generate_uscc(rng, "310100") for _ in range(4)],
        "ric": [identifiers.generate_ric(rng, "310101", dt.date(1970 + i, 3, 9)) for i in range(4)],
        "org": [identifiers.generate_org_code(rng) for _ in range(4)],
        "reg": [identifiers.generate_reg_no(rng, "410100") for _ in range(4)],
    }


def bad_check(code: str) -> str:
    """The same number with another check character."""
    alphabet = "0123456789X" if code[-1] in "0123456789X" and len(code) != 18 else "0123456789"
    return code[:-1] + next(c for c in alphabet if c != code[-1])


def shanghai_rows(n: dict) -> list[list]:
    return [
        ["以欺诈、伪造证明材料骗取社会保险基金", "2026-03-05", "沪人社监罚〔2026〕12号", "上海测试机械有限公司",
         n["uscc"][0], "张伟", n["ric"][0], "", "S8", "¥35,000.00"],
        ["冒领养老金", "2026年3月6日", "沪人社监罚〔2026〕13号", "李秀英", n["ric"][1], "", "", "退还中", "S9", "3.5万元"],
    ]


def csv_bytes(header: list, rows: list[list], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(header: list, rows: list[list], title: str | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def zhengzhou_rows(n: dict) -> list[list]:
    return [
        [1, "郑州测试建筑有限公司", n["org"][0], n["reg"][0], "王建国", n["ric"][2], 35,
         "40个月，¥535,000.00", "欠缴社会保险费", "已两次书面催缴", ""],
        [2, "郑州测试物流有限公司", n["uscc"][1], "", "赵丽", n["ric"][3], "120",
         "38个月 52.5万元", "长期欠缴", "已催缴", "恶意欠费"],
    ]
