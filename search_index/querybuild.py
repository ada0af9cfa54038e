"""Turn a :class:`~search_index.analysis.QueryPlan` into tantivy queries.

Every clause becomes a boolean query over term queries: ``all`` of a clause's
bigrams must match in one field, any field may answer (with its boost), and
extras only add to the score. Term queries are lazy: tantivy intersects them
rarest first with skip lists, so common bigrams (有限, 公司) cost little.

Prefixes: a prefix of a pinyin syllable or syllable pair (``py1`` / ``py2``, small
vocabularies) is expanded through the term dictionary into term queries; a prefix
of a whole-name reading or of initials (``pyw`` / ``pyi``, one term per name) or of
a lone character becomes a regular-expression query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from itertools import pairwise

import tantivy

from .analysis import dedupe, initial_trigrams
from .queryplan import PINYIN_SYLLABLES, CJKClause, QueryPlan, WordClause
from .schema import FILTER_FIELDS, GROUND_TEXT_BOOST, TEXT_FIELDS, filter_value

Q = tantivy.Query
MUST = tantivy.Occur.Must
SHOULD = tantivy.Occur.Should

RELAXED_FACTOR = 0.5  # bigrams across a jieba word boundary may be missing
WORD_BONUS = 0.5  # jieba words ≥ 3 chars shared by query and name
SUFFIX_BONUS = 0.3  # the legal-form suffix typed in the query
RELAX_MAX_SYLLABLES = 8  # pinyin readings up to this long may skip a syllable
HOMOPHONE_FACTOR = 0.4  # same syllables as the query, other characters (a typo)
LEGAL_FORM_BONUS = 1.0  # added to the score when the name has the legal form typed
VOWELS = frozenset("aeiouv")
# initials are first letters of syllables, nearly all consonants: a word with this
# many vowels is read as pinyin only (jiamusi), not as initials too (jmshd)
INITIALS_MAX_VOWELS = 3
EXPANDED_FIELDS = ("py1", "py2")  # prefix → the terms themselves (a small vocabulary)
MAX_EXPANSIONS = 64


class Builder:
    """Builds queries against one schema; *expand(field, prefix)* lists the indexed
    terms of a field that start with *prefix* (the engine caches it per generation)."""

    def __init__(self, schema: tantivy.Schema, expand: Callable[[str, str], list[str]]):
        self.schema = schema
        self.expand = expand

    # ------------------------------------------------------------------ building blocks
    def term(self, field: str, text: str, boost: float = 1.0) -> tantivy.Query:
        if not indexable(text):
            return Q.empty_query()  # nothing indexed can be equal to it
        return boosted(Q.term_query(self.schema, field, text), boost)

    def all(self, field: str, terms: list[str], boost: float = 1.0) -> tantivy.Query:
        if len(terms) == 1:
            return self.term(field, terms[0], boost)
        return boosted(Q.boolean_query([(MUST, self.term(field, t)) for t in terms]), boost)

    def prefix(self, field: str, text: str, boost: float = 1.0) -> tantivy.Query:
        if field in EXPANDED_FIELDS:
            terms = self.expand(field, text)[:MAX_EXPANSIONS]
            if not terms:
                return Q.empty_query()
            return boosted(any_of([self.term(field, t) for t in terms]), boost)
        return boosted(Q.regex_query(self.schema, field, re.escape(text) + ".*"), boost)

    # ------------------------------------------------------------------ clauses
    def cjk(self, c: CJKClause, grounds: Mapping[str, list[str]]) -> tantivy.Query:
        if c.single:
            # no unigram index: a lone character matches bigrams that start with it
            # (or a lone indexed character), in names only
            return any_of(
                [
                    boosted(any_of([self.term(f, c.text), self.prefix(f, c.text)]), w)
                    for f, w in TEXT_FIELDS
                    if f in ("name_t", "core_t")
                ]
            )
        alts = [self.all(f, c.bigrams, w) for f, w in TEXT_FIELDS]
        # the legal text of a ground is the same for every document with that ground,
        # so it is matched here once instead of being indexed per document
        alts += [
            self.term("ground", code, GROUND_TEXT_BOOST)
            for code, texts in grounds.items()
            if any(all(g in text for g in c.bigrams) for text in texts)
        ]
        if c.pinyin:
            pairs = dedupe(f"{a}_{b}" for a, b in pairwise(c.pinyin))
            alts.append(self.all("py2", pairs, HOMOPHONE_FACTOR))
        if c.relaxed:
            alts += [
                self.all(f, c.relaxed, w * RELAXED_FACTOR)
                for f, w in TEXT_FIELDS
                if f in ("name_t", "core_t")
            ]
        q = any_of(alts)
        bonus = [self.term("name_t", w, WORD_BONUS) for w in c.words]
        if c.suffix_bigrams:
            bonus.append(self.all("name_t", c.suffix_bigrams, SUFFIX_BONUS))
        return and_maybe(q, any_of(bonus)) if bonus else q

    def _pinyin(self, seg: list[str], prefix: bool, relax: bool) -> list[tantivy.Query]:
        def last(field: str, text: str) -> tantivy.Query:
            return self.prefix(field, text) if prefix else self.term(field, text)

        if len(seg) == 1:
            return [last("py1", seg[0])]
        pairs = [self.term("py2", f"{a}_{b}") for a, b in pairwise(seg[:-1])]
        pairs.append(last("py2", f"{seg[-2]}_{seg[-1]}"))
        out = [boosted(Q.boolean_query([(MUST, p) for p in pairs]), 2.0)]
        if relax and 3 <= len(seg) <= RELAX_MAX_SYLLABLES and seg[-1] in PINYIN_SYLLABLES:
            # all syllables present but not all adjacent (jiamusihengda skips 市); a
            # longer reading is a whole name, matched by pyw and the pairs, and this
            # alternative would only add names that share its common syllables
            out.append(self.all("py1", dedupe(seg), 0.3))
        return out

    def word(self, c: WordClause) -> tantivy.Query:
        t = c.text
        alts = [
            self.term("name_t", t, 2.0),
            self.term("core_t", t, 1.0),
            self.term("facts_t", t, 0.3),
        ]
        if t.isalpha() and len(t) >= 2:
            alts.append(self.prefix("pyw", t, 2.0) if c.prefix else self.term("pyw", t, 2.0))
            if len(t) <= 3:
                alts.append(self.term("pyi", t, 1.5))
            elif sum(ch in VOWELS for ch in t) < INITIALS_MAX_VOWELS:
                # initials trigrams anywhere, or a prefix of a word's / the name's initials
                alts.append(self.all("pyi", dedupe(initial_trigrams(t)), 1.5))
                alts.append(self.prefix("pyi", t, 1.5))
            for i, seg in enumerate(c.segmentations):
                alts.extend(self._pinyin(seg, c.prefix, relax=i == 0))
        elif t.isalpha():
            for seg in c.segmentations:
                alts.extend(self._pinyin(seg, False, relax=False))
        return any_of(alts)

    def clause(self, c, grounds: Mapping[str, list[str]] | None = None) -> tantivy.Query:
        return self.cjk(c, grounds or {}) if isinstance(c, CJKClause) else self.word(c)

    def text(
        self, plan: QueryPlan, grounds: Mapping[str, list[str]] | None = None
    ) -> tantivy.Query | None:
        """Full-text query for a non-empty, non-identifier plan (*grounds*: ground
        code → its normalized legal texts)."""
        required = [self.clause(c, grounds) for c in plan.clauses if not c.optional]
        optional = [self.clause(c, grounds) for c in plan.clauses if c.optional]
        if not required:
            return None
        q = required[0] if len(required) == 1 else Q.boolean_query([(MUST, r) for r in required])
        return and_maybe(q, any_of(optional)) if optional else q

    def with_form_bonus(self, plan: QueryPlan, q: tantivy.Query) -> tantivy.Query:
        """Names with the legal form the query typed (恒达有限公司) score higher."""
        typed = {c.suffix for c in plan.clauses if isinstance(c, CJKClause) and c.suffix}
        if not typed:
            return q
        forms = [v for v in self.expand("form", "") if any(v.endswith(t) for t in typed)]
        if not forms:
            return q
        bonus = Q.const_score_query(any_of([self.term("form", v) for v in forms]),
                                    LEGAL_FORM_BONUS)
        return and_maybe(q, bonus)

    def identifier(self, ident: str) -> tantivy.Query:
        return self.term("codes", ident)

    def filters(self, wanted: Mapping[str, frozenset[str]]) -> tantivy.Query | None:
        """Exact-match restrictions (scoring nothing) for :func:`split_filters`' result."""
        parts = []
        for key, values in sorted(wanted.items()):
            field = "code_hashes" if key == "code_hash" else key
            terms = [self.term(field, v) for v in sorted(values)]
            if not terms:
                return Q.empty_query()  # an empty list filters everything out
            parts.append(terms[0] if len(terms) == 1 else any_of(terms))
        if not parts:
            return None
        both = parts[0] if len(parts) == 1 else Q.boolean_query([(MUST, p) for p in parts])
        return Q.const_score_query(both, 0.0)


def indexable(text: str) -> bool:
    """*text* can be a term (a lone surrogate cannot: tantivy refuses it)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def boosted(q: tantivy.Query, boost: float) -> tantivy.Query:
    return q if boost == 1.0 else Q.boost_query(q, boost)


def any_of(queries: list[tantivy.Query]) -> tantivy.Query:
    if len(queries) == 1:
        return queries[0]
    return Q.boolean_query([(SHOULD, q) for q in queries])


def and_maybe(required: tantivy.Query, optional: tantivy.Query) -> tantivy.Query:
    return Q.boolean_query([(MUST, required), (SHOULD, optional)])


def restrict(q: tantivy.Query | None, restriction: tantivy.Query | None) -> tantivy.Query:
    """*q* limited to the documents *restriction* matches (either may be None)."""
    if q is None:
        return restriction if restriction is not None else Q.all_query()
    if restriction is None:
        return q
    return Q.boolean_query([(MUST, q), (MUST, restriction)])


def split_filters(kind: str | None, filters: Mapping | None) -> dict[str, frozenset[str]]:
    """{field: allowed values} of a search. ``filters['kind']`` overrides the *kind*
    argument; ``None`` / ``""`` values are ignored; a list/tuple/set value means any
    of those values; unknown names raise ``ValueError``."""
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
    return {k: frozenset(v for v in vs if v) for k, vs in wanted.items()}
