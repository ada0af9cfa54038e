"""Totals, facet counts and browse order of a search (mixed into SearchIndex)."""

from __future__ import annotations

import heapq
from collections import Counter

from whoosh.query import Query

from .deadline import check_deadline
from .docarrays import DATE_FIELD

_STATS_CACHE = 256  # (query, filters) → total, facet counts [, browse order]


class TallyMixin:
    """Uses the index's ``_stats`` (an OrderedDict) and ``_arrays`` (DocArrays)."""

    def _remember(self, key, docs: list[int], arrays, facets, order):
        entry = (len(docs), self._facet_counts(arrays, docs, facets), order)
        self._stats[key] = entry
        if len(self._stats) > _STATS_CACHE:
            self._stats.popitem(last=False)
        return entry

    @staticmethod
    def _matching(s, mq: Query | None, allow) -> list[int]:
        """All docnums matching *mq* (every live document if None) and the filters."""
        reader = s.reader()
        if mq is None:
            docs = list(reader.all_doc_ids()) if reader.doc_count_all() else []
        else:
            docs = list(s.docs_for_query(mq))
        for arr, codes in allow:
            docs = [d for d in docs if arr[d] in codes]
        return docs

    def _facet_counts(self, arrays, docs: list[int], facets) -> dict[str, dict[str, int]]:
        out = {}
        for f in facets:
            check_deadline()
            counter = Counter(map(arrays[f].__getitem__, docs))
            out[f] = {
                self._arrays.value(f, code): n
                for code, n in sorted(
                    counter.items(), key=lambda kv: (-kv[1], self._arrays.value(f, kv[0]))
                )
                if code
            }
        return out

    @staticmethod
    def _browse_order(arrays, docs: list[int], n: int) -> list[int]:
        """The *n* newest documents (``listed_on`` desc, then newest docnum)."""
        listed = arrays[DATE_FIELD]
        return heapq.nlargest(n, docs, key=lambda d: (listed[d], d))
