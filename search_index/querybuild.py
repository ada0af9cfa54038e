"""Turn a :class:`~search_index.analysis.QueryPlan` into tantivy queries.

Every clause becomes a boolean query over term queries: ``all`` of a clause's
bigrams must match in one field, any field may answer (with its boost), and
extras only add to the score. Term queries are lazy: tantivy intersects them
rarest first with skip lists, so common bigrams (有限, 公司) cost little.

Anchoring: next to a clause that matches few documents (宏隆印务 in
宏隆印务(佳木斯)有限责任公司), every term query of the other clauses also requires one of
that clause's rarest terms (scoring nothing). Matches and scores stay the same, but a
clause matching most documents (佳木斯) is only evaluated where the rare one could be:
tantivy fills a union of common parts window by window over the whole index, which
costs milliseconds at a million documents. Score bonuses are nested one per level for
the same reason (see :func:`with_bonuses`).

Prefixes: a prefix of a pinyin syllable or syllable pair (``py1`` / ``py2``, small
vocabularies) is expanded through the term dictionary into term queries; a prefix
of a whole-name reading or of initials (``pyw`` / ``pyi``, one term per name) or of
a lone character becomes a regular-expression query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from itertools import pairwise

import tantivy

from .analysis import dedupe, initial_trigrams
from .queryplan import MAX_READING, PINYIN_SYLLABLES, CJKClause, QueryPlan, WordClause
from .schema import (
    FILTER_FIELDS,
    GROUND_TEXT_BOOST,
    MARKER_ID,
    MARKER_KIND,
    TEXT_FIELDS,
    filter_value,
)

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
#: a CJK clause estimated to match at most this many documents anchors the others
ANCHOR_MAX_DOCS = 20_000
EXPANDED_FIELDS = ("py1", "py2")  # prefix → the terms themselves (a small vocabulary)
MAX_EXPANSIONS = 64


class Builder:
    """Builds queries against one schema; *expand(field, prefix)* lists the indexed
    terms of a field that start with *prefix* (the engine caches it per generation);
    *doc_freq(field, term)* counts the documents holding a term (None: no anchoring)."""

    def __init__(self, schema: tantivy.Schema, expand: Callable[[str, str], list[str]],
                 doc_freq: Callable[[str, str], int] | None = None):
        self.schema = schema
        self.expand = expand
        self.doc_freq = doc_freq
        self._anchor: tantivy.Query | None = None

    # ------------------------------------------------------------------ building blocks
    def _raw(self, field: str, text: str) -> tantivy.Query:
        if not indexable(text):
            return Q.empty_query()  # nothing indexed can be equal to it
        return Q.term_query(self.schema, field, text)

    def _anchored(self, parts: list[tantivy.Query]) -> tantivy.Query:
        if self._anchor is not None:
            parts = [*parts, self._anchor]
        return parts[0] if len(parts) == 1 else Q.boolean_query([(MUST, p) for p in parts])

    def term(self, field: str, text: str, boost: float = 1.0) -> tantivy.Query:
        return boosted(self._anchored([self._raw(field, text)]), boost)

    def all(self, field: str, terms: list[str], boost: float = 1.0) -> tantivy.Query:
        return boosted(self._anchored([self._raw(field, t) for t in terms]), boost)

    def prefix(self, field: str, text: str, boost: float = 1.0) -> tantivy.Query:
        if field in EXPANDED_FIELDS:
            terms = self.expand(field, text)[:MAX_EXPANSIONS]
            if not terms:
                return Q.empty_query()
            return boosted(any_of([self.term(field, t) for t in terms]), boost)
        regex = Q.regex_query(self.schema, field, re.escape(text) + ".*")
        return boosted(self._anchored([regex]), boost)

    @contextmanager
    def anchored(self, q: tantivy.Query) -> Iterator[None]:
        """Within the block every term query also requires *q* (scoring nothing): for
        parts that only matter on the documents *q* matches."""
        outer = self._anchor
        self._anchor = Q.const_score_query(q, 0.0)
        try:
            yield
        finally:
            self._anchor = outer

    def rarest(self, c) -> list[tuple[int, str, str]] | None:
        """(documents, field, term): the rarest term of each alternative of a CJK clause of
        two or more characters, which every document matching the clause holds one of;
        None when not known (no counts, another kind of clause)."""
        if self.doc_freq is None or not isinstance(c, CJKClause) or c.single:
            return None
        return [min((self.doc_freq(f, t), f, t) for t in terms) for f, terms, _ in matching(c)]

    # ------------------------------------------------------------------ clauses
    def cjk(self, c: CJKClause, grounds: Mapping[str, list[str]]) -> tantivy.Query:
        """A CJK run: its bigrams in a name, the facts or a ground's legal text, or its
        sound (a homophone typo); the bonuses only add to the score.

        The name-core fields hold a subset of the name's tokens and the relaxed bigrams
        are a subset of all of them, so a document matching the strict name bigrams or
        either core alternative also matches the relaxed name bigrams: those three score,
        as optional parts, only documents that the required alternatives found. Matches
        and scores are those of a union of all of them, but the common bigrams are
        intersected once instead of five times."""
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
        weight = dict(TEXT_FIELDS)
        required = [self.all(f, terms, boost) for f, terms, boost in matching(c)]
        # the legal text of a ground is the same for every document with that ground,
        # so it is matched here once instead of being indexed per document
        required += [self.term("ground", code, GROUND_TEXT_BOOST) for code in in_grounds(c, grounds)]
        scoring = [self.all("core_t", c.bigrams, weight["core_t"])]
        if c.relaxed:
            scoring += [self.all("name_t", c.bigrams, weight["name_t"]),
                        self.all("core_t", c.relaxed, weight["core_t"] * RELAXED_FACTOR)]
        scoring += [self.term("name_t", w, WORD_BONUS) for w in c.words]
        if c.suffix_bigrams:
            scoring.append(self.all("name_t", c.suffix_bigrams, SUFFIX_BONUS))
        return with_bonuses(any_of(required), scoring)

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
            if c.segmentations or len(t) > MAX_READING:
                # a whole reading (jiamusihengda…); letters that no syllables spell
                # (jmshd) cannot begin one, and a prefix query costs a quarter millisecond
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
        if not any(not c.optional for c in plan.clauses):
            return None
        anchor = self._anchor_terms(plan, grounds or {})
        with self.anchored(anchor) if anchor is not None else nullcontext():
            built = [(c.optional, self.clause(c, grounds)) for c in plan.clauses]
        required = [q for optional, q in built if not optional]
        q = required[0] if len(required) == 1 else Q.boolean_query([(MUST, r) for r in required])
        return with_bonuses(q, [q for optional, q in built if optional])

    def _anchor_terms(self, plan: QueryPlan, grounds: Mapping[str, list[str]]):
        """Next to other clauses, the rarest terms of the required clause that matches
        fewest documents, if it matches few: every document the query matches holds one
        of them. A clause found in a ground's legal text never anchors (every document
        of that ground matches it)."""
        if len(plan.clauses) < 2:
            return None
        found = [r for c in plan.clauses if not c.optional and not in_grounds(c, grounds)
                 if (r := self.rarest(c)) is not None]
        best = min(found, default=None, key=lambda r: sum(n for n, _, _ in r))
        if best is None or sum(n for n, _, _ in best) > ANCHOR_MAX_DOCS:
            return None
        terms = [self._raw(f, t) for n, f, t in best if n]
        return any_of(terms) if terms else Q.empty_query()  # it matches nothing

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

    def everything(self) -> tantivy.Query:
        """Every record: all documents but the position marker."""
        return Q.boolean_query([(MUST, Q.all_query()),
                                (tantivy.Occur.MustNot, Q.term_query(self.schema, "id", MARKER_ID))])

    def filters(self, wanted: Mapping[str, frozenset[str]]) -> tantivy.Query | None:
        """Exact-match restrictions (scoring nothing) for :func:`split_filters`' result."""
        parts = []
        for key, values in sorted(wanted.items()):
            field = "code_hashes" if key == "code_hash" else key
            if field in ("id", "kind"):   # the position marker is no record
                values = frozenset(v for v in values if v not in (MARKER_ID, MARKER_KIND))
            terms = [self.term(field, v) for v in sorted(values)]
            if not terms:
                return Q.empty_query()  # an empty list filters everything out
            parts.append(terms[0] if len(terms) == 1 else any_of(terms))
        if not parts:
            return None
        both = parts[0] if len(parts) == 1 else Q.boolean_query([(MUST, p) for p in parts])
        return Q.const_score_query(both, 0.0)


def matching(c: CJKClause) -> list[tuple[str, list[str], float]]:
    """(field, terms that must all be there, boost): the alternatives by which a CJK clause
    of two or more characters matches, besides a ground's legal text. The strict and core
    bigrams imply the relaxed name bigrams, so they only score (see :meth:`Builder.cjk`)."""
    weight = dict(TEXT_FIELDS)
    name = (("name_t", c.relaxed, weight["name_t"] * RELAXED_FACTOR) if c.relaxed
            else ("name_t", c.bigrams, weight["name_t"]))
    found = [name, ("facts_t", c.bigrams, weight["facts_t"])]
    if c.pinyin:
        # the homophone typo: the run's syllable pairs, whatever the characters
        found.append(("py2", dedupe(f"{a}_{b}" for a, b in pairwise(c.pinyin)), HOMOPHONE_FACTOR))
    return found


def in_grounds(c, grounds: Mapping[str, list[str]]) -> list[str]:
    """The ground codes whose legal text holds every bigram of a CJK clause."""
    if not isinstance(c, CJKClause) or c.single:
        return []
    return [code for code, texts in grounds.items()
            if any(all(g in text for g in c.bigrams) for text in texts)]


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


def with_bonuses(required: tantivy.Query, bonuses: list[tantivy.Query]) -> tantivy.Query:
    """*required*, each bonus adding its score where it matches. Nested one bonus per
    level: tantivy then seeks each bonus to the required matches, where a union of
    common bonuses would be filled window by window over most of the index."""
    for bonus in bonuses:
        required = and_maybe(required, bonus)
    return required


def restrict(q: tantivy.Query | None, restriction: tantivy.Query | None) -> tantivy.Query | None:
    """*q* limited to the documents *restriction* matches (either may be None; both None:
    None, every record — see :meth:`Builder.everything`)."""
    if q is None:
        return restriction
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
