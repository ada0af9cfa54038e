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

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import IntersectionMatcher, NullMatcher, ReadTooFar, WrappingMatcher
from whoosh.query import And, Term
from whoosh.system import _INT_SIZE

from .deadline import check_deadline

# Posting lists shorter than this (bytes on disk, ~8 blocks of 128 ids) keep
# whoosh's own matcher: walking a few block headers costs less than a directory.
MIN_DIRECTORY_BYTES = 4096
MAX_DIRECTORY_BLOCKS = 2_000_000  # per process, all directories together (~24 MB)


class _Directories:
    """LRU of (segment id, field, term) → (block max ids, block offsets)."""

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
            self._blocks += len(item[0])
            while self._blocks > self.max_blocks and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._blocks -= len(old[0])

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._blocks = 0

    def __len__(self) -> int:
        return len(self._items)


DIRECTORIES = _Directories(MAX_DIRECTORY_BLOCKS)


def _read_directory(m: W3LeafMatcher) -> tuple[array, array]:
    """Max id and file offset of every block of *m*'s posting list (headers only)."""
    f = m._postfile
    pos = m._baseoffset
    maxids, offsets = array("q"), array("q")
    while True:
        check_deadline()
        f.seek(pos)
        length = f.read_int()
        info = f.read_pickle()
        maxids.append(info[1])
        offsets.append(pos)
        if length < 0:
            return maxids, offsets
        pos += _INT_SIZE + length


class SkippingLeafMatcher(W3LeafMatcher):
    """``W3LeafMatcher`` whose ``skip_to`` bisects a block directory, then the block."""

    _dir_key = None
    _directory = None

    def _goto(self, position):
        check_deadline()
        super()._goto(position)

    def _block_directory(self):
        d = self._directory
        if d is None:
            d = DIRECTORIES.get(self._dir_key)
            if d is None:
                d = _read_directory(self)
                DIRECTORIES.put(self._dir_key, d)
            self._directory = d
        return d

    def skip_to(self, targetid):
        if not self.is_active():
            raise ReadTooFar
        if targetid <= self.id():
            return
        if targetid > self._maxid:
            maxids, offsets = self._block_directory()
            k = bisect_left(maxids, targetid)
            if k >= len(maxids):
                self._atend = True
                return
            self._goto(offsets[k])
        if self._ids is None:
            self._read_ids()
        self._i = bisect_left(self._ids, targetid, self._i)
        if self._i >= self._blocklength:  # pragma: no cover - a block's max id bounds it
            self._next_block()


def _leaf(m):
    return m.child if isinstance(m, WrappingMatcher) else m


def _extent(m: W3LeafMatcher) -> int:
    n = m._length  # whoosh 2.7.5 sometimes keeps struct.unpack's 1-tuple here
    return n[0] if isinstance(n, tuple) else n


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


class RareFirstAnd(And):
    """``And`` intersecting from the rarest sub-query up (a left-deep chain)."""

    def _matcher(self, subs, searcher, context):
        reader = searcher.reader()
        sized = sorted(
            ((q.estimate_size(reader), i, q) for i, q in enumerate(subs)), key=lambda t: t[:2]
        )
        if sized[0][0] == 0:
            return NullMatcher()
        m = None
        for _, _, q in sized:
            sub = q.matcher(searcher, context)
            if not sub.is_active():
                return NullMatcher()
            m = sub if m is None else IntersectionMatcher(m, sub)
            if not m.is_active():
                return NullMatcher()
        if self.boost != 1.0:
            m = WrappingMatcher(m, self.boost)
        return m
