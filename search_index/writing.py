"""The writing half of SearchIndex: rebuild (atomic swap), upsert, delete.

Writers hold this instance's thread mutex plus whoosh's cross-process file lock
on ``path/WRITELOCK`` (see :mod:`search_index.store`) and give up with
:class:`~search_index.store.IndexLockedError` after ``lock_timeout`` seconds.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterable
from itertools import islice

from whoosh.index import create_in, open_dir
from whoosh.util.numeric import byte_to_length
from whoosh.writing import PostingPool, SegmentWriter

from . import parallel
from .analysis import ANALYSIS_VERSION, normalize, warm_up
from .schema import doc_fields, make_schema
from .store import IndexLockedError, merge_grounds, read_grounds, write_analysis, write_grounds

# Postings per pickle record in the pool's run files. While merging, one record
# per run is in memory: a 1M-document rebuild has ~60 runs → ~250k postings.
RUN_CHUNK = 4096
# Plain segment files, not whoosh's single compound file: opening a compound
# segment copies the whole file into memory (BufferFile(BytesIO(mmap))), which
# for a 1M-document index costs seconds and a GB per worker on every reopen.
COMPOUND = False


class ChunkedPostingPool(PostingPool):
    """whoosh's PostingPool, but run files hold pickled *lists* of postings.

    With ``limitmb=256`` a 1M-document rebuild spills the posting pool to disk
    dozens of times; stock whoosh pickles and unpickles every posting on its own
    (~20% of the build time). whoosh 2.7.5 ignores ``ix.writer(poolclass=...)``,
    so :func:`use_chunked_runs` swaps the class of the writer's pool instead.
    """

    def _write_run(self, f, items):
        it = iter(items)
        try:
            while chunk := list(islice(it, RUN_CHUNK)):
                pickle.dump(chunk, f, pickle.HIGHEST_PROTOCOL)
        finally:
            f.close()

    def _read_run(self, path):
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = pickle.load(f)
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


def use_chunked_runs(writer) -> None:
    pool = getattr(writer, "pool", None)
    if type(pool) is PostingPool and not pool.runs and not pool.current:
        pool.__class__ = ChunkedPostingPool


_BYTE_TO_LENGTH = [0] + [byte_to_length(b) for b in range(1, 256)]


class _PreloadedLengths:
    """Field lengths for ``FieldWriter.add_postings``, one array per field.

    whoosh looks up the (byte-quantised) field length of every posting with a
    seek + read on the length column file – about a sixth of a big rebuild.
    Reading each column once with the public ``NumericColumn.Reader.load()``
    gives identical values.
    """

    def __init__(self, perdoc):
        self._perdoc = perdoc
        self._arrays: dict = {}

    def __bool__(self) -> bool:
        return True

    def doc_field_length(self, docnum, fieldname, default=0):
        arr = self._arrays.get(fieldname, False)
        if arr is False:
            arr = self._arrays[fieldname] = self._load(fieldname)
        if arr is None or docnum >= len(arr):
            return default
        return _BYTE_TO_LENGTH[arr[docnum]] or default

    def _load(self, fieldname):
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

        lenfield = _lenfield(fieldname)
        if not self._perdoc.has_column(lenfield):
            return None
        return self._perdoc.column_reader(lenfield, LENGTHS_COLUMN).load()


class BulkSegmentWriter(SegmentWriter):
    """SegmentWriter whose final flush reads field lengths from memory.

    Same steps as ``SegmentWriter._flush_segment`` in whoosh 2.7.5; only the
    lengths object handed to ``add_postings`` differs (see _PreloadedLengths).
    """

    def _flush_segment(self):
        self.perdocwriter.close()
        pdr = self.per_document_reader() if self.codec.length_stats else None
        lengths = _PreloadedLengths(pdr) if pdr is not None else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if pdr is not None:
            pdr.close()


def bulk_writer(ix, **kwargs):
    """``ix.writer(procs=1, **kwargs)`` tuned for one big commit (rebuild)."""
    writer = ix.writer(procs=1, **kwargs)
    if type(writer) is SegmentWriter and hasattr(SegmentWriter, "_flush_segment"):
        writer.__class__ = BulkSegmentWriter
    use_chunked_runs(writer)
    return writer


class WriterMixin:
    """Mixed into :class:`search_index.engine.SearchIndex` (uses its ``_store``,
    ``_write_mutex``, ``lock_timeout``, ``path`` and ``_invalidate``)."""

    def _writing(self):
        return _WriteGuard(self)

    def rebuild(self, docs: Iterable[dict], total: int | None = None,
                parts: int | None = None) -> int:
        """Build a complete new index beside *path* and swap it in atomically.

        With ``total`` (about how many documents *docs* yields) of at least
        ``parallel.MIN_DOCUMENTS``, ``parts`` processes (default: the cores, at most 4)
        build one segment each (:mod:`search_index.parallel`); the index answers the same.
        """
        warm_up()
        parts = parallel.default_parts() if parts is None else max(1, parts)
        split = parts > 1 and total is not None and total >= parallel.MIN_DOCUMENTS
        with self._writing():
            self._store.discard_stale_builds()
            build = self._store.new_build_dir()
            try:
                ix = create_in(str(build), make_schema())
                writer = bulk_writer(ix, limitmb=256, compound=COMPOUND)
                count = 0
                grounds: dict[str, list[str]] = {}
                try:
                    if split:
                        segments, grounds, count = parallel.build_segments(
                            ix, docs, total, parts, limitmb=256, compound=COMPOUND)
                    else:
                        for doc in docs:
                            fields = doc_fields(doc)
                            writer.add_document(**fields)
                            merge_grounds(
                                grounds, fields.get("ground"), normalize(doc.get("ground_text"))
                            )
                            count += 1
                except BaseException:
                    writer.cancel()
                    raise
                if split:
                    parallel.commit_segments(writer, segments)
                else:
                    writer.commit()
                ix.close()
                write_grounds(build, grounds)
                write_analysis(build, ANALYSIS_VERSION)
                self._store.publish(build)
            except BaseException:
                self._store.discard(build)
                raise
        self._invalidate()
        return count

    def _writable_index(self):
        """(whoosh index, generation dir) of the live generation, created if none."""
        gen = self._store.current_name()
        if gen is None:
            build = self._store.new_build_dir()
            try:
                create_in(str(build), make_schema()).close()
                write_analysis(build, ANALYSIS_VERSION)
                gen = self._store.publish(build)
            except BaseException:
                self._store.discard(build)
                raise
        gen_dir = self._store.gen_dir(gen)
        return open_dir(str(gen_dir)), gen_dir

    def upsert(self, docs: Iterable[dict]) -> int:
        """Add or replace documents by id; one commit for the batch."""
        warm_up()
        batch: dict[str, dict] = {}
        new_grounds: dict[str, list[str]] = {}
        for doc in docs:
            fields = doc_fields(doc)
            batch.pop(fields["id"], None)  # the last version of an id wins
            batch[fields["id"]] = fields
            merge_grounds(new_grounds, fields.get("ground"), normalize(doc.get("ground_text")))
        if not batch:
            return 0
        with self._writing():
            ix, gen_dir = self._writable_index()
            try:
                grounds = read_grounds(gen_dir)
                changed = False
                for code, texts in new_grounds.items():
                    for text in texts:
                        changed |= merge_grounds(grounds, code, text)
                if changed:  # before the commit, so a reader never misses a text
                    write_grounds(gen_dir, grounds)
                writer = ix.writer(procs=1, limitmb=64, compound=COMPOUND)
                try:
                    for fields in batch.values():
                        writer.update_document(**fields)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
            finally:
                ix.close()
        self._invalidate()
        return len(batch)

    def delete(self, ids: Iterable[str]) -> int:
        """Remove documents by id; returns how many were in the index."""
        wanted = [str(i) for i in dict.fromkeys(ids) if i is not None and str(i)]
        if not wanted:
            return 0
        with self._writing():
            if self._store.current_name() is None:
                return 0
            ix, _ = self._writable_index()
            try:
                writer = ix.writer(procs=1, limitmb=64, compound=COMPOUND)
                try:
                    removed = sum(writer.delete_by_term("id", i) for i in wanted)
                except BaseException:
                    writer.cancel()
                    raise
                if removed:
                    writer.commit()
                else:
                    writer.cancel()
            finally:
                ix.close()
        self._invalidate()
        return removed


class _WriteGuard:
    """This instance's thread mutex plus the cross-process whoosh file lock."""

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
