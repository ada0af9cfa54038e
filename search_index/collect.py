"""Scoring collector: exhaustive top-N with array filters and a legal-form boost."""

from __future__ import annotations

from whoosh.collectors import TopCollector
from whoosh.query import Query

from .deadline import check_deadline

CHECK_EVERY = 512  # collected documents between two deadline checks

LEGAL_FORM_FACTOR = 1.5  # score multiplier when the name has the legal form typed


class RankingCollector(TopCollector):
    """Exhaustive top-N collector with array filters and a legal-form multiplier.

    Whoosh's default collector prunes the query tree once the heap is full
    (``matcher.replace(minscore)`` / block-quality skipping); with ``AndMaybe``
    and ``Require`` this drops real matches (and trips an assertion in
    ``IntersectionMatcher``), so every match is scored here. When the query
    named a legal form (恒达有限公司), documents with that form get
    ``LEGAL_FORM_FACTOR`` × their score.
    """

    def __init__(self, limit: int, forms=None, form_codes=frozenset(), allow=(), collect_all=False):
        super().__init__(limit=limit, usequality=False, replace=0)
        self.forms = forms
        self.form_codes = form_codes
        self.allow = allow
        self.all_docs: list[int] | None = [] if collect_all else None
        self._seen = 0

    def collect(self, sub_docnum):
        self._seen += 1
        if not self._seen % CHECK_EVERY:
            check_deadline()
        global_docnum = self.offset + sub_docnum
        for arr, codes in self.allow:
            if arr[global_docnum] not in codes:
                return 0
        if self.all_docs is not None:
            self.all_docs.append(global_docnum)
        score = self.matcher.score()
        if self.forms is not None and self.forms[global_docnum] in self.form_codes:
            score *= LEGAL_FORM_FACTOR
        return self._collect(global_docnum, score)


def top_docs(
    searcher, q: Query, limit: int, forms=None, form_codes=frozenset(), allow=(), collect_all=False
) -> tuple[list[tuple[float, int]], list[int] | None]:
    """([(score, docnum)] best first, every matching docnum if *collect_all*).

    *allow* is a sequence of (docnum → code array, allowed codes) filters.
    See :class:`RankingCollector`.
    """
    collector = RankingCollector(max(1, limit), forms, form_codes, allow, collect_all)
    searcher.search_with_collector(q, collector)
    return collector.results().top_n, collector.all_docs
