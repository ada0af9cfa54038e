"""HTML highlighting for Chinese text: escape everything, wrap matches in <mark>.

Matching is done on a per-character NFKC/lower-cased copy of the original text,
so positions map 1:1 back to the original and the snippet shows the text as
stored (full-width characters and all).
"""

from __future__ import annotations

import html
import unicodedata
from itertools import pairwise

from .analysis import pinyin_of, to_simplified
from .queryplan import QueryPlan, WordClause

SNIPPET_CHARS = 120
SNIPPET_LEAD = 24


class _FoldTable(dict):
    """Code point → its folded character, filled as characters are met (``str.translate``
    then folds a text in C)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        n = unicodedata.normalize("NFKC", ch).lower()
        folded = n if len(n) == 1 else ch.lower()[:1] or ch
        self[code] = folded
        return folded


_FOLD = _FoldTable()


def _fold(text: str) -> str:
    """One character per character of *text*: NFKC, lower-case, simplified."""
    folded = text.translate(_FOLD)
    simple = to_simplified(folded)
    if len(simple) == len(folded):
        return simple
    return "".join(s if len(s := to_simplified(ch)) == 1 else ch for ch in folded)


def _mark_substrings(folded: str, needles, marks: list[bool]) -> None:
    for needle in needles:
        if not needle:
            continue
        start = folded.find(needle)
        while start != -1:
            for i in range(start, start + len(needle)):
                marks[i] = True
            start = folded.find(needle, start + 1)


def _mark_pinyin(text: str, clauses, marks: list[bool]) -> None:
    """Mark characters whose pinyin spells a latin query word (full or initials),
    or adjacent syllable pairs of it (a query that skips a character)."""
    clauses = [c for c in clauses if c.text.isalpha() and len(c.text) >= 2]
    if not clauses:
        return
    syl = pinyin_of(_fold(text))
    idx = [i for i, s in enumerate(syl) if s]  # positions of characters with pinyin
    seq = [syl[i] for i in idx]
    for c in clauses:
        w = c.text
        prefix_ok = len(w) >= 3
        for seg in c.segmentations:
            if len(seg) < 2:
                continue
            pairs = set(pairwise(seg[:-1]))
            tail = (seg[-2], seg[-1])
            for k in range(len(seq) - 1):
                a, b = seq[k], seq[k + 1]
                if (a, b) in pairs or (
                    a == tail[0] and (b == tail[1] or (prefix_ok and b.startswith(tail[1])))
                ):
                    marks[idx[k]] = marks[idx[k + 1]] = True
        for start in range(len(seq)):
            # full pinyin: consume whole syllables, the last may be a prefix
            rest, j = w, start
            while rest and j < len(seq):
                s = seq[j]
                if rest.startswith(s):
                    rest, j = rest[len(s) :], j + 1
                elif prefix_ok and s.startswith(rest):
                    rest, j = "", j + 1
                else:
                    break
            if not rest:
                for k in range(start, j):
                    marks[idx[k]] = True
                continue
            # initials
            if "".join(s[0] for s in seq[start : start + len(w)]) == w:
                for k in range(start, start + len(w)):
                    marks[idx[k]] = True


def _render(text: str, marks: list[bool], start: int, end: int) -> str:
    parts = []
    i = start
    while i < end:
        j = i
        while j < end and marks[j] == marks[i]:
            j += 1
        chunk = html.escape(text[i:j], quote=True)
        parts.append(f"<mark>{chunk}</mark>" if marks[i] else chunk)
        i = j
    return "".join(parts)


def _marks(text: str, plan: QueryPlan | None, *, pinyin: bool) -> list[bool]:
    marks = [False] * len(text)
    if plan is None or not text:
        return marks
    folded = _fold(text)
    if plan.identifier:
        return marks
    _mark_substrings(folded, plan.needles(), marks)
    words = plan.latin_words()
    _mark_substrings(folded, [w for w in words if len(w) >= 2 or w.isdigit()], marks)
    if pinyin:
        _mark_pinyin(text, [c for c in plan.clauses if isinstance(c, WordClause)], marks)
    return marks


def highlight_name(name: str | None, plan: QueryPlan | None) -> str:
    """The whole name, HTML-escaped, with matched characters in <mark>."""
    text = name or ""
    return _render(text, _marks(text, plan, pinyin=True), 0, len(text))


def highlight_snippet(
    text: str | None, plan: QueryPlan | None, *, size: int = SNIPPET_CHARS
) -> str:
    """A window of about *size* characters around the first match (or the start)."""
    text = text or ""
    if not text:
        return ""
    marks = _marks(text, plan, pinyin=False)
    first = next((i for i, m in enumerate(marks) if m), 0)
    start = max(0, first - SNIPPET_LEAD) if first else 0
    end = min(len(text), start + size)
    if end - start < size:
        start = max(0, end - size)
    body = _render(text, marks, start, end)
    return ("…" if start > 0 else "") + body + ("…" if end < len(text) else "")
