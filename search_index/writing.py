"""Writing the index: a whole new generation (``rebuild``) or changes to the live one.

tantivy writes segments in its own threads; the Python side analyses documents
(:func:`search_index.schema.doc_fields`), in several processes for a large rebuild
(:mod:`search_index.parallel`). One writer at a time: this instance's mutex and the
index directory's lock file (:class:`search_index.store.IndexStore`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

import tantivy

from . import parallel
from .analysis import ANALYSIS_VERSION, normalize, warm_up
from .querybuild import indexable
from .schema import MARKER_ID, doc_fields, make_schema, marker_document, register, to_document
from .store import IndexLockedError, merge_grounds, read_grounds, write_analysis, write_grounds

REBUILD_HEAP = 256_000_000  # bytes the writer may buffer before it writes a segment
UPDATE_HEAP = 16_000_000  # for upserts and deletes (a few documents at a time)


def create(path) -> tantivy.Index:
    path.mkdir(parents=True, exist_ok=True)
    return register(tantivy.Index(make_schema(), path=str(path), reuse=False))


def open_index(path) -> tantivy.Index:
    return register(tantivy.Index.open(str(path)))


def read_marker(ix: tantivy.Index, searcher) -> dict | None:
    """The position a generation's last commit recorded (see :meth:`WriterMixin.apply`)."""
    found = searcher.search(tantivy.Query.term_query(ix.schema, "id", MARKER_ID), 1)
    if not found.hits:
        return None
    raw = searcher.doc(found.hits[0][1]).get_first("fp")
    try:
        value = json.loads(bytes(raw).decode("utf-8"))
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


class WriterMixin:
    """Mixed into :class:`search_index.engine.SearchIndex` (uses its ``_store``,
    ``_write_mutex``, ``lock_timeout``, ``path`` and ``_invalidate``)."""

    def _writing(self):
        return _WriteGuard(self)

    def rebuild(self, docs: Iterable[dict], total: int | None = None,
                parts: int | None = None, position: dict | None = None) -> int:
        """Build a complete new index beside *path* and swap it in atomically.

        With ``total`` (about how many documents *docs* yields) of at least
        ``parallel.MIN_DOCUMENTS``, ``parts`` processes (default: the cores, at most 4)
        analyse the documents (:mod:`search_index.parallel`); the index is the same.
        ``position``: where *docs* stand in their source's change log (:meth:`apply`).
        """
        warm_up()
        parts = parallel.default_parts() if parts is None else max(1, parts)
        split = parts > 1 and total is not None and total >= parallel.MIN_DOCUMENTS
        with self._writing():
            self._store.discard_stale_builds()
            build = self._store.new_build_dir()
            try:
                ix = create(build / "tv")
                writer = ix.writer(REBUILD_HEAP, max(1, min(parts, 4)))
                count = 0
                grounds: dict[str, list[str]] = {}
                analysed = (
                    parallel.analysed(docs, parts)
                    if split
                    else ((doc_fields(d), d.get("ground_text")) for d in docs)
                )
                try:
                    for fields, ground_text in analysed:
                        writer.add_document(to_document(fields))
                        merge_grounds(grounds, fields.get("ground"), normalize(ground_text))
                        count += 1
                    if position is not None:
                        writer.add_document(marker_document(position))
                except BaseException:
                    writer.rollback()
                    raise
                writer.commit()
                writer.wait_merging_threads()
                del writer, ix
                write_grounds(build, grounds)
                write_analysis(build, ANALYSIS_VERSION)
                self._store.publish(build)
            except BaseException:
                self._store.discard(build)
                raise
        self._invalidate()
        return count

    def _writable_index(self):
        """(tantivy index, generation dir) of the live generation, created if none."""
        gen = self._store.current_name()
        if gen is None or not self._store.tantivy_dir(gen).is_dir():
            build = self._store.new_build_dir()
            try:
                create(build / "tv")
                write_analysis(build, ANALYSIS_VERSION)
                gen = self._store.publish(build)
            except BaseException:
                self._store.discard(build)
                raise
        return open_index(self._store.tantivy_dir(gen)), self._store.gen_dir(gen)

    def upsert(self, docs: Iterable[dict]) -> int:
        """Add or replace documents by id; one commit for the batch."""
        return self.apply(docs, ())[0]

    def apply(self, upserts: Iterable[dict], deletes: Iterable[str],
              position: dict | None = None) -> tuple[int, int]:
        """Add or replace *upserts* by id and remove *deletes*, in ONE commit that also
        records *position* (any JSON object: where these changes stand in their source's
        change log, read back with ``position()``), so a crash leaves both or neither.
        Returns (documents written, ids deleted — whether or not they were there)."""
        warm_up()
        batch: dict[str, dict] = {}
        new_grounds: dict[str, list[str]] = {}
        for doc in upserts:
            fields = doc_fields(doc)
            batch.pop(fields["id"], None)  # the last version of an id wins
            batch[fields["id"]] = fields
            merge_grounds(new_grounds, fields.get("ground"), normalize(doc.get("ground_text")))
        gone = [str(i) for i in dict.fromkeys(deletes) if i is not None and indexable(str(i))
                and str(i) not in batch and str(i) != MARKER_ID]
        if not batch and not gone and position is None:
            return 0, 0
        with self._writing():
            ix, gen_dir = self._writable_index()
            grounds = read_grounds(gen_dir)
            changed = False
            for code, texts in new_grounds.items():
                for text in texts:
                    changed |= merge_grounds(grounds, code, text)
            if changed:  # before the commit, so a reader never misses a text
                write_grounds(gen_dir, grounds)
            writer = _writer(ix)
            try:
                for doc_id, fields in batch.items():
                    writer.delete_documents_by_term("id", doc_id)
                    writer.add_document(to_document(fields))
                for doc_id in gone:
                    writer.delete_documents_by_term("id", doc_id)
                if position is not None:
                    writer.delete_documents_by_term("id", MARKER_ID)
                    writer.add_document(marker_document(position))
            except BaseException:
                writer.rollback()
                raise
            writer.commit()
            writer.wait_merging_threads()
        self._invalidate()
        return len(batch), len(gone)

    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id; returns how many were in the index."""
        wanted = [str(i) for i in dict.fromkeys(ids)
                  if i is not None and str(i) and indexable(str(i)) and str(i) != MARKER_ID]
        if not wanted:
            return 0
        with self._writing():
            gen = self._store.current_name()
            if gen is None or not self._store.tantivy_dir(gen).is_dir():
                return 0
            ix, _ = self._writable_index()
            ix.reload()
            searcher = ix.searcher()
            present = [
                i for i in wanted
                if searcher.search(tantivy.Query.term_query(ix.schema, "id", i), 1).count
            ]
            if not present:
                return 0
            writer = _writer(ix)
            try:
                for doc_id in present:
                    writer.delete_documents_by_term("id", doc_id)
            except BaseException:
                writer.rollback()
                raise
            writer.commit()
            writer.wait_merging_threads()
        self._invalidate()
        return len(present)


def _writer(ix: tantivy.Index):
    try:
        return ix.writer(UPDATE_HEAP, 1)
    except ValueError as e:  # tantivy's own lock: a writer outside this package's lock
        raise IndexLockedError(f"search index is locked by another writer: {e}") from e


class _WriteGuard:
    """This instance's thread mutex plus the cross-process lock file."""

    def __init__(self, index):
        self.index = index
        self._lock_cm = None

    def __enter__(self):
        ix = self.index
        ix._reader_lock()  # resets locks after a fork
        if not ix._write_mutex.acquire(timeout=max(0.0, ix.lock_timeout)):
            raise IndexLockedError(
                f"search index {ix.path} is busy with another write in this process "
                f"(waited {ix.lock_timeout:g}s)"
            )
        try:
            self._lock_cm = ix._store.write_lock(ix.lock_timeout)
            self._lock_cm.__enter__()
        except BaseException:
            ix._write_mutex.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            self._lock_cm.__exit__(*exc)
        finally:
            self.index._write_mutex.release()
        return False
