"""The one resident-ID detector: every shape a number can be written in, and what it leaves alone.

Property-based: hypothesis writes valid (and mistyped) ID numbers with separators, full-width
characters and glued letters or digits into random Chinese/ASCII text; the detector must find
each, and masking must leave none of it while keeping the rest of the text.
"""
import datetime as dt
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.rules import identifiers
from portal.rules.identifiers import (
    contains_ric_number,
    find_ric_numbers,
    generate_ric,
    generate_uscc,
    mask_ric_numbers,
)

#: The shapes that were published unmasked (issue 10), all of 110105198503071230.
MEASURED = ["110105 19850307 1230", "1101-0519-8503-0712-30", "P110105198503071230",
            "110105198503071230X"]
BIRTH = "19850307"


@pytest.mark.parametrize("shape", MEASURED)
def test_measured_shapes_are_found_and_masked(shape):
    text = f"经查，当事人（身份证号{shape}）骗取社会保险待遇。"
    assert contains_ric_number(text)
    masked = mask_ric_numbers(text)
    assert BIRTH not in squash(masked) and not contains_ric_number(masked)
    assert masked.startswith("经查，当事人（身份证号") and masked.endswith("）骗取社会保险待遇。")
    assert "1101**********1230" in masked


def test_full_width_number_ending_in_x():
    rid = generate_ric(random.Random(5), region="230803", birth=dt.date(1979, 1, 2))
    rid = rid[:17] + "X"                               # a mistyped or real X: masked either way
    full = "".join(chr(ord(c) + 0xFEE0) for c in rid)
    for written in (full, full[:-1] + "ｘ", rid.lower()):
        text = f"申诉人{written}。"
        assert find_ric_numbers(text) == [written]
        assert mask_ric_numbers(text) == f"申诉人{rid[:4]}**********{rid[14:]}。"


def test_separators_dots_full_width_and_zero_width():
    rid = "110105198503071230"
    for sep in (" ", "　", ".", "．", "・", "－", "—", "\u200b", " - ", "\n"):
        written = sep.join([rid[:6], rid[6:14], rid[14:]])
        assert find_ric_numbers(f"号码{written}止") == [written], repr(sep)


@pytest.mark.parametrize("plain", [
    "2026-09-28", "于2026年9月28日作出决定", "2026-09-28 0454-8888888", "联系电话0454-8888888",
    "电话 13812345678 13912345678", "2013-09-28 2026-10-28 2026-11-28", "2026.09.28 至 2026.10.28",
    "统一社会信用代码91230800MA1B2C3D4E", "案件编号JIA-2026-000123 2026-09-28",
    "文号佳人社失决〔2026〕10001号", "回执号S-2026-000012", "欠费金额123456789012.50元",
    "账号 622202123456789012345", "编号110101199913450011", "邮编154002 电话0454-8601234",
])
def test_ordinary_text_stays_intact(plain):
    assert find_ric_numbers(plain) == [] and mask_ric_numbers(plain) == plain


def test_valid_unified_social_credit_codes_stay_intact():
    rng = random.Random(11)
    for _ in range(300):
        uscc = generate_uscc(rng, region=rng.choice(["230800", "230803", "110105", "310101"]))
        text = f"统一社会信用代码：{uscc}，"
        assert mask_ric_numbers(text) == text, uscc


def test_all_digit_code_shaped_like_an_id_number():
    # A valid USCC whose digits also hold a province and a birth date: an organisation's
    # (no county 122308) - unless its last character is also the ID check digit.
    assert find_ric_numbers("代码122308201503101332") == []
    assert find_ric_numbers("代码122308201503101231") == ["122308201503101231"]
    # A wrong ID check digit on a real county stays an ID number even if the USCC check fits.
    assert find_ric_numbers("另一人230803198002292430") == ["230803198002292430"]


def test_none_and_empty():
    assert find_ric_numbers(None) == [] and mask_ric_numbers(None) == ""
    assert mask_ric_numbers("") == "" and not contains_ric_number(None)


# ----------------------------------------------------------------------------- properties

REGIONS = ["110105", "230803", "230822", "310101", "341702", "350102", "410102", "440113",
           "650102", "810000"]
SEPARATORS = [" ", "  ", "　", "-", "－", "‐", "—", ".", "．", "·", "・", " - ", "\t", "\u200b"]
CHINESE = "经查该单位拒不改正社会保险登记缴费职工参保待遇骗取法定代表人身份证号码，。；：（）、的了和"
ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:;,()/!?@#$%&*+=[]{}<> "
WIDE = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})
SQUASH = str.maketrans({**{chr(c + 0xFEE0): chr(c) for c in range(0x21, 0x7F)}, "x": "X", "ｘ": "X"})


def squash(text: str) -> str:
    """Half-width, upper-case X, without any separator: what a reader could piece together."""
    half = text.translate(SQUASH)
    return "".join(c for c in half if c.isalnum() or c == "*")


@st.composite
def id_numbers(draw) -> str:
    """A resident ID number: valid, or with a wrong check digit (a mistyped one)."""
    birth = draw(st.dates(dt.date(1900, 1, 1), dt.date(2026, 12, 31)))
    body = f"{draw(st.sampled_from(REGIONS))}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    check = identifiers._ric.calc_check_digit(body + "0")
    if draw(st.booleans()):
        check = draw(st.sampled_from([c for c in "0123456789X" if c != check]))
    return body + check


@st.composite
def written(draw, number: str) -> str:
    """``number`` as someone might write it: separators, full width, lower-case x."""
    out = []
    for i, char in enumerate(number):
        if char == "X" and draw(st.booleans()):
            char = "x"
        if draw(st.integers(0, 3)) == 0:
            char = char.translate(WIDE)
        if i and draw(st.integers(0, 4)) == 0:
            out.append(draw(st.sampled_from(SEPARATORS)))
        out.append(char)
    return "".join(out)


GLUE = st.sampled_from(["", "", "P", "ID", "x", "9", "01", "Ｘ", "号", "a"])
PROSE = st.text(alphabet=CHINESE + ASCII, max_size=40)
PROSE_WITH_DIGITS = st.text(alphabet=CHINESE + ASCII + "0123456789-. ", max_size=40)
BOUNDED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@BOUNDED
@given(data=st.data(), before=PROSE, after=PROSE)
def test_any_shape_in_prose_is_found_and_masked_the_rest_kept(data, before, after):
    number = data.draw(id_numbers())
    shape = data.draw(GLUE) + data.draw(written(number)) + data.draw(GLUE)
    text = f"{before}，{shape}。{after}"
    assert any(number in squash(found) for found in find_ric_numbers(text))
    masked = mask_ric_numbers(text)
    assert number not in squash(masked) and number[6:14] not in squash(masked)
    assert find_ric_numbers(masked) == [] and mask_ric_numbers(masked) == masked
    assert masked.startswith(f"{before}，") and masked.endswith(f"。{after}")


@BOUNDED
@given(data=st.data(), before=PROSE_WITH_DIGITS, after=PROSE_WITH_DIGITS)
def test_any_shape_among_digits_is_masked(data, before, after):
    number = data.draw(id_numbers())
    text = before + data.draw(written(number)) + after
    assert contains_ric_number(text)
    masked = mask_ric_numbers(text)
    assert number not in squash(masked) and not contains_ric_number(masked)


@BOUNDED
@given(text=PROSE_WITH_DIGITS)
def test_masking_changes_only_what_it_finds(text):
    masked = mask_ric_numbers(text)
    assert (masked == text) == (find_ric_numbers(text) == [])


@BOUNDED
@given(day=st.dates(dt.date(1950, 1, 1), dt.date(2099, 12, 31)),
       phone=st.from_regex(r"0[1-9][0-9]{2}-[2-8][0-9]{6}", fullmatch=True),
       mobile=st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
       case_no=st.integers(1, 999999), seed=st.integers(0, 2**32))
def test_dates_phones_case_numbers_and_codes_in_prose_stay(day, phone, mobile, case_no, seed):
    uscc = generate_uscc(random.Random(seed))
    text = (f"{day:%Y-%m-%d}，联系电话{phone}，手机{mobile}；案件编号JIA-{day.year}-{case_no:06d}，"
            f"{day:%Y.%m.%d}至{day:%Y年%m月%d日}，统一社会信用代码{uscc}。")
    assert mask_ric_numbers(text) == text
