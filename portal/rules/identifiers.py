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
    "looks_like_ric",
    "ric_spans",
    "find_ric_numbers",
    "contains_ric_number",
    "mask_ric_numbers",
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


def mask_email(address: str | None) -> str:
    """Keep the first character and the domain: zhang.san@example.com -> z***@example.com
    (an address whose local part is an ID number shows none of it)."""
    local, at, domain = (address or "").strip().partition("@")
    if not local:
        return "***" + at + mask_ric_numbers(domain)
    return local[0] + "***" + at + mask_ric_numbers(domain)


def mask_identifier(value: str) -> str:
    """Mask a resident ID; organisation identifiers (public) are returned unchanged.

    Anything that is not a *valid* organisation identifier is masked like a
    resident ID, so a mistyped ID number is never shown in full.
    """
    if detect(value) in ("uscc", "org_code", "reg_no"):
        return value
    return mask_ric(value)


# --------------------------------------------------------------------------
# ID numbers inside free text (facts, reasons, remarks, e-mails, log lines)
# --------------------------------------------------------------------------
# The one detector of the portal: every path that publishes, e-mails, logs or
# accepts free text asks it.  A number counts as written in any of these ways:
#   * separators between any two characters: spaces (also U+3000 and zero-width
#     ones), hyphens and dashes, dots (up to three in a row): 110105 19850307 1230,
#     1101-0519-8503-0712-30, 1101.0519.8503.0712.30;
#   * full-width digits and check letter (１１０１…１２３Ｘ), lower-case x;
#   * glued to letters or digits before or after it: P110105198503071230,
#     110105198503071230X, 9110105198503071230;
#   * with a wrong check digit: a real birth date (1900-2099) and a province code
#     are enough, so a mistyped number is masked too.
# What stays: dates, phone numbers, case and document numbers (too short or no
# province + birth date at their place) and unified social credit codes (letters,
# or a valid USCC check character on a number whose ID check digit is wrong and
# whose first six digits are no county).

_LATEST_BIRTH_YEAR = 2099
# 省级行政区划代码 (GB/T 2260): the first two digits of every resident ID number
# (81-83: residence permits of Hong Kong, Macao and Taiwan residents).
_PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54"
    " 61 62 63 64 65 71 81 82 83".split()
)
# Separators allowed between two characters of a number, after full-width to half-width.
_SEP_CHARS = (r"\s\u200b-\u200d\u2060\ufeff"             # spaces, zero-width spaces
              r"\-\u2010-\u2015\u2212\u30fc\ufe63"       # hyphens and dashes
              r".\u00b7\u2027\u2219\u30fb\uff65")          # dots
_CHAIN = re.compile(rf"[0-9X](?:[{_SEP_CHARS}]{{0,3}}[0-9X])*")
# Full-width to half-width and x to X: one character for one, so positions stay.
_DETECT_TABLE = {**_FULL_TO_HALF, ord("x"): "X", 0xFF58: "X"}
# A run of dates only (2013-09-28 2026-10-28 2026-11-28) is never an ID number.
_DATE = r"(?:19|20)[0-9]{2}[-./][0-9]{1,2}[-./][0-9]{1,2}"
_DATES_ONLY = re.compile(rf"{_DATE}(?:[{_SEP_CHARS}]{{1,3}}{_DATE})+")
# Cheap pre-check (any Unicode digits): at least 17 digits close together.
_MAYBE = re.compile(r"(?:\d\D{0,3}){17}")


def plausible_birth_date(number: str) -> bool:
    """Digits 7-14 of an 18-character number form a real date from 1900 to 2099."""
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    return _EARLIEST_BIRTH <= born and born.year <= _LATEST_BIRTH_YEAR


def looks_like_ric(number: str) -> bool:
    """18 characters (17 ASCII digits + digit or X) shaped like a resident ID number."""
    if not (number[:17].isdigit() and number[17] in "0123456789X"):
        return False
    if number[:2] not in _PROVINCES or not plausible_birth_date(number):
        return False
    if number[17] != _ric.calc_check_digit(number) and not _known_region(number[:6]):
        # Wrong ID check digit, no real county: a valid unified social credit code is an
        # organisation's (public), anything else a mistyped ID number.
        try:
            validate_uscc(number)
        except InvalidIdentifier:
            return True
        return False
    return True


def ric_spans(text: str | None) -> list[tuple[int, int, str]]:
    """``(start, end, number)`` of every resident ID number written in ``text``.

    ``text[start:end]`` is the number as written (separators included); ``number``
    its 18 characters normalised.  Overlapping candidates are all returned (a
    false candidate must never hide a real number next to it).
    """
    if not text or not _MAYBE.search(text):
        return []
    half = text.translate(_DETECT_TABLE)
    found = []
    for chain in _CHAIN.finditer(half):
        if _DATES_ONLY.fullmatch(chain.group()):
            continue
        positions = [i for i in range(chain.start(), chain.end()) if half[i] in "0123456789X"]
        chars = "".join(half[i] for i in positions)
        for first in range(len(chars) - 17):
            number = chars[first:first + 18]
            if looks_like_ric(number):
                found.append((positions[first], positions[first + 17] + 1, number))
    return found


def find_ric_numbers(text: str | None) -> list[str]:
    """The resident ID numbers written in ``text``, each as written."""
    return [text[start:end] for start, end, _number in ric_spans(text)]


def contains_ric_number(text: str | None) -> bool:
    """True if ``text`` contains a resident ID number in any of the shapes above."""
    return bool(ric_spans(text))


def mask_ric_numbers(text: str | None) -> str:
    """``text`` with every resident ID number in it masked (1101**********1230).

    Exactly the spans :func:`ric_spans` finds are replaced (overlapping ones
    together: first 4 and last 4 characters kept, the rest starred); everything
    else is kept as written.
    """
    if not text:
        return text or ""
    spans = ric_spans(text)
    if not spans:
        return text
    half = text.translate(_DETECT_TABLE)
    merged: list[list[int]] = []
    for start, end, _number in spans:
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        chars = [c for c in half[start:end] if c in "0123456789X"]
        out += [text[last:start], "".join(chars[:4]), "*" * (len(chars) - 8),
                "".join(chars[-4:])]
        last = end
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
