"""SearchIndex: plain dicts in, ids out.

One indexer process writes (``rebuild`` / ``upsert`` / ``delete``) under a
cross-process whoosh file lock; any number of processes search. Each
``SearchIndex`` keeps one whoosh searcher and checks at most every
``refresh_interval`` seconds whether it is stale (new commit, or a ``rebuild``
swapped generations); only then is a new searcher opened. It never opens the
index per request.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from whoosh.index import EmptyIndexError, open_dir
from whoosh.query import Query, Require
from whoosh.reading import ReaderClosed

from . import suggest as _suggest
from .analysis import ANALYSIS_VERSION
from .collect import top_docs
from .deadline import check_deadline, deadline
from .docarrays import DATE_FIELD, DocArrays
from .fastmatch import cache_term_tables
from .highlight import highlight_name, highlight_snippet
from .querybuild import identifier_query, split_filters, text_query
from .queryplan import CJKClause, QueryPlan, analyze_query
from .schema import FACET_FIELDS
from .store import IndexStore, read_analysis, read_grounds
from .tally import TallyMixin
from .writing import WriterMixin

DEFAULT_FACETS = ("ground", "subject_kind", "year")
MAX_PER_PAGE = 200
SUGGEST_BELOW = 3  # compute "did you mean" when fewer hits than this
PAGE_CACHE = 512  # whole result pages kept per index generation
BROWSE_CACHE = 1000  # browse mode keeps this many newest docnums per filter set


@dataclass
class Hit:
    id: str
    score: float
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class Results:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    page: int
    per_page: int
    exact: bool
    suggestion: str | None

    def copy(self) -> Results:
        """A copy for one caller (a cached page is shared)."""
        hits = [replace(h, highlights=dict(h.highlights)) for h in self.hits]
        return replace(self, hits=hits, facets={f: dict(c) for f, c in self.facets.items()})


class SearchIndex(TallyMixin, WriterMixin):
    """Whoosh index at *path* (a directory; created lazily on first write)."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        refresh_interval: float = 1.0,
        lock_timeout: float = 5.0,
        time_limit: float | None = None,
    ):
        self.path = Path(path)
        self.time_limit = time_limit  # default budget of search(), seconds
        self.refresh_interval = max(0.0, float(refresh_interval))
        self.lock_timeout = float(lock_timeout)
        self._store = IndexStore(self.path)
        self._init_reader_state()

    def _init_reader_state(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.RLock()
        self._write_mutex = threading.Lock()
        self._searcher = None
        self._ix = None
        self._grounds: dict[str, list[str]] = {}
        self._gen: str | None = None
        self._next_check = 0.0
        self._epoch = 0
        self._closed = False
        self._stats: OrderedDict = OrderedDict()
        self._pages: OrderedDict = OrderedDict()  # whole result pages, this generation
        self._arrays = DocArrays()

    def __repr__(self) -> str:
        return f"SearchIndex({str(self.path)!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ reading side
    def _reader_lock(self) -> threading.RLock:
        """The instance lock; after a fork (gunicorn ``--preload``) the child starts
        with fresh locks and no inherited searcher or file handles."""
        if os.getpid() != self._pid:
            self._init_reader_state()
        return self._lock

    def _searcher_pid_marker(self) -> tuple[int, int]:
        """(pid, id of the searcher) – lets tests see that a fork reopened."""
        return self._pid, id(self._searcher)

    def _get_searcher(self):
        """The shared searcher, refreshed if due (call with ``self._lock`` held)."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        now = time.monotonic()
        if self._searcher is not None and now < self._next_check:
            return self._searcher
        self._next_check = now + self.refresh_interval
        gen = self._store.current_name()
        if gen is None:
            self._set_searcher(None, None)
        elif self._searcher is None or gen != self._gen:
            self._open(gen)
        else:
            # Same generation directory: reopen only if a commit happened. This is
            # what ``searcher.refresh()`` does, minus its reader reuse: in
            # whoosh-reloaded 2.7.5 ``FileIndex._reader(reuse=...)`` re-adds
            # segments that a merge removed and keeps stale deletion sets, so an
            # upserted document would show up twice.
            try:
                stale = self._ix.latest_generation() != self._searcher.reader().generation()
            except (OSError, EmptyIndexError):
                stale = True
            if stale:
                self._open(gen)
        return self._searcher

    def _open(self, gen: str) -> None:
        last_error: Exception | None = None
        for _ in range(3):  # a concurrent rebuild may retire gen between read and open
            try:
                gen_dir = self._store.gen_dir(gen)
                ix = open_dir(str(gen_dir))
                searcher = ix.searcher()
                cache_term_tables(searcher)
                grounds = read_grounds(gen_dir)
            except (OSError, EmptyIndexError) as e:
                last_error = e
                gen = self._store.current_name()
                if gen is None:
                    self._set_searcher(None, None)
                    return
                continue
            self._ix = ix
            self._grounds = grounds
            self._set_searcher(searcher, gen)
            return
        raise RuntimeError(f"cannot open search index {self.path}: {last_error}")

    def _set_searcher(self, searcher, gen) -> None:
        old = self._searcher
        self._searcher, self._gen = searcher, gen
        self._epoch += 1
        self._stats.clear()
        self._pages.clear()
        if old is not None and old is not searcher:
            _close_quietly(old)

    def _invalidate(self) -> None:
        """After our own write: refresh on the next read (read-your-writes)."""
        self._next_check = 0.0

    def exists(self) -> bool:
        """The index has a live generation on disk (it was built and not deleted since)."""
        gen = self._store.current_name()
        return gen is not None and self._store.gen_dir(gen).is_dir()

    def current(self) -> bool:
        """The live generation was written with this code's analysis (else: rebuild it)."""
        gen = self._store.current_name()
        return gen is not None and read_analysis(self._store.gen_dir(gen)) == ANALYSIS_VERSION

    def doc_count(self) -> int:
        with self._reader_lock():
            s = self._get_searcher()
            return 0 if s is None else s.doc_count()

    def ids(self) -> dict[str, str]:
        """id → fingerprint (``doc["version"]`` or :func:`search_index.fingerprint`)."""
        with self._reader_lock():
            s = self._get_searcher()
            if s is None:
                return {}
            reader = s.reader()
            if reader.doc_count_all() == 0:
                return {}
            ids = reader.column_reader("id")
            fps = reader.column_reader("fp")
            out = {}
            for docnum in reader.all_doc_ids():
                fp = fps[docnum]
                out[ids[docnum]] = fp.decode("utf-8") if isinstance(fp, bytes) else str(fp)
            return out

    def search(
        self,
        q: str,
        *,
        filters: Mapping[str, str | int] | None = None,
        facets: Sequence[str] = DEFAULT_FACETS,
        page: int = 1,
        per_page: int = 20,
        kind: str | None = "entry",
        time_limit: float | None = None,
    ) -> Results:
        """Search names, pinyin, facts; identifiers short-circuit to exact lookup.

        An empty (or punctuation-only) query lists everything that passes the
        filters, newest ``listed_on`` first. Unknown filter or facet names raise
        ``ValueError``; odd query text never raises. A search that runs longer
        than *time_limit* seconds (default: the instance's ``time_limit``; None
        for no limit) raises :class:`~search_index.deadline.SearchTimeout`.
        """
        limit = self.time_limit if time_limit is None else time_limit
        page = max(1, int(page or 1))
        per_page = max(1, min(int(per_page or 20), MAX_PER_PAGE))
        facets = tuple(dict.fromkeys(facets or ()))
        for f in facets:
            if f not in FACET_FIELDS:
                raise ValueError(f"unknown facet {f!r}; expected one of {', '.join(FACET_FIELDS)}")
        array_filters, query_filter = split_filters(kind, filters)
        plan = analyze_query(q)
        exact = plan.identifier is not None or bool(filters and filters.get("code_hash"))

        started = time.monotonic()
        with self._reader_lock():
            waited = time.monotonic() - started
            self._prepare(array_filters, facets)
            # the budget counts waiting for the instance lock, not opening a new
            # searcher and loading its facet arrays (once per generation/commit)
            with deadline(None if limit is None else limit - waited):
                check_deadline()
                return self._search_retrying(
                    plan, array_filters, query_filter, facets, page, per_page, exact
                )

    def _prepare(self, array_filters, facets) -> None:
        """Open the current searcher and load the value arrays a search will read."""
        try:
            s = self._get_searcher()
            if s is not None:
                arrays = self._arrays.get(s, self._epoch)
                for f in {*facets, *array_filters, "form", DATE_FIELD}:
                    arrays[f]
        except (OSError, ReaderClosed, TypeError):
            self._set_searcher(None, None)  # the search reopens and retries
            self._next_check = 0.0

    def _search_retrying(self, plan, array_filters, query_filter, facets, page, per_page, exact):
        try:
            return self._search_locked(
                plan, array_filters, query_filter, facets, page, per_page, exact
            )
        except (OSError, ReaderClosed, TypeError):
            # Files vanished under an old searcher: a retired generation, or small
            # segments that another process's commit merged away. Segment columns
            # open lazily, and whoosh then reports the missing column as None
            # (TypeError: 'NoneType' object is not subscriptable). Reopen on the
            # current index and retry once; a second failure propagates.
            self._set_searcher(None, None)
            self._next_check = 0.0
            return self._search_locked(
                plan, array_filters, query_filter, facets, page, per_page, exact
            )

    def _search_locked(self, plan, array_filters, query_filter, facets, page, per_page, exact):
        s = self._get_searcher()
        if s is None:
            return Results(0, [], {f: {} for f in facets}, page, per_page, exact, None)
        arrays = self._arrays.get(s, self._epoch)
        allow = [
            (arrays[f], self._arrays.code_set(f, values))
            for f, values in sorted(array_filters.items())
        ]
        if plan.identifier:
            mq: Query | None = identifier_query(plan.identifier)
        else:
            mq = text_query(plan, self._grounds)
        if query_filter is not None:
            mq = query_filter if mq is None else Require(mq, query_filter)
        browse = mq is None

        offset = (page - 1) * per_page
        limit = offset + per_page
        key = (self._epoch, repr(mq), tuple(sorted(array_filters.items())), facets)
        page_key = (key, plan.text, page, per_page)
        done = self._pages.get(page_key)
        if done is not None:  # the same page of the same index generation
            self._pages.move_to_end(page_key)
            return done.copy()
        cached = self._stats.get(key)
        if cached is not None:
            self._stats.move_to_end(key)
        docs: list[int] | None = None
        top: list[tuple[float, int]] = []
        if browse:
            if cached is None:
                docs = self._matching(s, None, allow)
                order = self._browse_order(arrays, docs, BROWSE_CACHE)
                cached = self._remember(key, docs, arrays, facets, order)
            total, counts, order = cached
            if offset < total:
                if limit > len(order) and len(order) < total:  # deep page
                    if docs is None:
                        docs = self._matching(s, None, allow)
                    order = self._browse_order(arrays, docs, limit)
                top = [(0.0, d) for d in order[offset:limit]]
        elif cached is None or offset < cached[0]:
            # one scoring pass; it also collects every match for total/facets
            typed = {c.suffix for c in plan.clauses if isinstance(c, CJKClause) and c.suffix}
            forms = arrays["form"] if typed else None
            form_codes = self._arrays.codes_where(
                "form", lambda v: any(v.endswith(t) for t in typed)
            )
            ranked, docs = top_docs(
                s, mq, limit, forms, form_codes, allow, collect_all=cached is None
            )
            if cached is None:
                cached = self._remember(key, docs, arrays, facets, None)
            top = ranked[offset:limit]
        total, counts, _ = cached
        hits = []
        names = []
        for score, docnum in top:
            stored = s.stored_fields(docnum)
            names.append(stored.get("name") or "")
            hits.append(
                Hit(
                    id=stored["id"],
                    score=float(score or 0.0),
                    highlights=self._highlights(stored, None if browse else plan),
                )
            )
        check_deadline()
        suggestion = None
        if not exact and not browse and total < SUGGEST_BELOW:
            suggestion = _suggest.for_results(
                s, plan, names, lambda: docs if docs is not None else self._matching(s, mq, allow)
            )
        facets_out = {f: dict(c) for f, c in counts.items()}
        done = Results(total, hits, facets_out, page, per_page, exact, suggestion)
        self._pages[page_key] = done
        if len(self._pages) > PAGE_CACHE:
            self._pages.popitem(last=False)
        return done.copy()

    @staticmethod
    def _highlights(stored: dict, plan: QueryPlan | None) -> dict[str, str]:
        return {
            "name": highlight_name(stored.get("name"), plan),
            "facts": highlight_snippet(stored.get("facts"), plan),
        }

    def clear_cache(self) -> None:
        """Forget cached pages, totals and facets (benchmarks time every search in full)."""
        with self._reader_lock():
            self._stats.clear()
            self._pages.clear()

    def suggest(self, q: str) -> str | None:
        """The nearest indexed name for a near miss ("did you mean"), else None."""
        plan = analyze_query(q)
        with self._reader_lock():
            s = self._get_searcher()
            if s is None:
                return None
            return _suggest.suggest(s, plan)

    def close(self) -> None:
        with self._reader_lock():
            if self._searcher is not None and os.getpid() == self._pid:
                _close_quietly(self._searcher)
            self._searcher = None
            self._gen = None
            self._closed = True


def _close_quietly(searcher) -> None:
    """Close a superseded searcher; its files may already be gone (a retired
    generation) – nothing useful can be done about that."""
    with contextlib.suppress(OSError, ReaderClosed):
        searcher.close()
