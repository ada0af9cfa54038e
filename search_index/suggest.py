""" "Did you mean": the closest indexed name to a query that found little."""

from __future__ import annotations

from itertools import pairwise

import tantivy

from .analysis import bigrams, normalize, pinyin_of, strip_legal_suffix
from .queryplan import CJKClause, QueryPlan, pinyin_segmentations, substring_distance

CANDIDATES = 40
RAREST_TERMS = 5  # candidates must share one of the query's rarest terms
MAX_DF = 5000  # terms in more documents than this do not retrieve candidates


def _cjk_budget(n: int) -> float:
    """Allowed distance for a CJK query of *n* characters (homophones cost 0.5)."""
    if n <= 2:
        return 0.5
    if n <= 5:
        return 1.0
    if n <= 10:
        return 2.0
    return 3.0


def _latin_budget(n: int) -> float:
    if n < 4:
        return 0.0
    return 1.0 if n <= 6 else 2.0


def _pairs(syl: list[str]) -> list[str]:
    return [f"{a}_{b}" for a, b in pairwise(syl)]


def _candidate_query(gen, plan: QueryPlan) -> tantivy.Query | None:
    """Docs sharing one of the query's rarest bigrams / pinyin pairs (a typo breaks
    at most two bigrams), or a fuzzy pinyin word; bounded so a suggestion never
    scores more than a few thousand documents."""
    searcher, schema = gen.searcher, gen.ix.schema
    terms: list[tuple[int, str, str, float]] = []  # (df, field, text, boost)

    def consider(field: str, texts, boost: float) -> None:
        for t in dict.fromkeys(texts):
            df = searcher.doc_freq(field, t)
            if 0 < df <= MAX_DF:
                terms.append((df, field, t, boost))

    parts: list[tantivy.Query] = []
    cjk = plan.cjk_text()
    if cjk:
        core = strip_legal_suffix(cjk)[0] or cjk
        if len(core) > 1:
            consider("name_t", bigrams(core), 1.0)
        consider("py2", _pairs([s for s in pinyin_of(core) if s]), 0.5)
    for w in plan.latin_words():
        if not w.isalpha() or len(w) < 4:
            continue
        parts.append(
            tantivy.Query.fuzzy_term_query(schema, "pyw", w, 1 if len(w) <= 6 else 2, True, False)
        )
        for seg in pinyin_segmentations(w, partial_last=False)[:2]:
            consider("py2", _pairs(seg), 0.5)
    terms.sort()
    parts += [gen.builder.term(f, t, b) for _, f, t, b in terms[:RAREST_TERMS]]
    if not parts:
        return None
    return tantivy.Query.boolean_query([(tantivy.Occur.Should, p) for p in parts])


def _distance(plan: QueryPlan, name: str) -> tuple[float, float] | None:
    """(distance, budget) of *name* to the query, or None when not comparable."""
    text = normalize(name)
    cjk = plan.cjk_text()
    if cjk:
        if cjk in text:  # the common case, without the edit-distance table
            return 0.0, 0.0
        d_char = substring_distance(cjk, text)
        if d_char == 0:
            return 0.0, 0.0
        q_syl = [s for s in pinyin_of(cjk) if s]
        n_syl = [s for s in pinyin_of(text) if s]
        d = float(d_char)
        if q_syl and len(q_syl) == len(cjk):
            d = min(d, substring_distance(q_syl, n_syl) + 0.5)
        return d, _cjk_budget(len(cjk))
    words = [w for w in plan.latin_words() if w.isalpha()]
    if not words:
        return None
    syl = [s for s in pinyin_of(text) if s]
    full = "".join(syl)
    initials = "".join(s[0] for s in syl)
    d = 0.0
    budget = 0.0
    for w in words:
        if w in full or w in initials:
            continue
        d += min(substring_distance(w, full), substring_distance(w, initials))
        budget += _latin_budget(len(w))
    return d, budget


def by_characters(plan: QueryPlan, name: str) -> bool:
    """*name* matches the query's characters (not only their sound: a homophone typo)."""
    text = normalize(name)
    return all(
        all(g in text for g in (c.relaxed or c.bigrams))
        for c in plan.clauses
        if isinstance(c, CJKClause) and not c.optional
    )


def spells_name(plan: QueryPlan, name: str) -> bool:
    """True if *name* contains the query as typed (then there is nothing to suggest)."""
    scored = _distance(plan, name)
    return scored is not None and scored[0] == 0


def suggest(gen, plan: QueryPlan, matched: set[str] | frozenset = frozenset()) -> str | None:
    """Closest indexed name for a near miss, or None.

    Returns None when a candidate contains the query exactly, when the best
    candidate is already among the query's own matches (*matched* ids; the
    engine leaves out those found only by a homophone, so 恒大建筑 still offers
    恒达建筑…), or
    when nothing is within the edit budget (character or pinyin distance of the
    query to the best-matching part of a name).
    """
    if plan.identifier or plan.empty:
        return None
    q = _candidate_query(gen, plan)
    if q is None:
        return None
    searcher = gen.searcher
    best: tuple[float, int, str, str] | None = None
    for rank, (_score, address) in enumerate(searcher.search(q, CANDIDATES, count=False).hits):
        stored = searcher.doc(address)
        raw = stored.get_first("name") or b""
        name = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
        doc_id = stored.get_first("id")
        scored = _distance(plan, name)
        if scored is None:
            continue
        d, budget = scored
        if d == 0:
            return None  # the query already spells an indexed name
        if d <= budget and (best is None or (d, rank) < best[:2]):
            best = (d, rank, name, doc_id)
    if best is None or best[3] in matched:
        return None
    return best[2]


def for_results(gen, plan: QueryPlan, names: list[str], matched: set[str]) -> str | None:
    """The suggestion for a search with few hits (*names*, on this page).

    None if a hit spells the query; the name of a hit found only by its sound (a
    homophone typo); else :func:`suggest` outside the query's own matches (the
    ids in *matched*).
    """
    if any(spells_name(plan, n) for n in names):
        return None
    by_sound = [n for n in names if not by_characters(plan, n)]
    if by_sound:
        return by_sound[0]
    return suggest(gen, plan, matched)
