"""Identifiers of listed parties: validation, detection, masking, demo generation.

SPEC §2.  Four kinds:

* ``uscc`` — 统一社会信用代码, 18 chars, GB 32100 check character (``stdnum.cn.uscc``);
* ``ric`` — 居民身份证号码, 18 chars, GB 11643 check digit (``stdnum.cn.ric``);
* ``org_code`` — legacy 组织机构代码, 8 + 1 chars, GB 11714 check character;
* ``reg_no`` — legacy 工商注册号, 15 digits, ISO 7064 MOD 11,10 check digit
  (GB/T 17710; ``stdnum.iso7064.mod_11_10``).

Public pages never show a full resident ID number (PIPL arts. 28, 51;
GB/T 35273 §7.2): see :func:`mask_identifier`.  Pure Python, no Flask.
"""
from __future__ import annotations

import random
import re
from datetime import date, timedelta

from stdnum import numdb
from stdnum.cn import ric as _ric
from stdnum.cn import uscc as _uscc
from stdnum.iso7064 import mod_11_10

__all__ = [
    "InvalidIdentifier",
    "normalise",
    "validate_uscc",
    "validate_ric",
    "validate_org_code",
    "validate_reg_no",
    "org_code_from_uscc",
    "detect",
    "mask_ric",
    "mask_uscc",
    "mask_name",
    "mask_identifier",
    "generate_uscc",
    "generate_ric",
    "generate_org_code",
    "generate_reg_no",
]

KINDS = ("uscc", "ric", "org_code", "reg_no")
_KIND_NAMES = {
    "uscc": "unified social credit code",
    "ric": "resident ID number",
    "org_code": "organisation code",
    "reg_no": "business registration number",
}
_REASON_TEXT = {
    "length": "has the wrong length",
    "format": "contains characters not allowed at their position",
    "checksum": "has a wrong check character",
    "birth_date": "contains an impossible birth date",
    "region": "contains an unknown administrative region code",
}


class InvalidIdentifier(ValueError):
    """An identifier failed validation; ``kind`` + ``reason`` are machine-readable."""

    def __init__(self, kind: str, reason: str, message: str | None = None) -> None:
        self.kind = kind
        self.reason = reason
        super().__init__(
            message or f"The {_KIND_NAMES.get(kind, kind)} {_REASON_TEXT.get(reason, 'is invalid')}."
        )


# --------------------------------------------------------------------------
# Normalisation
# --------------------------------------------------------------------------

# Full-width ASCII (U+FF01..U+FF5E) to half-width; ideographic space to space.
_FULL_TO_HALF = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_FULL_TO_HALF[0x3000] = 0x20
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc]+")


def normalise(value: str) -> str:
    """Strip spaces and dashes, full-width to half-width, upper-case."""
    return _SEPARATORS.sub("", str(value).translate(_FULL_TO_HALF)).upper()


def _prepare(value: object, kind: str, length: int) -> str:
    if not isinstance(value, str):
        raise InvalidIdentifier(kind, "format")
    number = normalise(value)
    if len(number) != length:
        raise InvalidIdentifier(kind, "length")
    return number


# --------------------------------------------------------------------------
# USCC — GB 32100
# --------------------------------------------------------------------------

_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z
# 登记管理部门码: 1–9, A (中央军委改革和编制办公室), N (农业), Y (其他).
# stdnum requires the first 8 characters to be digits and would reject N/Y/A codes.
_USCC_AUTHORITIES = "123456789ANY"


def validate_uscc(value: str) -> str:
    """Validate a unified social credit code; return it normalised."""
    number = _prepare(value, "uscc", 18)
    if (
        number[0] not in _USCC_AUTHORITIES
        or not number[1:8].isdigit()
        or not number[1:8].isascii()
        or any(c not in _USCC_ALPHABET for c in number[8:])
    ):
        raise InvalidIdentifier("uscc", "format")
    if number[-1] != _uscc.calc_check_digit(number[:17]):
        raise InvalidIdentifier("uscc", "checksum")
    return number


def org_code_from_uscc(uscc: str) -> str:
    """The legacy organisation code embedded in a USCC (characters 9–17)."""
    return validate_uscc(uscc)[8:17]


# --------------------------------------------------------------------------
# Resident ID — GB 11643
# --------------------------------------------------------------------------

_EARLIEST_BIRTH = date(1900, 1, 1)


def _known_region(code: str) -> bool:
    """True if the 6-digit address code was ever assigned (any year).

    stdnum's ``get_birth_place`` also requires the code to exist in the
    *birth* year; but the code is the one in force when the number was
    issued, so people born before their district was created (e.g. Jiamusi
    向阳区 230803, created 1983) would be rejected.  It also raises KeyError
    for an unknown county inside a known province.
    """
    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(code):
        info.update(props)
    return "county" in info


def validate_ric(value: str, *, today: date | None = None) -> str:
    """Validate an 18-character resident ID number (check digit, birth date, region).

    ``today``: the bureau's day; a birth date after it is refused.  Without it
    only the date itself (a real day, not before 1900) is checked.
    """
    number = _prepare(value, "ric", 18)
    if not (number[:17].isdigit() and number[:17].isascii()) or number[17] not in "0123456789X":
        raise InvalidIdentifier("ric", "format")
    if number[17] != _ric.calc_check_digit(number):
        raise InvalidIdentifier("ric", "checksum")
    try:
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdentifier("ric", "birth_date") from None
    if birth < _EARLIEST_BIRTH or (today is not None and birth > today):
        raise InvalidIdentifier("ric", "birth_date")
    if not _known_region(number[:6]):
        raise InvalidIdentifier("ric", "region")
    return number


# --------------------------------------------------------------------------
# Legacy organisation code — GB 11714
# --------------------------------------------------------------------------

_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY = re.compile(r"[0-9A-Z]{8}")


def _org_check_char(body: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def validate_org_code(value: str) -> str:
    """Validate a 组织机构代码 ("XXXXXXXX-X" accepted); return 9 chars without the dash."""
    number = _prepare(value, "org_code", 9)
    if not _ORG_BODY.fullmatch(number[:8]) or number[8] not in "0123456789X":
        raise InvalidIdentifier("org_code", "format")
    if number[8] != _org_check_char(number[:8]):
        raise InvalidIdentifier("org_code", "checksum")
    return number


# --------------------------------------------------------------------------
# Legacy business registration number — ISO 7064 MOD 11,10
# --------------------------------------------------------------------------

def validate_reg_no(value: str) -> str:
    """Validate a 15-digit 工商注册号 with its MOD 11,10 check digit."""
    number = _prepare(value, "reg_no", 15)
    if not (number.isdigit() and number.isascii()):
        raise InvalidIdentifier("reg_no", "format")
    if mod_11_10.checksum(number) != 1:
        raise InvalidIdentifier("reg_no", "checksum")
    return number


# --------------------------------------------------------------------------
# Detection and masking
# --------------------------------------------------------------------------

_VALIDATORS = {
    9: (("org_code", validate_org_code),),
    15: (("reg_no", validate_reg_no),),
    # A resident ID that also passes the USCC check (≈1 in 31 all-digit
    # numbers would) is a person's number: "ric" first, so it gets masked.
    18: (("ric", validate_ric), ("uscc", validate_uscc)),
}


def detect(value: str) -> str | None:
    """"uscc" | "ric" | "org_code" | "reg_no" for a valid identifier, else None."""
    if not isinstance(value, str):
        return None
    for kind, validator in _VALIDATORS.get(len(normalise(value)), ()):
        try:
            validator(value)
        except InvalidIdentifier:
            continue
        return kind
    return None


def _mask(number: str, head: int, tail: int, stars: int) -> str:
    if len(number) != head + stars + tail:
        # Unknown shape: reveal nothing that could be a birth date.
        return "*" * max(len(number), 1)
    return number[:head] + "*" * stars + number[len(number) - tail:]


def mask_ric(value: str) -> str:
    """First 4 + 10 '*' + last 4 (1101**********002X); the birth date never shows."""
    number = normalise(value)
    if len(number) == 15:  # first-generation number: YYMMDD at 6..11
        return number[:4] + "*" * 11
    return _mask(number, 4, 4, 10)


def mask_uscc(value: str) -> str:
    """First 6 + 8 '*' + last 4, for profiles that forbid publishing a code."""
    return _mask(normalise(value), 6, 4, 8)


# Compound surnames (复姓) keep both characters: 欧阳娜娜 -> 欧阳**.
_COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 上官 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 轩辕 端木 独孤"
    " 南宫 西门 百里 呼延 万俟 澹台 公冶 太史 申屠 闻人 赫连 濮阳 钟离 宗政 拓跋 第五 左丘"
    " 东郭 鲜于 闾丘 司空 亓官 仲孙 单于 公羊 谷梁 乐正 壤驷 漆雕 颛孙 子车 巫马 公西 梁丘"
    " 羊舌 微生 段干 东门 司寇 太叔 淳于 纳兰".split()
)


def mask_name(name: str) -> str:
    """Keep the surname, star the rest: 张三 -> 张*, 张三丰 -> 张**, 欧阳娜娜 -> 欧阳**."""
    name = name.strip()
    if len(name) <= 1:
        return "*" * len(name)
    keep = 2 if len(name) > 2 and name[:2] in _COMPOUND_SURNAMES else 1
    return name[:keep] + "*" * (len(name) - keep)


def mask_identifier(value: str) -> str:
    """Mask a resident ID; organisation identifiers (public) are returned unchanged.

    Anything that is not a *valid* organisation identifier is masked like a
    resident ID, so a mistyped ID number is never shown in full.
    """
    if detect(value) in ("uscc", "org_code", "reg_no"):
        return value
    return mask_ric(value)


# --------------------------------------------------------------------------
# ID numbers inside free text (facts, reasons, remarks)
# --------------------------------------------------------------------------

_RIC_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])[1-9][0-9]{16}[0-9Xx](?![0-9A-Za-z])")


def _plausible_ric(number: str) -> bool:
    """A real birth date from 1900 on: a resident ID, even if its check digit is mistyped.

    No upper bound: the detector errs on the side of masking (and stays a pure
    function of the text).
    """
    return plausible_birth_date(number)


def plausible_birth_date(number: str) -> bool:
    """Digits 7–14 of an 18-character number form a real date from 1900 on."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return born >= _EARLIEST_BIRTH


def find_ric_numbers(text: str | None) -> list[str]:
    """The resident ID numbers written in ``text`` (full-width digits too), as written.

    A number counts when it has the shape of an 18-character ID with a real birth
    date: a mistyped check digit must not let a person's number through either.
    """
    if not text:
        return []
    half = text.translate(_FULL_TO_HALF)
    return [text[m.start():m.end()] for m in _RIC_IN_TEXT.finditer(half)
            if _plausible_ric(m.group())]


def mask_ric_numbers(text: str | None) -> str:
    """``text`` with every resident ID number in it masked (1101**********002X)."""
    if not text:
        return text or ""
    half = text.translate(_FULL_TO_HALF)
    out, last = [], 0
    for m in _RIC_IN_TEXT.finditer(half):
        if _plausible_ric(m.group()):
            out += [text[last:m.start()], mask_ric(m.group())]
            last = m.end()
    return "".join(out) + text[last:]


# --------------------------------------------------------------------------
# Generators for demo data and tests
# --------------------------------------------------------------------------

_DIGITS = "0123456789"
_ORG_LETTERS = "".join(c for c in _USCC_ALPHABET if c.isalpha() and c != "X")
# 登记管理部门码 + 机构类别码: companies, sole traders, cooperatives, 事业单位, 社会团体.
_USCC_PREFIXES = ("91", "91", "91", "91", "92", "93", "12", "52")


def generate_org_code(rng: random.Random) -> str:
    """A valid 9-character organisation code (new-style "MA…" or all digits)."""
    if rng.random() < 0.5:
        body = "MA" + "".join(rng.choice(_DIGITS + _ORG_LETTERS) for _ in range(6))
    else:
        body = "".join(rng.choice(_DIGITS) for _ in range(8))
    return body + _org_check_char(body)


def generate_uscc(rng: random.Random, region: str = "230800") -> str:
    """A valid USCC registered in ``region``, its org-code part valid too."""
    body = rng.choice(_USCC_PREFIXES) + region + generate_org_code(rng)
    return body + _uscc.calc_check_digit(body)


def generate_ric(
    rng: random.Random, region: str = "230803", birth: date | None = None
) -> str:
    """A valid resident ID number (default region: Jiamusi 向阳区; random birth 1960–2000)."""
    if birth is None:
        birth = date(1960, 1, 1) + timedelta(days=rng.randrange(41 * 365))
    body = f"{region}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    return body + _ric.calc_check_digit(body + "0")


def generate_reg_no(rng: random.Random, region: str = "230800") -> str:
    """A valid 15-digit business registration number."""
    body = region + "".join(rng.choice(_DIGITS) for _ in range(8))
    return body + mod_11_10.calc_check_digit(body)
