"""Place names that open an organisation's name (行政区划, the first part of a registered name).

Read from the administrative division codes that ``python-stdnum`` ships for resident ID
numbers (GB/T 2260, every code ever assigned): provinces, prefectures and counties, each
with its short form (黑龙江省 → 黑龙江, 佳木斯市 → 佳木斯, 向阳区 → 向阳). Batch screening
(:mod:`portal.rules.name_match`) splits a name into its place prefix and the rest, so that
a name typed without its city still finds the listed one and two companies of the same
trade name in two cities stay apart.
"""
from __future__ import annotations

import functools
import re
from importlib import resources

#: Endings of division names, longest first; the short form is the name without one.
_ENDINGS = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "自治州", "自治县",
            "自治旗", "地区", "省", "市", "县", "区", "旗", "盟")
_NAME = re.compile(r'(?:province|county)="(?:\[[^\]]*\])?([^"]+)"')
#: Not place prefixes although divisions are called so: they open ordinary words and names.
_NOT_PREFIXES = frozenset({"市辖区", "县", "区", "城区", "郊区", "矿区", "新区", "开发区", "高新区",
                           "东方", "中山", "永安", "长城", "华龙", "和平", "新华", "红旗", "东风",
                           "解放", "胜利", "光明", "民主", "友谊", "前进", "新兴", "金山", "宝山",
                           "大通", "城中", "长安", "华容", "东山", "龙华", "永和", "兴业", "华安"})


@functools.cache
def place_names() -> frozenset[str]:
    """Every division name and its short form (two characters or more)."""
    text = resources.files("stdnum").joinpath("cn/loc.dat").read_text(encoding="utf-8")
    names: set[str] = set()
    for full in _NAME.findall(text):
        full = full.strip()
        names.add(full)
        for ending in _ENDINGS:
            if full.endswith(ending) and len(full) - len(ending) >= 2:
                names.add(full[: -len(ending)])
                break
    return frozenset(n for n in names if len(n) >= 2 and n not in _NOT_PREFIXES)


@functools.cache
def _longest() -> int:
    return max(map(len, place_names()))


def split_place(text: str) -> tuple[str, str]:
    """(place prefix, rest) of a normalised name: the division name at its start (short or
    full: 佳木斯 / 佳木斯市), then any full names below it (黑龙江省佳木斯市向阳区). A short
    name after the first is left to the rest: it is more often a trade name (佳木斯兴隆… is
    the trade name 兴隆 in 佳木斯, not the county 兴隆). The rest keeps at least two
    characters: "北京市" alone is a name, not a prefix."""
    names, longest, pos = place_names(), _longest(), 0
    while True:
        for size in range(min(longest, len(text) - pos - 2), 1, -1):
            part = text[pos:pos + size]
            if part in names and (pos == 0 or _short(part) != part):
                pos += size
                break
        else:
            return text[:pos], text[pos:]


@functools.lru_cache(maxsize=4096)
def place_keys(prefix: str) -> frozenset[str]:
    """The divisions a place prefix names, each in its short form (佳木斯市 → {佳木斯})."""
    names, keys, pos = place_names(), set(), 0
    while pos < len(prefix):
        for size in range(len(prefix) - pos, 1, -1):
            part = prefix[pos:pos + size]
            if part in names:
                keys.add(_short(part))
                pos += size
                break
        else:
            pos += 1
    return frozenset(keys)


def _short(name: str) -> str:
    for ending in _ENDINGS:
        if name.endswith(ending) and len(name) - len(ending) >= 2:
            return name[: -len(ending)]
    return name


@functools.lru_cache(maxsize=4096)
def short_place(prefix: str) -> str:
    """A place prefix in short forms, in order (黑龙江省佳木斯市 → 黑龙江佳木斯): one place
    written with or without 省/市/区 is the same place."""
    names, out, pos = place_names(), [], 0
    while pos < len(prefix):
        for size in range(len(prefix) - pos, 1, -1):
            part = prefix[pos:pos + size]
            if part in names:
                out.append(_short(part))
                pos += size
                break
        else:
            out.append(prefix[pos])
            pos += 1
    return "".join(out)
