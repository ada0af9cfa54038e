"""SearchIndex: plain dicts in, ids out.

One indexer process writes (``rebuild`` / ``upsert`` / ``delete``) under a
cross-process lock file; any number of processes search. Each ``SearchIndex``
keeps one tantivy index handle and searcher and checks at most every
``refresh_interval`` seconds whether it is stale (a new commit: ``meta.json``
replaced; or a ``rebuild`` swapped generations); only then does it reload. It
never opens the index per request.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import tantivy

from . import suggest as _suggest
from .analysis import ANALYSIS_VERSION
from .deadline import check_deadline, deadline
from .highlight import highlight_name, highlight_snippet
from .querybuild import Builder, restrict, split_filters
from .queryplan import analyze_query
from .schema import BROWSE_KEY, FACET_FIELDS, ID_FP, ID_FP_SEP, MARKER_ID
from .store import IndexStore, read_analysis, read_grounds
from .snapshot import SnapshotMixin
from .writing import WriterMixin, open_index, read_marker

DEFAULT_FACETS = ("ground", "subject_kind", "year")
MAX_PER_PAGE = 200
RESULT_WINDOW = 10_000  # hits a search pages through; deeper pages are empty (total still told)
SUGGEST_BELOW = 3  # compute "did you mean" when fewer hits than this
PAGE_CACHE = 512  # whole result pages kept per index generation
STATS_CACHE = 256  # (query, filters) → total and facet counts
FACET_SIZE = 1000  # distinct values counted per facet


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

    @property
    def pages(self) -> int:
        """Pages a reader can open: every hit, up to the first ``RESULT_WINDOW``."""
        return min(-(-self.total // self.per_page), max(1, RESULT_WINDOW // self.per_page))

    @property
    def truncated(self) -> bool:
        """More hits than the pages reach (narrow the search to see the rest)."""
        return self.total > self.pages * self.per_page

    def copy(self) -> Results:
        """A copy for one caller (a cached page is shared)."""
        hits = [replace(h, highlights=dict(h.highlights)) for h in self.hits]
        return replace(self, hits=hits, facets={f: dict(c) for f, c in self.facets.items()})


class _Generation:
    """One opened generation: the tantivy handle, its searcher and what is cached for it."""

    def __init__(self, name: str, ix: tantivy.Index, grounds: dict[str, list[str]], stamp):
        self.name = name
        self.ix = ix
        self.grounds = grounds
        self.stamp = stamp
        self.searcher = ix.searcher()
        self.position = read_marker(ix, self.searcher)
        self.records = self.searcher.num_docs - (self.position is not None)
        self.terms: dict[tuple[str, str], list[str]] = {}
        self.builder = Builder(ix.schema, self.expand, self.doc_freq)

    def doc_freq(self, field_name: str, text: str) -> int:
        try:
            return self.searcher.doc_freq(field_name, text)
        except (UnicodeEncodeError, ValueError):
            return 0  # a lone surrogate: no indexed term equals it

    def expand(self, field_name: str, prefix: str) -> list[str]:
        key = (field_name, prefix)
        terms = self.terms.get(key)
        if terms is None:
            terms = [t for t, _ in self.searcher.terms_with_prefix(field_name, prefix)]
            if len(self.terms) > 4096:
                self.terms.clear()
            self.terms[key] = terms
        return terms


class SearchIndex(WriterMixin, SnapshotMixin):
    """The index at *path* (a directory; created lazily on first write)."""

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
        self._gen: _Generation | None = None
        self._next_check = 0.0
        self._epoch = 0
        self._closed = False
        self._stats: OrderedDict = OrderedDict()
        self._pages: OrderedDict = OrderedDict()  # whole result pages, this generation

    def __repr__(self) -> str:
        return f"SearchIndex({str(self.path)!r})"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ reading side
    def _reader_lock(self) -> threading.RLock:
        """The instance lock; after a fork (gunicorn ``--preload``) the child starts
        with fresh locks and no inherited index handle."""
        if os.getpid() != self._pid:
            self._init_reader_state()
        return self._lock

    def _searcher_pid_marker(self) -> tuple[int, int]:
        """(pid, id of the searcher) – lets tests see that a fork reopened."""
        return self._pid, id(self._gen.searcher if self._gen else None)

    def _stamp(self, name: str):
        try:
            st = os.stat(self._store.tantivy_dir(name) / "meta.json")
        except OSError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _current(self) -> _Generation | None:
        """The open generation, refreshed if due (call with ``self._lock`` held)."""
        if self._closed:
            raise RuntimeError(f"{self!r} is closed")
        now = time.monotonic()
        if self._gen is not None and now < self._next_check:
            return self._gen
        self._next_check = now + self.refresh_interval
        name = self._store.current_name()
        stamp = None if name is None else self._stamp(name)
        if stamp is None:
            self._set(None)
        elif self._gen is None or name != self._gen.name:
            self._open(name, stamp)
        elif stamp != self._gen.stamp:  # a commit: reload the same handle
            gen = self._gen
            gen.ix.reload()
            self._set(_Generation(name, gen.ix, read_grounds(self._store.gen_dir(name)), stamp))
        return self._gen

    def _open(self, name: str, stamp) -> None:
        last_error: Exception | None = None
        for _ in range(3):  # a concurrent rebuild may retire the generation meanwhile
            try:
                ix = open_index(self._store.tantivy_dir(name))
                gen = _Generation(name, ix, read_grounds(self._store.gen_dir(name)), stamp)
            except (OSError, ValueError) as e:
                last_error = e
                name = self._store.current_name()
                stamp = None if name is None else self._stamp(name)
                if stamp is None:
                    self._set(None)
                    return
                continue
            self._set(gen)
            return
        raise RuntimeError(f"cannot open search index {self.path}: {last_error}")

    def _set(self, gen: _Generation | None) -> None:
        self._gen = gen
        self._epoch += 1
        self._stats.clear()
        self._pages.clear()

    def _invalidate(self) -> None:
        """After our own write: refresh on the next read (read-your-writes)."""
        self._next_check = 0.0

    def exists(self) -> bool:
        """The index has a live generation on disk (it was built and not deleted since)."""
        name = self._store.current_name()
        return name is not None and self._store.tantivy_dir(name).is_dir()

    def current(self) -> bool:
        """The live generation was written with this code's analysis (else: rebuild it)."""
        name = self._store.current_name()
        return name is not None and read_analysis(self._store.gen_dir(name)) == ANALYSIS_VERSION

    def doc_count(self) -> int:
        with self._reader_lock():
            gen = self._current()
            return 0 if gen is None else gen.records

    def position(self) -> dict | None:
        """Where the live generation stands in its source's change log, as last written with
        :meth:`apply` or :meth:`rebuild` (None: never written, or no index)."""
        with self._reader_lock():
            gen = self._current()
            return None if gen is None or gen.position is None else dict(gen.position)

    def ids(self) -> dict[str, str]:
        """id → fingerprint (``doc["version"]`` or :func:`search_index.fingerprint`)."""
        with self._reader_lock():
            gen = self._current()
            if gen is None or not gen.records:
                return {}
            s = gen.searcher
            found = s.search(
                tantivy.Query.all_query(), s.num_docs, count=False,
                order_by_field=ID_FP, order=tantivy.Order.Asc,
            )
            ids = dict(key.split(ID_FP_SEP, 1) for key, _ in found.hits)
            ids.pop(MARKER_ID, None)
            return ids

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
        ``ValueError``; odd query text never raises. Pages beyond the first
        ``RESULT_WINDOW`` hits are empty (their ``total`` is still counted). A search that runs longer
        than *time_limit* seconds (default: the instance's ``time_limit``; None
        for no limit) raises :class:`~search_index.deadline.SearchTimeout`; the
        limit is checked between the steps of a search (analysis, matching, facets,
        documents), each of which takes milliseconds and is not interrupted.
        """
        limit = self.time_limit if time_limit is None else time_limit
        page = max(1, int(page or 1))
        per_page = max(1, min(int(per_page or 20), MAX_PER_PAGE))
        facets = tuple(dict.fromkeys(facets or ()))
        for f in facets:
            if f not in FACET_FIELDS:
                raise ValueError(f"unknown facet {f!r}; expected one of {', '.join(FACET_FIELDS)}")
        wanted = split_filters(kind, filters)
        plan = analyze_query(q)
        exact = plan.identifier is not None or bool(filters and filters.get("code_hash"))

        started = time.monotonic()
        with self._reader_lock():
            waited = time.monotonic() - started
            gen = self._current()
            # the budget counts waiting for the instance lock, not opening a new
            # searcher (once per generation/commit)
            with deadline(None if limit is None else limit - waited):
                check_deadline()
                if gen is None:
                    return Results(0, [], {f: {} for f in facets}, page, per_page, exact, None)
                return self._search(gen, plan, wanted, facets, page, per_page, exact)

    def _search(self, gen: _Generation, plan, wanted, facets, page, per_page, exact) -> Results:
        filters_key = tuple(sorted((k, tuple(sorted(v))) for k, v in wanted.items()))
        key = (self._epoch, plan.identifier, plan.text, filters_key, facets)
        page_key = (key, page, per_page)
        done = self._pages.get(page_key)
        if done is not None:  # the same page of the same index generation
            self._pages.move_to_end(page_key)
            return done.copy()

        b = gen.builder
        s = gen.searcher
        if plan.identifier:
            mq = b.identifier(plan.identifier)
        else:
            mq = b.text(plan, gen.grounds)
        browse = mq is None
        if not browse:
            mq = b.with_form_bonus(plan, mq)
        query = restrict(mq, b.filters(wanted)) or b.everything()
        offset = (page - 1) * per_page
        cached = self._stats.get(key)
        check_deadline()
        # tantivy keeps offset + per_page candidates: past the window (or past every
        # document) a page only counts
        beyond = offset >= min(RESULT_WINDOW, s.num_docs)
        if beyond:
            found = s.search(query, 1, count=True, offset=0)
        elif browse:
            found = s.search(query, per_page, count=True, offset=offset,
                             order_by_field=BROWSE_KEY, order=tantivy.Order.Desc)
        else:
            found = s.search(query, per_page, count=True, offset=offset)
        total = found.count or 0
        page_hits = [] if beyond else found.hits
        check_deadline()
        stored_docs = [s.doc(address) for _, address in page_hits]
        if cached is None:
            # every match is on this page: count its facets from the documents
            whole = stored_docs if offset == 0 and total <= len(stored_docs) else None
            cached = self._remember(key, s, query, total, facets, whole)
        else:
            self._stats.move_to_end(key)
        hits: list[Hit] = []
        names: list[str] = []
        for (score, _), stored in zip(page_hits, stored_docs, strict=True):
            name = _text(stored.get_first("name"))
            names.append(name)
            hits.append(
                Hit(
                    id=stored.get_first("id"),
                    score=0.0 if browse else float(score or 0.0),
                    highlights={
                        "name": highlight_name(name, None if browse else plan),
                        "facts": highlight_snippet(
                            _text(stored.get_first("facts")), None if browse else plan
                        ),
                    },
                )
            )
        check_deadline()
        suggestion = None
        if not exact and not browse and total < SUGGEST_BELOW:
            matched = {h.id for h in hits} if len(hits) == total else self._all_ids(s, query)
            suggestion = _suggest.for_results(gen, plan, names, matched)
        done = Results(total, hits, {f: dict(c) for f, c in cached.items()}, page, per_page,
                       exact, suggestion)
        self._pages[page_key] = done
        if len(self._pages) > PAGE_CACHE:
            self._pages.popitem(last=False)
        return done.copy()

    def _remember(self, key, s, query, total: int, facets, whole) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {f: {} for f in facets}
        if whole is not None:
            for f in facets:
                tally = Counter(v for v in (d.get_first(f) for d in whole) if v)
                counts[f] = dict(sorted(tally.items(), key=lambda kv: (-kv[1], kv[0])))
        elif total and facets:
            check_deadline()
            aggs = {f: {"terms": {"field": f, "size": FACET_SIZE}} for f in facets}
            result = s.aggregate(query, aggs)
            for f in facets:
                buckets = (result.get(f) or {}).get("buckets") or []
                pairs = [(str(b["key"]), int(b["doc_count"])) for b in buckets if b.get("key")]
                counts[f] = dict(sorted(pairs, key=lambda kv: (-kv[1], kv[0])))
        self._stats[key] = counts
        if len(self._stats) > STATS_CACHE:
            self._stats.popitem(last=False)
        return counts

    @staticmethod
    def _all_ids(s, query) -> set[str]:
        found = s.search(query, SUGGEST_BELOW, count=False)
        return {s.doc(a).get_first("id") for _, a in found.hits}

    def clear_cache(self) -> None:
        """Forget cached pages, totals and facets (benchmarks time every search in full)."""
        with self._reader_lock():
            self._stats.clear()
            self._pages.clear()
            if self._gen is not None:
                self._gen.terms.clear()

    def suggest(self, q: str) -> str | None:
        """The nearest indexed name for a near miss ("did you mean"), else None."""
        plan = analyze_query(q)
        with self._reader_lock():
            gen = self._current()
            if gen is None:
                return None
            return _suggest.suggest(gen, plan)

    def close(self) -> None:
        with self._reader_lock():
            self._gen = None
            self._closed = True


def _text(value) -> str:
    if value is None:
        return ""
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)
