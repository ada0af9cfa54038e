"""A copy of the live generation as one file, and a new index started from such a copy.

A host that joins starts from another host's index instead of a full rebuild: the
copy holds the generation's tantivy files, its analysis version, its ground texts and,
inside the index, the position marker (where the copy stands in the change log), so
the new host applies only what changed since. The copy is taken under the write lock
(no commit changes the files while they are read); restoring unpacks into a build
directory, opens and counts it, and swaps it in like a rebuild.
"""

from __future__ import annotations

import os
import tarfile
import uuid
from pathlib import Path

from .analysis import ANALYSIS_VERSION
from .store import TANTIVY_DIR, read_analysis
from .writing import open_index, read_marker

MEMBER_ROOT = "generation"


class SnapshotError(ValueError):
    """The file is not a usable copy of an index (damaged, another analysis, unsafe paths)."""


class SnapshotMixin:
    """Mixed into :class:`search_index.engine.SearchIndex`."""

    def snapshot(self, target: str | os.PathLike) -> dict:
        """Write the live generation to *target* (a .tar.gz, written whole then renamed).
        Returns {"documents", "position"}; raises FileNotFoundError without an index."""
        target = Path(target)
        with self._writing():
            name = self._store.current_name()
            if name is None or not self._store.tantivy_dir(name).is_dir():
                raise FileNotFoundError(f"no search index at {self.path}")
            gen_dir = self._store.gen_dir(name)
            ix = open_index(self._store.tantivy_dir(name))
            searcher = ix.searcher()
            position = read_marker(ix, searcher)
            documents = searcher.num_docs - (position is not None)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
            try:
                with tarfile.open(tmp, "w:gz") as tar:
                    tar.add(gen_dir, arcname=MEMBER_ROOT)
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
        return {"documents": documents, "position": position}

    def restore(self, source: str | os.PathLike) -> dict:
        """Make the copy at *source* the live generation. Returns {"documents", "position"}."""
        with self._writing():
            self._store.discard_stale_builds()
            build = self._store.new_build_dir()
            try:
                try:
                    with tarfile.open(source, "r:*") as tar:
                        members = tar.getmembers()
                        if not members or any(
                            not (m.name == MEMBER_ROOT or m.name.startswith(MEMBER_ROOT + "/"))
                            for m in members
                        ):
                            raise SnapshotError(f"{source} is not a copy of a search index")
                        tar.extractall(build, filter="data")
                except (tarfile.TarError, OSError, EOFError) as error:
                    raise SnapshotError(f"{source}: {error}") from error
                gen = build / MEMBER_ROOT
                if read_analysis(gen) != ANALYSIS_VERSION:
                    raise SnapshotError(f"{source} was written with another analysis")
                try:
                    ix = open_index(gen / TANTIVY_DIR)
                    searcher = ix.searcher()
                    position = read_marker(ix, searcher)
                    documents = searcher.num_docs - (position is not None)
                    del searcher, ix
                except (OSError, ValueError) as error:
                    raise SnapshotError(f"{source}: the index does not open ({error})") from error
                # publish() renames the generation dir itself into place
                staged = self._store.new_build_dir()
                os.rmdir(staged)
                os.rename(gen, staged)
                self._store.publish(staged)
            finally:
                self._store.discard(build)
        self._invalidate()
        return {"documents": documents, "position": position}
