"""Rarest-term-first intersection and block-directory skipping over whoosh postings.

Profiling a full-name query showed almost all of its time in whoosh's
intersection of bigrams that occur in nearly every name (佳木, 有限, 公司):

* ``And`` builds its matcher tree by combining the two *largest* posting lists
  first, so a rare term is checked against a dense sub-tree document by
  document; :class:`RareFirstAnd` chains the sub-matchers from the smallest
  document frequency up, so a dense list is only asked about the handful of
  documents that already match every rarer term (same matches, same scores).
* :class:`FastTerm` gives long posting lists the block-directory matcher of
  :mod:`search_index.skipping` (whoosh walks every block header to skip far).
* :class:`AllOfMatcher` is one flat leapfrog over all terms of an ``And``.

:mod:`search_index.termcache` keeps each open segment's term look-ups. The
matchers check the search deadline (:mod:`search_index.deadline`).
"""

from __future__ import annotations

from bisect import bisect_left
from itertools import accumulate

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import (
    FilterMatcher,
    ListMatcher,
    Matcher,
    NullMatcher,
    ReadTooFar,
    WrappingMatcher,
)
from whoosh.query import And, Term

from .deadline import check_deadline
from .skipping import DIRECTORIES, SkippingLeafMatcher
from .termcache import CachedTermTable, cache_term_tables

__all__ = [
    "DIRECTORIES",
    "AllOfMatcher",
    "CachedTermTable",
    "FastTerm",
    "RareFirstAnd",
    "SkippingLeafMatcher",
    "cache_term_tables",
]

# Posting lists shorter than this (bytes on disk, ~8 blocks of 128 ids) keep
# whoosh's own matcher: walking a few block headers costs less than a directory.
MIN_DIRECTORY_BYTES = 4096
# RareFirstAnd reads whole posting lists up to this size (bytes on disk) as sets,
# at most EAGER_TERMS of them, stopping once EAGER_ENOUGH candidates are left.
EAGER_MAX_BYTES = 8192
EAGER_TERMS = 4
EAGER_ENOUGH = 32


def _leaf(m):
    while isinstance(m, WrappingMatcher):  # a boost, or the filter of deleted documents
        m = m.child
    return m


def _extent(m: W3LeafMatcher) -> int:
    n = m._length  # whoosh 2.7.5 sometimes keeps struct.unpack's 1-tuple here
    return n[0] if isinstance(n, tuple) else n


def _size(m) -> int:
    """A cheap size estimate of a matcher, comparable between term matchers."""
    leaf = _leaf(m)
    if isinstance(leaf, W3LeafMatcher):
        return _extent(leaf)
    if isinstance(leaf, ListMatcher):
        return len(leaf._ids)
    return 1 << 62


class FastTerm(Term):
    """A ``Term`` whose long posting lists skip with a block directory."""

    def matcher(self, searcher, context=None):
        m = super().matcher(searcher, context)
        leaf = _leaf(m)
        if type(leaf) is W3LeafMatcher and _extent(leaf) >= MIN_DIRECTORY_BYTES:
            segment = getattr(searcher.reader(), "segment", None)
            if segment is not None:
                leaf.__class__ = SkippingLeafMatcher
                leaf._dir_key = (segment().segment_id(), leaf._startoffset, self.fieldname)
        return m


class CandidateMatcher(ListMatcher):
    """A sorted list of candidate docnums that adds nothing to the score."""

    def skip_to(self, id):
        if not self.is_active():
            raise ReadTooFar
        self._i = bisect_left(self._ids, id, self._i)

    def weight(self):
        return 0.0

    def score(self):
        return 0.0


def _ids_of(m) -> set[int] | None:
    """Every docnum of a term matcher (deleted documents left out), or None if *m*
    is no term matcher. Leaves *m* reset to its first match."""
    exclude: list = []
    leaf = m
    while isinstance(leaf, WrappingMatcher):
        if isinstance(leaf, FilterMatcher):
            if not leaf._exclude:
                return None
            exclude.append(leaf._ids)
        leaf = leaf.child
    if isinstance(leaf, ListMatcher):
        ids = set(leaf._ids)
    elif isinstance(leaf, W3LeafMatcher):
        ids = set()
        leaf.reset()
        while leaf.is_active():
            check_deadline()
            if leaf._data is None:
                leaf._read_data()
            raw = leaf._data[0]
            ids.update(raw if leaf._byteids else accumulate(raw))
            leaf._next_block()
        m.reset()
    else:
        return None
    for deleted in exclude:
        ids.difference_update(deleted)
    return ids


class AllOfMatcher(Matcher):
    """Documents matched by every sub-matcher; the first drives (rarest first).

    One flat leapfrog instead of a chain of binary ``IntersectionMatcher``: in
    a chain of n, every ``is_active``/``id`` call recurses n levels. The score
    is the sum of the sub-scores in order, as the chain would add them.
    """

    def __init__(self, subs):
        self._subs = subs
        self._active = True
        self._id = None
        self._align(subs[0].id() if subs[0].is_active() else None)

    def _align(self, target) -> None:
        """Move to the first document >= *target* (a driver id) that all match."""
        subs = self._subs
        driver = subs[0]
        while target is not None:
            for m in subs[1:]:
                if m.id() < target:
                    m.skip_to(target)
                    if not m.is_active():
                        self._active = False
                        return
                if m.id() > target:
                    driver.skip_to(m.id())
                    target = driver.id() if driver.is_active() else None
                    break
            else:
                self._id = target
                return
        self._active = False

    def is_active(self):
        return self._active

    def id(self):
        return self._id

    def next(self):
        driver = self._subs[0]
        driver.next()
        self._align(driver.id() if driver.is_active() else None)

    def skip_to(self, id):
        if not self._active:
            raise ReadTooFar
        if id <= self._id:
            return
        driver = self._subs[0]
        driver.skip_to(id)
        self._align(driver.id() if driver.is_active() else None)

    def reset(self):
        for m in self._subs:
            m.reset()
        self._active = True
        self._align(self._subs[0].id() if self._subs[0].is_active() else None)

    def children(self):
        return list(self._subs)

    def copy(self):
        return self.__class__([m.copy() for m in self._subs])

    def replace(self, minquality=0):
        return self if self._active else NullMatcher()

    def supports_block_quality(self):
        return False

    def weight(self):
        return sum(m.weight() for m in self._subs)

    def score(self):
        total = 0.0
        for m in self._subs:
            total += m.score()
        return total


class RareFirstAnd(And):
    """``And`` intersecting from the rarest sub-query up (a left-deep chain).

    Term sub-matchers are ordered by the size of their posting lists on disk
    (no extra term look-up); any other sub-query counts as large. The docnums of
    the rarest short lists are intersected as sets first (C speed instead of a
    leapfrog in Python); the chain then only visits those candidates and scores
    them exactly as whoosh's ``And`` would.
    """

    def _matcher(self, subs, searcher, context):
        sized = []
        for i, q in enumerate(subs):
            sub = q.matcher(searcher, context)
            if not sub.is_active():
                return NullMatcher()
            sized.append((_size(sub), i, sub))
        sized.sort(key=lambda t: t[:2])
        candidates = None
        for size, _, sub in sized[:EAGER_TERMS]:
            if size > EAGER_MAX_BYTES:
                break
            ids = _ids_of(sub)
            if ids is None:
                break
            candidates = ids if candidates is None else candidates & ids
            if len(candidates) <= EAGER_ENOUGH:
                break
        chain = [sub for _, _, sub in sized]
        if candidates is not None:
            if not candidates:
                return NullMatcher()
            chain.insert(0, CandidateMatcher(sorted(candidates)))
        m = AllOfMatcher(chain)
        if not m.is_active():
            return NullMatcher()
        if self.boost != 1.0:
            m = WrappingMatcher(m, self.boost)
        return m
