"""Turn a :class:`~search_index.analysis.QueryPlan` into whoosh queries."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import pairwise

from whoosh.query import AndMaybe, Or, Prefix, Query

from .analysis import dedupe, initial_trigrams
from .fastmatch import FastTerm as Term
from .fastmatch import RareFirstAnd as And
from .queryplan import PINYIN_SYLLABLES, CJKClause, QueryPlan, WordClause
from .schema import FILTER_FIELDS, GROUND_TEXT_BOOST, TEXT_FIELDS, filter_value

RELAXED_FACTOR = 0.5  # bigrams across a jieba word boundary may be missing
WORD_BONUS = 0.5  # jieba words ≥ 3 chars shared by query and name
SUFFIX_BONUS = 0.3  # the legal-form suffix typed in the query
RELAX_MAX_SYLLABLES = 8  # pinyin readings up to this long may skip a syllable
HOMOPHONE_FACTOR = 0.4  # same syllables as the query, other characters (a typo)


def _all(field: str, terms: list[str], boost: float) -> Query:
    if len(terms) == 1:
        return Term(field, terms[0], boost=boost)
    return And([Term(field, t) for t in terms], boost=boost)


def _cjk(c: CJKClause, grounds: Mapping[str, list[str]]) -> Query:
    if c.single:
        # no unigram index: a lone character matches bigrams that start with it
        # (or a lone indexed character), in names only
        return Or(
            [
                Or([Term(f, c.text), Prefix(f, c.text)], boost=w)
                for f, w in TEXT_FIELDS
                if f in ("name_t", "core_t")
            ]
        )
    alts = [_all(f, c.bigrams, w) for f, w in TEXT_FIELDS]
    # the legal text of a ground is the same for every document with that ground,
    # so it is matched here once instead of being indexed per document
    alts += [
        Term("ground", code, boost=GROUND_TEXT_BOOST)
        for code, texts in grounds.items()
        if any(all(g in text for g in c.bigrams) for text in texts)
    ]
    if c.pinyin:
        pairs = dedupe(f"{a}_{b}" for a, b in pairwise(c.pinyin))
        alts.append(_all("py2", pairs, HOMOPHONE_FACTOR))
    if c.relaxed:
        alts += [
            _all(f, c.relaxed, w * RELAXED_FACTOR)
            for f, w in TEXT_FIELDS
            if f in ("name_t", "core_t")
        ]
    q: Query = Or(alts)
    bonus: list[Query] = [Term("name_t", w, boost=WORD_BONUS) for w in c.words]
    if c.suffix_bigrams:
        bonus.append(_all("name_t", c.suffix_bigrams, SUFFIX_BONUS))
    if bonus:
        q = AndMaybe(q, Or(bonus))
    return q


def _pinyin(seg: list[str], prefix: bool, relax: bool) -> list[Query]:
    def last(field: str, text: str, boost: float = 1.0) -> Query:
        return Prefix(field, text, boost=boost) if prefix else Term(field, text, boost=boost)

    if len(seg) == 1:
        return [last("py1", seg[0])]
    pairs: list[Query] = [Term("py2", f"{a}_{b}") for a, b in pairwise(seg[:-1])]
    pairs.append(last("py2", f"{seg[-2]}_{seg[-1]}"))
    out: list[Query] = [And(pairs, boost=2.0)]
    if relax and 3 <= len(seg) <= RELAX_MAX_SYLLABLES and seg[-1] in PINYIN_SYLLABLES:
        # all syllables present but not all adjacent (jiamusihengda skips 市); a
        # longer reading is a whole name, matched by pyw and the pairs, and this
        # alternative would only add names that share its common syllables
        out.append(And([Term("py1", s) for s in seg], boost=0.3))
    return out


def _word(c: WordClause) -> Query:
    t = c.text
    alts: list[Query] = [
        Term("name_t", t, boost=2.0),
        Term("core_t", t, boost=1.0),
        Term("facts_t", t, boost=0.3),
    ]
    if t.isalpha() and len(t) >= 2:
        alts.append(Prefix("pyw", t, boost=2.0) if c.prefix else Term("pyw", t, boost=2.0))
        if len(t) <= 3:
            alts.append(Term("pyi", t, boost=1.5))
        else:  # initials trigrams anywhere, or a prefix of a word's / the name's initials
            alts.append(_all("pyi", initial_trigrams(t), 1.5))
            alts.append(Prefix("pyi", t, boost=1.5))
        for i, seg in enumerate(c.segmentations):
            alts.extend(_pinyin(seg, c.prefix, relax=i == 0))
    elif t.isalpha():
        for seg in c.segmentations:
            alts.extend(_pinyin(seg, False, relax=False))
    return Or(alts)


def clause_query(c, grounds: Mapping[str, list[str]] | None = None) -> Query:
    return _cjk(c, grounds or {}) if isinstance(c, CJKClause) else _word(c)


def text_query(plan: QueryPlan, grounds: Mapping[str, list[str]] | None = None) -> Query | None:
    """Full-text query for a non-empty, non-identifier plan.

    *grounds* maps ground codes to their (normalized) legal texts.
    """
    required = [clause_query(c, grounds) for c in plan.clauses if not c.optional]
    optional = [clause_query(c, grounds) for c in plan.clauses if c.optional]
    if not required:
        return None
    q = required[0] if len(required) == 1 else And(required)
    if optional:
        q = AndMaybe(q, Or(optional))
    return q


def identifier_query(ident: str) -> Query:
    return Term("codes", ident)


ARRAY_FILTERS = ("ground", "subject_kind", "severity", "year", "kind")


def split_filters(
    kind: str | None, filters: Mapping | None
) -> tuple[dict[str, frozenset[str]], Query | None]:
    """Exact-match restrictions as ({field: allowed values}, whoosh query).

    Facet-like fields are checked against in-memory arrays (see ``docarrays``);
    ``code_hash`` and ``id`` become a whoosh query. ``filters['kind']``
    overrides the *kind* argument; ``None`` / ``""`` values are ignored; a
    list/tuple/set value means any of those values.
    """
    wanted: dict[str, list[str]] = {}
    if kind:
        wanted["kind"] = [str(kind)]
    for key, value in (filters or {}).items():
        if key not in FILTER_FIELDS:
            raise ValueError(
                f"unknown search filter {key!r}; expected one of {', '.join(FILTER_FIELDS)}"
            )
        if value is None or value == "":
            continue
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        wanted[key] = [filter_value(key, v) for v in values]
    arrays = {k: frozenset(v for v in vs if v) for k, vs in wanted.items() if k in ARRAY_FILTERS}
    parts: list[Query] = []
    for key, values in wanted.items():
        if key in ARRAY_FILTERS:
            continue
        field = "code_hashes" if key == "code_hash" else key
        terms = [Term(field, v) for v in dict.fromkeys(values) if v]
        if not terms:
            parts.append(Term(field, "\x00"))  # an empty list filters everything out
        else:
            parts.append(terms[0] if len(terms) == 1 else Or(terms))
    if not parts:
        return arrays, None
    return arrays, parts[0] if len(parts) == 1 else And(parts)
