"""Chinese-aware text analysis for the search index (no index library, no portal).

Everything here turns plain strings into lists of index tokens; the query side
(:func:`search_index.queryplan.analyze_query`) reuses these building blocks and
``engine`` maps both onto index fields and queries.

Index side, for a company / person name:

* ``name``  – every CJK character bigram, plus jieba search-mode words of three
  or more characters (two-character jieba words are bigrams already), plus
  lower-cased ASCII words and isolated single CJK characters.
* ``core``  – the same tokens restricted to the name without its legal-form
  suffix (有限公司 …); the engine boosts this field.
* pinyin (pypinyin ``lazy_pinyin``, no tones, ``v`` for ü):
  ``py1`` syllables, ``py2`` adjacent syllable pairs ``"heng_da"``,
  ``pyi`` initials: trigrams, per jieba word (``"jms"``, ``"hd"``) and of the
  whole name (for prefix queries),
  ``pyw`` full pinyin of every jieba word and of the whole name joined
  (``"jiamusishihengda…"``) for prefix queries.

Free text (facts) gets bigrams and ASCII words only: jieba adds no recall on top
of bigrams and would make indexing several times slower.

Token counts matter: every posting costs index size and build time, so n-grams
that are nearly unique per document (initials 4/5-grams, say) are avoided.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from itertools import pairwise

import jieba
import opencc
from pypinyin import lazy_pinyin

from . import wordfreq

jieba.setLogLevel(logging.WARNING)

# Legal-form suffixes, longest first. Only legal forms – not 集团, 厂, 店, 医院,
# which are part of what a business is called. The city prefix is never stripped.
LEGAL_FORM_SUFFIXES: tuple[str, ...] = tuple(
    sorted(
        {
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "股份公司",
            "分公司",
            "公司",
            "合伙企业(有限合伙)",
            "合伙企业(普通合伙)",
            "(有限合伙)",
            "(普通合伙)",
            "(特殊普通合伙)",
            "合伙企业",
            "个人独资企业",
            "个体工商户",
            "农民专业合作社",
            "专业合作社",
        },
        key=len,
        reverse=True,
    )
)

_CJK_CLASS = "\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef"
_SEGMENT_RE = re.compile(rf"([{_CJK_CLASS}]+)|([a-z0-9]+)")
_CJK_RE = re.compile(rf"[{_CJK_CLASS}]")

# Identifier shapes (after NFKC, removing spaces and dashes, upper-casing).
_CODE_CHARS = "0-9A-HJ-NPQRTUWXY"  # GB 32100 alphabet: no I, O, S, V, Z
_USCC_RE = re.compile(rf"^[{_CODE_CHARS}]{{2}}\d{{6}}[{_CODE_CHARS}]{{10}}$")
_ORG_CODE_RE = re.compile(rf"^[{_CODE_CHARS}]{{8}}[0-9X]$")
_REG_NO_RE = re.compile(r"^\d{15}$")


_warm_lock = threading.Lock()
_warmed = False


def warm_up() -> None:
    """Load jieba's dictionary and pypinyin's tables once per process.

    Safe to call repeatedly and from several threads; the portal calls it at
    start-up so the first search does not pay ~1 s of dictionary loading.
    """
    global _warmed
    if _warmed:
        return
    with _warm_lock:
        if _warmed:
            return
        jieba.setLogLevel(logging.WARNING)
        _words()
        lazy_pinyin("预热")
        _t2s()
        _warmed = True


# --------------------------------------------------------------------------- basics


_t2s_lock = threading.Lock()
_t2s_converter = None


def _t2s():
    global _t2s_converter
    if _t2s_converter is None:
        with _t2s_lock:
            if _t2s_converter is None:
                _t2s_converter = opencc.OpenCC("t2s")
    return _t2s_converter


def to_simplified(text: str) -> str:
    """Traditional characters → simplified (OpenCC ``t2s``; simplified text is kept).

    Index and queries both go through this, so 恆豐餐飲 finds 恒丰餐饮 and back.
    """
    if not text or text.isascii():
        return text
    return _t2s().convert(text)


#: The version of what the analysis puts into the index.  Bump it whenever a change here
#: indexes other terms for the same text (1: the first analysis; 2: traditional characters
#: folded to simplified; 3: the tantivy index format; 4: documents carry the jurisdiction, a
#: filter and facet field): a generation written under another version is rebuilt.
ANALYSIS_VERSION = 4


def normalize(text: str | None) -> str:
    """NFKC (full-width → half-width, compatibility forms), lower-case, simplified."""
    if not text:
        return ""
    return to_simplified(unicodedata.normalize("NFKC", str(text)).lower())


def is_cjk(ch: str) -> bool:
    return bool(_CJK_RE.match(ch))


def segments(text: str) -> list[tuple[str, str]]:
    """Split *normalized* text into ``("cjk", run)`` and ``("word", ascii)`` parts."""
    out = []
    for m in _SEGMENT_RE.finditer(text):
        if m.group(1):
            out.append(("cjk", m.group(1)))
        else:
            out.append(("word", m.group(2)))
    return out


def bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)]


def dedupe(items) -> list:
    return list(dict.fromkeys(items))


def strip_legal_suffix(name: str) -> tuple[str, str]:
    """Split a *normalized* name into (core, legal-form suffix).

    Suffixes are stripped repeatedly (``…有限公司(有限合伙)``), but never the whole
    name: ``"有限公司"`` alone gives ``("", "有限公司")``.
    """
    core = name.rstrip()
    suffix = ""
    changed = True
    while changed:
        changed = False
        for s in LEGAL_FORM_SUFFIXES:
            if core.endswith(s):
                core = core[: -len(s)].rstrip()
                suffix = s + suffix
                changed = True
                break
    return core, suffix


def normalize_code(code: str | None) -> str:
    """Upper-case, NFKC, without whitespace and dashes (``MA1B2C3D-4`` → ``MA1B2C3D4``)."""
    if not code:
        return ""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", str(code))).upper()


def identifier_of(q: str | None) -> str | None:
    """The normalized identifier if *q* is shaped like a USCC, org code or reg. number."""
    if not q or len(q) > 64:
        return None
    compact = normalize_code(q)
    if _USCC_RE.match(compact) or _REG_NO_RE.match(compact):
        return compact
    if _ORG_CODE_RE.match(compact) and any(c.isdigit() for c in compact):
        return compact
    return None


def code_tokens(codes) -> list[str]:
    """Index tokens for the ``codes`` list; a USCC also yields its embedded org code."""
    out = []
    for c in codes or ():
        n = normalize_code(c)
        if not n:
            continue
        out.append(n)
        if _USCC_RE.match(n):
            out.append(n[8:17])
    return dedupe(out)


# --------------------------------------------------------------------------- jieba / pinyin


@functools.lru_cache(maxsize=200_000)
def _word_pinyin(word: str) -> tuple[str, ...]:
    """Toneless pinyin per character of a CJK word ('' where pypinyin has none)."""
    syl = lazy_pinyin(word, errors=lambda s: [""] * len(s))
    if len(syl) != len(word):  # defensive: keep one syllable per character
        syl = [(lazy_pinyin(ch, errors=lambda s: [""]) or [""])[0] for ch in word]
    return tuple(s if s.isascii() else "" for s in syl)


def _words() -> None:
    """jieba's dictionary: the host's shared word files (:mod:`search_index.wordfreq`),
    else jieba's own."""
    if not jieba.dt.initialized and not wordfreq.install(jieba.dt):
        jieba.initialize()


@functools.lru_cache(maxsize=100_000)
def cut_words(run: str) -> tuple[str, ...]:
    if not jieba.dt.initialized:
        _words()
    return tuple(jieba.cut(run, HMM=True))


def search_words(run: str) -> list[tuple[str, int, int]]:
    """jieba search mode (as ``cut_for_search``) with spans, words of 3+ chars only.

    2-character words are always bigrams of the run, which are indexed anyway.
    """
    words = cut_words(run)
    freq = jieba.dt.FREQ  # after the cut: the first one installs the frequencies
    out = []
    pos = 0
    for w in words:
        n = len(w)
        if n > 3:
            for i in range(n - 2):
                g = w[i : i + 3]
                if freq.get(g):
                    out.append((g, pos + i, pos + i + 3))
        if n >= 3:
            out.append((w, pos, pos + n))
        pos += n
    return out


def pinyin_of(text: str) -> list[str]:
    """Toneless pinyin for each character of *normalized* text ('' for non-CJK)."""
    out = []
    for kind, seg in _segments_with_gaps(text):
        if kind == "cjk":
            for w in cut_words(seg):
                out.extend(_word_pinyin(w))
        else:
            out.extend([""] * len(seg))
    return out


def _segments_with_gaps(text: str):
    pos = 0
    for m in re.finditer(rf"[{_CJK_CLASS}]+", text):
        if m.start() > pos:
            yield "other", text[pos : m.start()]
        yield "cjk", m.group(0)
        pos = m.end()
    if pos < len(text):
        yield "other", text[pos:]


# --------------------------------------------------------------------------- index tokens


def text_tokens(text: str | None) -> list[str]:
    """Tokens for free text (facts): CJK bigrams + ASCII words."""
    out: list[str] = []
    for kind, seg in segments(normalize(text)):
        if kind == "word" or len(seg) == 1:
            out.append(seg)
        else:
            out.extend(bigrams(seg))
    return out


@dataclass
class NameTokens:
    core: str
    form: str  # the stripped legal-form suffix, "" if none
    name: list[str]
    core_tokens: list[str]
    py1: list[str]
    py2: list[str]
    pyi: list[str]
    pyw: list[str]


def analyze_name(name: str | None) -> NameTokens:
    text = normalize(name)
    core, form = strip_legal_suffix(text)
    core_len = len(core)
    spans: list[tuple[str, int, int]] = []  # (token, start, end) in text
    syllables: list[str] = []
    pyw: list[str] = []
    word_initials: list[str] = []
    for m in _SEGMENT_RE.finditer(text):
        start = m.start()
        if m.group(2):
            spans.append((m.group(2), start, m.end()))
            continue
        run = m.group(1)
        if len(run) == 1:
            spans.append((run, start, start + 1))
        else:
            spans.extend((run[i : i + 2], start + i, start + i + 2) for i in range(len(run) - 1))
        spans.extend((w, start + a, start + b) for w, a, b in search_words(run))
        for w in cut_words(run):
            syl = [s for s in _word_pinyin(w) if s]
            syllables.extend(syl)
            if len(syl) >= 2:
                pyw.append("".join(syl))
                word_initials.append("".join(x[0] for x in syl))
    name_tokens = [t for t, _, _ in spans]
    core_tokens = [t for t, _, end in spans if end <= core_len] if core else []
    if len(syllables) >= 2:
        pyw.append("".join(syllables))
    initials = "".join(s[0] for s in syllables)
    pyi = initial_trigrams(initials) + word_initials
    if len(initials) > 3:
        pyi.append(initials)
    return NameTokens(
        core=core,
        form=form,
        name=name_tokens,
        core_tokens=core_tokens,
        py1=syllables,
        py2=[f"{a}_{b}" for a, b in pairwise(syllables)],
        pyi=dedupe(pyi),
        pyw=dedupe(pyw),
    )


def initial_trigrams(initials: str) -> list[str]:
    return [initials[i : i + 3] for i in range(len(initials) - 2)]
