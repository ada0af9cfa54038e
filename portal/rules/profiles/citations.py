"""Staff citations in words: a profile ``source`` as the back office shows it.

A ``source`` is the staff's shorthand for where a rule comes from
(``"000 art. 10 ¶2"``, ``"001 §二(二)4(1)"``, ``"law: 行政复议法 (2023 rev.)
art. 20 — …"``, ``"national: 国办发〔2025〕22号 / NDRC Order No. 36 (…)"``,
``"SPEC §4.2 (…)"``, ``"bureau setting (…)"``).  It stays in the profile and
in the audit data; pages show :func:`cite` instead: the document and the
article in the reader's language (``《佳木斯市…暂行办法》第十条第二款`` /
``Interim Measures of Jiamusi…, Article 10 paragraph 2``), never the seed
number, the specification or the shorthand signs.
"""
from __future__ import annotations

import re
from functools import lru_cache

from portal.rules.profiles.model import Profile, Text

_DIGITS = "〇一二三四五六七八九"
_CN_VALUES = {c: i for i, c in enumerate(_DIGITS)} | {"十": 10}
_ROMAN = ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"))
_CN = "一二三四五六七八九十"

_ART = re.compile(rf"art\. (\d+)(?:–(\d+))?(?:\(([{_CN}]+)\))?(?: ¶(\d+))?")
_SEC = re.compile(rf"§([{_CN}]+)(?:\(([{_CN}]+)\)(?:–\(([{_CN}]+)\))?)?"
                  r"(\d+)?(?:\((\d+)\))?(?: ¶(\d+)| (last) ¶)?")
_REF = re.compile(rf"(?:{_ART.pattern}|{_SEC.pattern})")
_SEP = re.compile(r"(?:, | and |; term | term )")

_LAWS = {"行政复议法": "Administrative Reconsideration Law", "行政诉讼法": "Administrative Litigation Law"}
_NATIONAL = (
    ("国办发〔2025〕22号", "国办发〔2025〕22号", "State Council General Office document 国办发〔2025〕22号"),
    ("NDRC Order No. 36", "《信用修复管理办法》（国家发展和改革委员会令第36号）",
     "Credit Repair Measures (NDRC Order No. 36)"),
    ("发改财金〔2018〕1704号", "《关于对社会保险领域严重失信企业及其有关人员实施联合惩戒的合作备忘录》（发改财金〔2018〕1704号）",
     "Memorandum on Joint Punishment in the Social Insurance Field (发改财金〔2018〕1704号)"),
    ("国发〔2016〕33号", "国发〔2016〕33号", "State Council document 国发〔2016〕33号"),
)
BUREAU_SETTING = Text("本局设定（所依据的文件未作规定，采用默认值）",
                      "Bureau setting (the rules set no value; a default applies)")


def zh_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 23 → 二十三."""
    if n < 10:
        return _DIGITS[n]
    tens, units = divmod(n, 10)
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[units] if units else "")


def cn_value(numeral: str) -> int:
    """一 → 1, 十二 → 12, 二十三 → 23 (up to 99)."""
    if "十" not in numeral:
        return _CN_VALUES[numeral]
    tens, _, units = numeral.partition("十")
    return (_CN_VALUES[tens] if tens else 1) * 10 + (_CN_VALUES[units] if units else 0)


def roman(n: int) -> str:
    out = ""
    for value, letters in _ROMAN:
        while n >= value:
            out, n = out + letters, n - value
    return out


def _article(m: re.Match) -> Text:
    number, upto, item, para = m.groups()
    zh = f"第{zh_number(int(number))}条" + (f"至第{zh_number(int(upto))}条" if upto else "")
    en = f"Article {number}" + (f"–{upto}" if upto else "")
    if para:
        zh, en = zh + f"第{zh_number(int(para))}款", en + f" paragraph {para}"
    if item:
        zh, en = zh + f"第（{item}）项", en + f" item ({cn_value(item)})"
    return Text(zh, en)


def _section(m: re.Match) -> Text:
    part, sub, sub_to, point, subpoint, para, last = m.groups()
    # as the documents cite themselves: 二（二）4（1）
    zh, en = part, f"Part {roman(cn_value(part))}"
    if sub:
        zh += f"（{sub}）" + (f"至（{sub_to}）" if sub_to else "")
        en += f"({cn_value(sub)})" + (f"–({cn_value(sub_to)})" if sub_to else "")
    if point:
        zh, en = zh + point, en + f" item {point}"
    if subpoint:
        zh, en = zh + f"（{subpoint}）", en + f"({subpoint})"
    if para:
        zh, en = zh + f"第{zh_number(int(para))}段", en + f" paragraph {para}"
    elif last:
        zh, en = zh + "末段", en + ", last paragraph"
    return Text(zh, en)


def _references(text: str) -> list[Text]:
    """The article references at the start of ``text`` ("art. 5(一); term art. 10 ¶1 …")."""
    refs, pos = [], 0
    while True:
        m = _ART.match(text, pos) or _SEC.match(text, pos)
        if not m:
            return refs
        refs.append(_article(m) if m.re is _ART else _section(m))
        sep = _SEP.match(text, m.end())
        if not sep:
            return refs
        pos = sep.end()


def _title(document: Text) -> Text:
    """The document's title without its issue number: 《…》 / the English name."""
    zh = document.zh
    if zh.startswith("《") and "》" in zh:
        zh = zh[: zh.index("》") + 1]
    return Text(zh, document.en.split(" (")[0])


@lru_cache(maxsize=None)
def _documents() -> dict[str, Text]:
    from portal.rules.profiles.loader import available_profiles, load_profile

    found = {}
    for code in available_profiles():
        profile = load_profile(code)
        if profile.seed:
            found[profile.seed] = _title(profile.document)
    return found


def cite(profile: Profile, source: str) -> Text:
    """``source`` as a citation staff can read: document and articles, in Chinese and English."""
    source = (source or "").strip()
    seed = re.match(r"(\d{3})(?:\b|$)\s*", source)
    if seed:
        title = _documents().get(seed.group(1)) or _title(profile.document)
        refs = _references(source[seed.end():])
        if refs:
            return Text(title.zh + "、".join(r.zh for r in refs),
                        f"{title.en}, " + "; ".join(r.en for r in refs))
        if re.search(r"\b(?:silent|gives no)\b", source):
            return Text(f"{title.zh}未作规定", f"Not set by {title.en}")
        return title
    law = re.match(r"law: (\S+?法)(?: \([^)]*\))?(?: art\. (\d+))?", source)
    if law:
        name, article = law.groups()
        zh, en = f"《中华人民共和国{name}》", _LAWS.get(name, name)
        if article:
            zh, en = zh + f"第{zh_number(int(article))}条", en + f", Article {article}"
        return Text(zh, en)
    if source.startswith("national:"):
        found = [(zh, en) for key, zh, en in _NATIONAL if key in source]
        if not found:
            return Text("国家有关规定", "National rules")
        return Text("；".join(zh for zh, _ in found), "; ".join(en for _, en in found))
    return BUREAU_SETTING


def article_label(article: str) -> Text:
    """A ground's ``article`` ("art. 5(一)", "§四(三)9") in words, without the document."""
    refs = _references(article)
    if refs:
        return Text("、".join(r.zh for r in refs), "; ".join(r.en for r in refs))
    category = re.fullmatch(r"(\S+) category (\d+)", article)
    if category:
        return Text(f"{category.group(1)}第{zh_number(int(category.group(2)))}类", article)
    return Text(article, article)
