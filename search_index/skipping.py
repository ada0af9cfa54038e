"""Skipping far in a long whoosh posting list: a directory of its block headers.

``W3LeafMatcher.skip_to`` reaches a far document by reading (and unpickling)
every block header on the way, then steps through the block one id at a time.
:class:`SkippingLeafMatcher` bisects a per-process directory of the blocks'
maximum ids (read once per segment and term, kept in :data:`DIRECTORIES`),
enters the block without reading its header again and bisects inside it.
"""

from __future__ import annotations

import os
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from itertools import accumulate

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching import ReadTooFar
from whoosh.system import _INT_SIZE
from whoosh.util.numeric import byte_to_length

from .deadline import check_deadline

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
# a child forked while another thread held the lock starts with a free one
os.register_at_fork(after_in_child=lambda: setattr(DIRECTORIES, "_lock", threading.Lock()))


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
