"""A cache in front of a segment's term table (see :class:`CachedTermTable`)."""

from __future__ import annotations


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
