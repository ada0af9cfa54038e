"""How alike two names are, for batch screening: a score from 0 to 1 and the reasons.

Pure functions, no Flask, no database. The text is normalised the way the search index
normalises it (``search_index.analysis.normalize``: NFKC, so full-width letters and
brackets become half-width; lower case; traditional characters to simplified with OpenCC),
then spaces and punctuation go, the legal form at the end is set aside
(:mod:`portal.rules.legal_forms`) and the place prefix is found (:mod:`portal.rules.regions`).

The score of a query against a listed name is the best of:

* the cores (names without their legal form) compared character by character
  (rapidfuzz's Indel ratio: 1 − edits / total length);
* the query without its place against the listed name without its place, or one side
  without its place against the other whole, times :data:`PLACE_OMITTED` (a name typed
  without its city; two cities' companies of one trade name still differ by the city);
* the jieba words of both in any order (:data:`WORD_ORDER`);
* for a query written in Latin letters, its letters against the pinyin of the listed name
  (tones, spaces, apostrophes and a pinyin legal form ignored);

times :data:`FORM_DIFFERS` / :data:`FORM_MISSING` when the legal forms differ,
:data:`OTHER_TRADE_NAME` when the trade names differ and :data:`PERSON_DIFFERS` when a
person's name differs in any character. Homophones are not raised: 华兴 and 华星 are two
companies whose names sound alike.

Reasons are machine codes (:data:`REASONS`); pages and files word them
(``portal.services.screening.reason_label``).
"""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass

from pypinyin import lazy_pinyin
from rapidfuzz import fuzz
from rapidfuzz.distance import Indel

from portal.rules import regions
from portal.rules.legal_forms import GROUP_WORDS, LEGAL_FORMS
from search_index import analysis

#: Every reason a match may give, in the order they are listed.
REASONS = ("exact_code", "same_name", "legal_form_stripped", "traditional", "full_width",
           "punctuation", "pinyin", "place_omitted", "word_order", "typo", "homophone",
           "other_trade_name", "former_name")

#: Factor when the name matched only with a place left out on one side.
PLACE_OMITTED = 0.95
#: Factor when both names have a legal form and they differ (有限公司 / 股份有限公司).
FORM_DIFFERS = 0.97
#: Factor when one name has a legal form and the other none.
FORM_MISSING = 0.99
#: The score of the same words in another order.
WORD_ORDER = 0.95
#: Factor when a person's name differs in any character: two people's names are short and
#: one character apart is another person (张伟 / 张炜, 欧阳娜 / 欧阳娜娜).
PERSON_DIFFERS = 0.85
#: Factor when the trade names (字号: the first two characters after the place) differ: a
#: character changed there makes another company (华兴 / 华星), not a slip of the keyboard;
#: at the default threshold another trade name never matches.
OTHER_TRADE_NAME = 0.85

_PUNCT = re.compile(r"[\s\u00b7\u2027\u30fb.,，、。:：;；'\"‘’“”`!?！？\-_—/\\|*#&+~]+")
_BRACKETS = str.maketrans({"(": None, ")": None, "[": None, "]": None, "【": None, "】": None,
                           "〔": None, "〕": None, "《": None, "》": None, "<": None, ">": None})
#: Lone surrogates (a JSON "\ud800") and control characters: dropped before anything else.
_UNPRINTABLE = re.compile(r"[\ud800-\udfff\x00-\x1f\x7f]")
_BRACKET_GROUP = re.compile(r"\(([^()]*)\)")
_LATIN = re.compile(r"[a-z\u00fc]+")
_TONE_DIGITS = re.compile(r"[0-9]")


def _sorted_longest(items) -> tuple[str, ...]:
    return tuple(sorted(set(items), key=len, reverse=True))


_FORMS = _sorted_longest(analysis.normalize(f) for f in LEGAL_FORMS)
_GROUPS = _sorted_longest(analysis.normalize(g) for g in GROUP_WORDS)
_ENDINGS = (*_FORMS, *_GROUPS)
_NO_MARKS: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Name:
    """A name made ready for comparison."""

    text: str                   # normalised: no spaces or punctuation (brackets kept)
    core: str                   # without the legal form and brackets; the place in short forms
    form: str                   # the legal form set aside ("" if none)
    place: str                  # the place prefix of the core, in short forms ("" if none)
    rest: str                   # the core without its place prefix
    latin: bool = False         # written in Latin letters only: read as pinyin
    person: bool = False        # a natural person's name
    letters: str = ""           # Latin: the pinyin typed, without tones, spaces or legal form
    places: frozenset[str] = frozenset()  # the divisions the place prefix names (short forms)
    marks: frozenset[str] = frozenset()   # what the typed text needed: traditional, full_width, punctuation


def clean(raw: str | None) -> tuple[str, frozenset[str]]:
    """The normalised text of ``raw`` and the marks of what normalising changed."""
    raw = _UNPRINTABLE.sub("", str(raw or "")).strip()
    marks = set()
    folded = unicodedata.normalize("NFKC", raw)
    if folded != raw:
        marks.add("full_width")
    lowered = folded.lower()
    simple = analysis.to_simplified(lowered)
    if simple != lowered:
        marks.add("traditional")
    text = _PUNCT.sub("", simple)
    if text != simple:
        marks.add("punctuation")
    return text, (frozenset(marks) if marks else _NO_MARKS)


def split_form(text: str) -> tuple[str, str]:
    """(name, legal form) of a normalised name: forms and group words stripped from the end,
    repeatedly (…集团有限公司), never the whole name."""
    core, form = text, ""
    if text in _FORMS or text in _GROUPS:
        return text, ""
    changed = core.endswith(_ENDINGS)
    while changed:
        changed = False
        for suffix in _ENDINGS:
            if core.endswith(suffix) and len(core) > len(suffix):
                core, form, changed = core[: -len(suffix)], suffix + form, True
                break
    return core, form


def prepare(raw: str | None, *, person: bool = False) -> Name:
    """A name ready for :func:`score`; ``person``: a natural person's name (no legal form,
    no place prefix)."""
    text, marks = clean(raw)
    latin = bool(text) and _is_latin(text)
    if latin:
        letters, form = strip_form_pinyin(pinyin_text(text))
        return Name(text=text, core=text.translate(_BRACKETS), form=form, place="",
                    rest=text.translate(_BRACKETS), latin=True, person=person, letters=letters,
                    marks=marks)
    if person:
        core = text.translate(_BRACKETS)
        return Name(text=text, core=core, form="", place="", rest=core, person=True, marks=marks)
    core, form = split_form(text)
    inner = ""
    for group in _BRACKET_GROUP.finditer(core):        # 恒达建筑(佳木斯)有限公司: the place in brackets
        if group.group(1) in regions.place_names() and not inner:
            inner = group.group(1)
            core = core[: group.start()] + core[group.end():]
    core = core.translate(_BRACKETS)
    place, rest = regions.split_place(core)
    if inner and not place:
        place = inner
    places = regions.place_keys(place)
    place = regions.short_place(place)
    core = place + rest
    if "punctuation" not in marks and text.translate(_BRACKETS) != text and not form.startswith("("):
        marks = marks | {"punctuation"}
    return Name(text=text, core=core, form=sys.intern(form.translate(_BRACKETS)),
                place=sys.intern(place), rest=rest, places=places, marks=marks)


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _is_latin(text: str) -> bool:
    if _CJK.search(text):
        return False
    letters = _TONE_DIGITS.sub("", text.translate(_BRACKETS))
    stripped = unicodedata.normalize("NFKD", letters)
    stripped = "".join(ch for ch in stripped if not unicodedata.combining(ch))
    return len(stripped) >= 2 and bool(_LATIN.fullmatch(stripped))


def pinyin_text(text: str) -> str:
    """Letters of a name typed in pinyin: tone marks and tone digits dropped, ü and v as u."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    letters = "".join(ch for ch in decomposed if "a" <= ch <= "z")
    return letters.replace("v", "u")


@functools.lru_cache(maxsize=200_000)
def pinyin_key(text: str) -> str:
    """The pinyin letters of a normalised Chinese name (jieba words, so 重庆 is chongqing);
    Latin letters and digits are kept as they are."""
    syllables = analysis.pinyin_of(text)
    out = [syl or (ch if ch.isascii() and ch.isalnum() else "") for ch, syl in zip(text, syllables)]
    return "".join(out).replace("v", "u")


def sounds(text: str) -> str:
    """The toneless pinyin of each character in its commonest reading (homophones alike)."""
    return "".join(_sound(ch) for ch in text)


@functools.lru_cache(maxsize=20_000)
def _sound(ch: str) -> str:
    return (lazy_pinyin(ch) or [ch])[0]


@functools.cache
def _form_pinyin() -> tuple[tuple[str, str], ...]:
    pairs = {(pinyin_key(f.translate(_BRACKETS)), f.translate(_BRACKETS)) for f in (*_FORMS, *_GROUPS)}
    return tuple(sorted(pairs, key=lambda p: len(p[0]), reverse=True))


def strip_form_pinyin(letters: str) -> tuple[str, str]:
    """(name, legal form) of a pinyin key: youxiangongsi and the like stripped from the end."""
    form = ""
    changed = True
    while changed:
        changed = False
        for key, chinese in _form_pinyin():
            if key and letters.endswith(key) and len(letters) > len(key):
                letters, form, changed = letters[: -len(key)], chinese + form, True
                break
    return letters, form


def ratio(a: str, b: str) -> float:
    """1 − Indel distance / total length (rapidfuzz, in C); 0 for an empty side."""
    if not a or not b:
        return 0.0
    return Indel.normalized_similarity(a, b)


def _form_factor(query_form: str, listed_form: str) -> float:
    if query_form == listed_form:
        return 1.0
    return FORM_MISSING if not query_form or not listed_form else FORM_DIFFERS


def score(query: Name, listed: Name, floor: float = 0.0) -> tuple[float, tuple[str, ...]]:
    """How alike ``query`` is to ``listed`` (0..1) and why: a tuple of :data:`REASONS`.

    ``floor``: a score below it is given without its reasons (a caller that drops it
    anyway saves their cost)."""
    if query.latin and not listed.latin:
        options = [(ratio(query.letters, pinyin_key(listed.core)), 1.0, ("pinyin",))]
        if listed.place:
            options.append((ratio(query.letters, pinyin_key(listed.rest)), PLACE_OMITTED,
                            ("pinyin", "place_omitted")))
    else:
        options = [(ratio(query.core, listed.core), 1.0, ())]
        options += [(value, PLACE_OMITTED, ("place_omitted",))
                    for value in _place_variants(query, listed)]
        if not listed.person and _same_words(query.core, listed.core):
            options.append((1.0, WORD_ORDER, ("word_order",)))
        if listed.form and query.form != listed.form:   # a form mistyped: 有限公公司, 有限公
            options.append((ratio(query.core + query.form, listed.core + listed.form), 1.0, ()))
    raw, factor, reasons = max(options, key=lambda option: option[0] * option[1])
    if raw < 1.0 and listed.person:
        factor *= PERSON_DIFFERS
    form = _form_factor(query.form, listed.form)
    other_trade_name = _other_trade_name(query, listed)
    if other_trade_name:
        form *= OTHER_TRADE_NAME
    value = round(raw * factor * form, 4)
    if value < floor:
        return value, ()
    why = set(reasons)
    if raw < 1.0:
        why.add("typo")
        if not query.latin and len(query.core) == len(listed.core) and \
                sounds(query.core) == sounds(listed.core):
            why.add("homophone")
    if form < 1.0 and query.form != listed.form:
        why.add("legal_form_stripped")
    if other_trade_name:
        why.add("other_trade_name")
    if query.text == listed.text:
        why.add("same_name")
    why |= query.marks & ({"traditional", "full_width"} if query.latin else
                          {"traditional", "full_width", "punctuation"})
    return value, _ordered(why)


def _other_trade_name(query: Name, listed: Name) -> bool:
    """Do two organisations' names differ in their trade names (the first two characters
    after the place, where both names go on beyond them)? A pinyin query: is the listed
    trade name's pinyin missing from it?"""
    if query.person or listed.person or len(listed.rest) < 3:
        return False
    if query.latin:
        trade = listed.rest[:2]
        return pinyin_key(trade) not in query.letters and sounds(trade) not in query.letters
    return len(query.rest) >= 3 and query.rest[:2] != listed.rest[:2]


def _same_words(a: str, b: str) -> bool:
    """The same jieba words in another order (恒达佳木斯建筑 / 佳木斯恒达建筑)."""
    if a == b or len(a) != len(b) or sorted(a) != sorted(b):
        return False
    return fuzz.token_sort_ratio(" ".join(analysis.cut_words(a)), " ".join(analysis.cut_words(b))) == 100


def _place_variants(query: Name, listed: Name):
    """Ratios with the place prefix left out on one side or both (a place in one name only)."""
    if listed.place and len(listed.rest) >= 2:
        yield ratio(query.core, listed.rest)
    if query.place and len(query.rest) >= 2:
        yield ratio(query.rest, listed.core)
        if listed.place and query.place != listed.place:
            mine, theirs = query.places, listed.places
            if mine and theirs and (mine <= theirs or theirs <= mine):
                yield ratio(query.rest, listed.rest)


def _ordered(reasons) -> tuple[str, ...]:
    return tuple(r for r in REASONS if r in reasons)
