"""Identifiers: SPEC §2 (check characters, masking of persons' ID numbers)."""
from __future__ import annotations

import random
import re
from datetime import date

import pytest
from stdnum.cn import ric as stdnum_ric
from stdnum.cn import uscc as stdnum_uscc

from portal.rules.identifiers import (
    InvalidIdentifier,
    detect,
    generate_org_code,
    generate_reg_no,
    generate_ric,
    generate_uscc,
    mask_email,
    mask_identifier,
    mask_name,
    mask_ric,
    mask_uscc,
    normalise,
    org_code_from_uscc,
    validate_org_code,
    validate_reg_no,
    validate_ric,
    validate_uscc,
)

# Published examples from the python-stdnum documentation and doctests.
KNOWN_USCC = [
    "91110000600037341L",
    "121200004013590816",
    "91310115MA1K3BTP2B",
    "9144030071526726XG",
    "92340603MA2UJXYJ3P",
    "91620105L015101280",
]
KNOWN_RIC = ["360426199101010071", "44011320141005001X", "110102199101010078"]


def _reason(validator, value) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        validator(value)
    return info.value.reason


def _with_ric_check(body17: str) -> str:
    return body17 + stdnum_ric.calc_check_digit(body17 + "0")


def _with_uscc_check(body17: str) -> str:
    return body17 + stdnum_uscc.calc_check_digit(body17)


# -- normalise / exception -------------------------------------------------

def test_normalise():
    assert normalise(" ９１１１００００ - ６０００３７３４１ｌ ") == "91110000600037341L"
    assert normalise("60003734－1") == "600037341"
    assert normalise("44011320141005001x") == "44011320141005001X"
    assert normalise("1101\u3000 0119") == "11010119"


def test_invalid_identifier_is_a_value_error_with_kind_and_reason():
    with pytest.raises(ValueError) as info:
        validate_uscc("12345")
    error = info.value
    assert isinstance(error, InvalidIdentifier)
    assert (error.kind, error.reason) == ("uscc", "length")
    assert "unified social credit code" in str(error)


# -- USCC ------------------------------------------------------------------

@pytest.mark.parametrize("number", KNOWN_USCC)
def test_known_uscc_valid(number):
    assert validate_uscc(number) == number


def test_uscc_full_width_spaces_and_lower_case():
    assert validate_uscc("９１ １１００００ ６０００３７３４１Ｌ") == "91110000600037341L"
    assert validate_uscc("91310115ma1k3btp2b") == "91310115MA1K3BTP2B"


def test_uscc_rejections():
    assert _reason(validate_uscc, "91110000600037341N") == "checksum"
    assert _reason(validate_uscc, "12345") == "length"
    assert _reason(validate_uscc, "91110000600037341LX") == "length"
    assert _reason(validate_uscc, "9111000060003IOZSV") == "format"
    assert _reason(validate_uscc, _with_uscc_check("B1110000600037341")) == "format"
    assert _reason(validate_uscc, None) == "format"


def test_uscc_authority_codes_n_and_y_are_accepted():
    # stdnum wants 8 leading digits, but GB 32100 also has N (农业) and Y (其他).
    for prefix in ("N2", "Y1"):
        number = _with_uscc_check(prefix + "230800MA1K3BTP2")
        assert validate_uscc(number) == number


def test_org_code_from_uscc():
    assert org_code_from_uscc("91110000600037341L") == "600037341"
    assert validate_org_code(org_code_from_uscc("91110000600037341L")) == "600037341"
    with pytest.raises(InvalidIdentifier):
        org_code_from_uscc("91110000600037341N")


# -- resident ID -----------------------------------------------------------

@pytest.mark.parametrize("number", KNOWN_RIC)
def test_known_ric_valid(number):
    assert validate_ric(number) == number


def test_ric_lower_case_x_and_full_width():
    assert validate_ric("44011320141005001x") == "44011320141005001X"
    assert validate_ric("３６０４２６ １９９１０１０１ ００７１") == "360426199101010071"


def test_ric_rejections():
    assert _reason(validate_ric, "36042619910102009X") == "checksum"
    assert _reason(validate_ric, "360426199101010072") == "checksum"
    assert _reason(validate_ric, "36042619910101007") == "length"
    assert _reason(validate_ric, "360426910101007") == "length"  # first-generation, 15 digits
    assert _reason(validate_ric, "T60426199101010078") == "format"
    assert _reason(validate_ric, "3604261991010100A1") == "format"


@pytest.mark.parametrize(
    "birth", ["19900230", "19901301", "19900001", "20230229", "29990101", "18991231"]
)
def test_ric_impossible_birth_dates(birth):
    number = _with_ric_check("360426" + birth + "007")
    assert _reason(lambda v: validate_ric(v, today=date(2026, 1, 1)), number) == "birth_date"


def test_ric_birth_date_after_today_is_rejected():
    number = _with_ric_check("360426" + "20260102" + "007")
    assert validate_ric(number, today=date(2026, 1, 2)) == number
    assert _reason(lambda v: validate_ric(v, today=date(2026, 1, 1)), number) == "birth_date"


def test_ric_unknown_region():
    assert _reason(validate_ric, "990426199112010074") == "region"
    # known province, unknown county: stdnum itself raises KeyError here
    assert _reason(validate_ric, _with_ric_check("11999919910101007")) == "region"


def test_ric_region_not_tied_to_birth_year():
    # 向阳区 (230803) was created in 1983; a person born in 1960 holds a
    # number issued later with that code.  stdnum rejects it, we accept it.
    number = _with_ric_check("23080319600505001")
    assert not stdnum_ric.is_valid(number)
    assert validate_ric(number) == number


# -- organisation code -----------------------------------------------------

def test_org_code_valid_forms():
    assert validate_org_code("60003734-1") == "600037341"
    assert validate_org_code("600037341") == "600037341"
    assert validate_org_code("６０００３７３４－１") == "600037341"
    assert validate_org_code("ma1k3btp-2") == "MA1K3BTP2"


def test_org_code_check_character_x_and_zero():
    # weights 3,7,9,10,5,8,4,2: 00000001 -> sum 2 -> 11-2 = 9
    assert validate_org_code("000000019") == "000000019"
    # 00000005 -> sum 10 -> 11-10 = 1; 00000000 -> sum 0 -> 11 -> '0'
    assert validate_org_code("000000051") == "000000051"
    assert validate_org_code("000000000") == "000000000"
    # check value 10 is written 'X': the first body whose weighted sum % 11 == 1
    body = next(f"{i:08d}" for i in range(1000) if sum(
        int(c) * w for c, w in zip(f"{i:08d}", (3, 7, 9, 10, 5, 8, 4, 2))) % 11 == 1)
    assert validate_org_code(body + "X") == body + "X"
    assert _reason(validate_org_code, body + "0") == "checksum"


def test_org_code_rejections():
    assert _reason(validate_org_code, "600037342") == "checksum"
    assert _reason(validate_org_code, "60003734") == "length"
    assert _reason(validate_org_code, "6000373411") == "length"
    assert _reason(validate_org_code, "6000373#1") == "format"
    assert _reason(validate_org_code, "60003734Y") == "format"


# -- registration number ---------------------------------------------------

def _mod_11_10_reference(body: str) -> str:
    """ISO 7064 MOD 11,10 written from the standard, to cross-check stdnum."""
    product = 10
    for digit in body:
        total = (product + int(digit)) % 10 or 10
        product = (2 * total) % 11
    return str((11 - product) % 10)


def test_reg_no_generated_number_and_reference_check_digit():
    body = "23080000001234"
    number = body + _mod_11_10_reference(body)
    assert validate_reg_no(number) == number
    rng = random.Random(7)
    for _ in range(200):
        generated = generate_reg_no(rng)
        assert generated[-1] == _mod_11_10_reference(generated[:-1])


def test_reg_no_rejections():
    body = "23080000001234"
    good = body + _mod_11_10_reference(body)
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert _reason(validate_reg_no, bad) == "checksum"
    assert _reason(validate_reg_no, good[:-1]) == "length"
    assert _reason(validate_reg_no, good[:-1] + "X") == "format"


# -- generators ------------------------------------------------------------

def test_generators_produce_valid_numbers():
    rng = random.Random(20260928)
    for _ in range(1000):
        uscc = generate_uscc(rng)
        assert validate_uscc(uscc) == uscc
        assert uscc[2:8] == "230800"
        assert validate_org_code(org_code_from_uscc(uscc))
        birth = date.fromordinal(
            rng.randint(date(1950, 1, 1).toordinal(), date(2008, 12, 31).toordinal())
        )
        ric = generate_ric(rng, birth=birth)
        assert validate_ric(ric) == ric
        assert stdnum_ric.get_birth_date(ric) == birth
        org = generate_org_code(rng)
        assert validate_org_code(org) == org
        reg = generate_reg_no(rng)
        assert validate_reg_no(reg) == reg


def test_generators_are_deterministic():
    assert generate_uscc(random.Random(1)) == generate_uscc(random.Random(1))
    assert generate_ric(random.Random(1)) == generate_ric(random.Random(1))


def test_generate_ric_region_and_default_birth():
    ric = generate_ric(random.Random(3), region="110101")
    assert ric.startswith("110101")
    assert validate_ric(ric) == ric


# -- detection -------------------------------------------------------------

def test_detect_each_kind():
    assert detect("91110000600037341L") == "uscc"
    assert detect("360426199101010071") == "ric"
    assert detect("44011320141005001x") == "ric"
    assert detect("60003734-1") == "org_code"
    body = "23080000001234"
    assert detect(body + _mod_11_10_reference(body)) == "reg_no"


@pytest.mark.parametrize(
    "value", ["", "hello", "91110000600037341N", "360426199101010072", "600037342", None]
)
def test_detect_none(value):
    assert detect(value) is None


def test_detect_prefers_ric_for_generated_ids():
    rng = random.Random(11)
    assert all(detect(generate_ric(rng)) == "ric" for _ in range(500))


# -- masking ---------------------------------------------------------------

def test_mask_ric():
    assert mask_ric("11010519491231002X") == "1101**********002X"
    assert mask_ric("44011320141005001x") == "4401**********001X"
    assert mask_ric("360426910101007") == "3604***********"  # first generation


def test_masks_never_reveal_birth_dates():
    rng = random.Random(5)
    for _ in range(1000):
        ric = generate_ric(rng)
        birth = ric[6:14]
        for masked in (mask_ric(ric), mask_identifier(ric), mask_ric(ric.lower())):
            assert birth not in masked
            assert birth[2:] not in masked
            assert len(masked) == 18
            assert not re.search(r"\d{5,}", masked)


def test_mask_identifier_dispatch():
    assert mask_identifier("91110000600037341L") == "91110000600037341L"
    assert mask_identifier("600037341") == "600037341"
    assert mask_identifier("360426199101010071") == "3604**********0071"
    # a mistyped (invalid) ID number is masked too, never shown in full
    assert mask_identifier("360426199101010072") == "3604**********0072"
    assert "19910101" not in mask_identifier("36042619910101")


def test_mask_uscc():
    assert mask_uscc("91110000600037341L") == "911100********341L"
    assert mask_uscc("91110000600037341l") == "911100********341L"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张三丰", "张**"),
        ("欧阳娜娜", "欧阳**"),
        ("欧阳明", "欧阳*"),
        ("司马", "司*"),
        (" 李四 ", "李*"),
        ("王", "*"),
        ("", ""),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_id_numbers_are_found_and_masked_inside_free_text():
    import random
    from datetime import date

    from portal.rules.identifiers import find_ric_numbers, generate_ric, mask_ric_numbers

    rid = generate_ric(random.Random(3), birth=date(1980, 2, 29))
    wrong_check = rid[:17] + ("0" if rid[17] != "0" else "1")
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in rid)
    text = f"法定代表人身份证号{rid}，另一人{wrong_check}；全角{full_width}。"
    assert find_ric_numbers(text) == [rid, wrong_check, full_width]
    masked = mask_ric_numbers(text)
    assert rid not in masked and wrong_check not in masked and full_width not in masked
    assert masked.count(rid[:4] + "*" * 10) == 3 and masked.startswith("法定代表人身份证号")
    # amounts, codes and numbers without a real birth date stay as they are
    for plain in ("欠费金额123456789012.50元", "统一社会信用代码91230800MA1B2C3D4E",
                  "账号 622202123456789012345", "编号110101199913450011"):
        assert find_ric_numbers(plain) == [] and mask_ric_numbers(plain) == plain
    assert find_ric_numbers(None) == [] and mask_ric_numbers(None) == ""


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("zhang.san@example.com", "z***@example.com"),
        ("z@example.com", "z***@example.com"),
        ("110105198503071230@qq.com", "1***@qq.com"),       # an ID number as the local part
        ("x@110105198503071230.cn", "x***@1101**********1230.cn"),
        ("no-at-sign", "n***"),
        ("", "***"),
        (None, "***"),
    ],
)
def test_mask_email(address, masked):
    assert mask_email(address) == masked

