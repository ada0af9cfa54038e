"""Rarest-term-first intersection and block-directory skipping over whoosh postings.

Profiling a full-name query showed almost all of its time in whoosh's
intersection of bigrams that occur in nearly every name (佳木, 有限, 公司):

* ``And`` builds its matcher tree by combining the two *largest* posting lists
  first, so a rare term is checked against a dense sub-tree document by
  document; :class:`RareFirstAnd` chains the sub-matchers from the smallest
  document frequency up, so a dense list is only asked about the handful of
  documents that already match every rarer term (same matches, same scores).
* ``W3LeafMatcher.skip_to`` reaches a far document by reading (and unpickling)
  every block header on the way and then stepping through the block one id at a
  time. :class:`FastTerm` gives long posting lists a matcher that jumps with a
  bisection over a per-process directory of block maximum ids (built once per
  segment and term, see :data:`DIRECTORIES`) and bisects inside the block.

Both check the search deadline (:mod:`search_index.deadline`) where the time goes.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
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
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

from .deadline import check_deadline

# Posting lists shorter than this (bytes on disk, ~8 blocks of 128 ids) keep
# whoosh's own matcher: walking a few block headers costs less than a directory.
MIN_DIRECTORY_BYTES = 4096
# RareFirstAnd reads whole posting lists up to this size (bytes on disk) as sets,
# at most EAGER_TERMS of them, stopping once EAGER_ENOUGH candidates are left.
EAGER_MAX_BYTES = 32768
EAGER_TERMS = 4
EAGER_ENOUGH = 32
MAX_DIRECTORY_BLOCKS = 1_000_000  # per process, all directories together (~33 MB)


class BlockDirectory:
    """Every block header of one posting list, as compact arrays."""

    __slots__ = ("maxids", "positions", "dataoffsets", "nextoffsets", "lengths", "weights",
                 "compression", "minlens", "maxlens")

    def __init__(self):
        self.maxids, self.positions = array("q"), array("q")
        self.dataoffsets, self.nextoffsets = array("q"), array("q")
        self.lengths, self.weights = array("l"), array("f")
        self.compression, self.minlens, self.maxlens = array("b"), array("B"), array("B")

    def __len__(self) -> int:
        return len(self.maxids)


class _Directories:
    """LRU of (segment id, postings offset, field) → :class:`BlockDirectory`."""

    def __init__(self, max_blocks: int):
        self.max_blocks = max_blocks
        self._lock = threading.Lock()
        self._items: OrderedDict = OrderedDict()
        self._blocks = 0

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key, item) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = item
            self._blocks += len(item)
            while self._blocks > self.max_blocks and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._blocks -= len(old)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._blocks = 0

    def __len__(self) -> int:
        return len(self._items)


DIRECTORIES = _Directories(MAX_DIRECTORY_BLOCKS)


def _read_directory(m: W3LeafMatcher) -> BlockDirectory:
    """The header of every block of *m*'s posting list (what ``_goto`` would read)."""
    f = m._postfile
    pos = m._baseoffset
    d = BlockDirectory()
    while True:
        check_deadline()
        f.seek(pos)
        length = f.read_int()
        last = length < 0
        length = abs(length)
        blocklength, maxid, maxweight, compression, mnlen, mxlen = f.read_pickle()
        d.maxids.append(maxid)
        d.positions.append(pos)
        d.dataoffsets.append(f.tell())
        d.nextoffsets.append(pos + _INT_SIZE + length)
        d.lengths.append(blocklength)
        d.weights.append(maxweight)
        d.compression.append(1 if compression else 0)
        d.minlens.append(mnlen)
        d.maxlens.append(mxlen)
        if last:
            return d
        pos += _INT_SIZE + length


class SkippingLeafMatcher(W3LeafMatcher):
    """``W3LeafMatcher`` whose ``skip_to`` bisects a block directory, then the block.

    A block reached through the directory is entered without reading its
    header again; block ids are delta-decoded with ``itertools.accumulate``.
    """

    _dir_key = None
    _directory = None

    def _block_directory(self) -> BlockDirectory:
        d = self._directory
        if d is None:
            d = DIRECTORIES.get(self._dir_key)
            if d is None:
                d = _read_directory(self)
                DIRECTORIES.put(self._dir_key, d)
            self._directory = d
        return d

    def _enter(self, d: BlockDirectory, k: int) -> None:
        """What ``_goto(d.positions[k])`` does, from the directory."""
        check_deadline()
        self._data = self._ids = self._weights = self._values = None
        self._i = 0
        self._blocklength = d.lengths[k]
        self._maxid = d.maxids[k]
        self._maxweight = d.weights[k]
        self._compression = d.compression[k]
        self._minlength = byte_to_length(d.minlens[k])
        self._maxlength = byte_to_length(d.maxlens[k])
        self._dataoffset = d.dataoffsets[k]
        self._nextoffset = d.nextoffsets[k]
        self._lastblock = k == len(d) - 1

    def _read_ids(self):
        if self._data is None:
            self._read_data()
        ids = self._data[0]
        self._ids = ids if self._byteids else tuple(accumulate(ids))

    def skip_to(self, targetid):
        if not self.is_active():
            raise ReadTooFar
        if targetid <= self.id():
            return
        if targetid > self._maxid:
            d = self._block_directory()
            k = bisect_left(d.maxids, targetid)
            if k >= len(d):
                self._atend = True
                return
            self._enter(d, k)
        if self._ids is None:
            self._read_ids()
        self._i = bisect_left(self._ids, targetid, self._i)
        if self._i >= self._blocklength:  # pragma: no cover - a block's max id bounds it
            self._next_block()


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


class CachedTermTable:
    """The term table of one open segment, remembering the terms already looked up.

    Building a query's matchers looks every term up three or four times
    (``in reader``, the scorer's term info, the postings, ``Or``'s size
    estimates), each a hash probe and a few reads in the terms file. The
    table of a segment never changes while it is open, so the answers are kept
    (bounded) for as long as the searcher lives.
    """

    _MISSING = object()

    def __init__(self, table, max_items: int = 100_000):
        self._table = table
        self._values: dict = {}
        self._ranges: dict = {}
        self._max = max_items

    def __getitem__(self, key):
        v = self._values.get(key, self._MISSING)
        if v is self._MISSING:
            try:
                v = self._table[key]
            except KeyError:
                v = None
            if len(self._values) >= self._max:
                self._values.clear()
            self._values[key] = v
        if v is None:
            raise KeyError(key)
        return v

    def __contains__(self, key) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True

    def range_for_key(self, key):
        r = self._ranges.get(key)
        if r is None:
            r = self._table.range_for_key(key)
            if len(self._ranges) >= self._max:
                self._ranges.clear()
            self._ranges[key] = r
        return r

    def __getattr__(self, name):
        return getattr(self._table, name)


def cache_term_tables(searcher) -> None:
    """Put a :class:`CachedTermTable` in front of every segment's terms (W3 codec)."""
    reader = searcher.reader()
    leaves = reader.leaf_readers() if reader.doc_count_all() else []
    for leaf, _ in leaves:
        terms = getattr(leaf, "_terms", None)
        table = getattr(terms, "_tindex", None)
        if table is not None and not isinstance(table, CachedTermTable):
            terms._tindex = CachedTermTable(table)
