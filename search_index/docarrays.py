"""In-memory per-document value arrays for facets, filters and browse order.

For every field in ``ARRAY_FIELDS`` a compact ``array('H')`` maps a global
docnum to a small integer code (0 = no value); ``listed_on`` is kept as an
``array('L')`` of ``yyyymmdd`` numbers. Arrays are built once per whoosh
segment from its postings (a segment never changes its documents, only its
deletions, and deleted docnums are never looked up) and concatenated per
searcher, so a refresh after an ``upsert`` only reads the new small segments.

Counting facets is then ``Counter(map(array.__getitem__, docnums))`` and a
filter is a code-set membership test – no whoosh query intersection, which for
a filter like ``kind:entry`` would walk the whole posting list on every search.
"""

from __future__ import annotations

from array import array

from .schema import ARRAY_FIELDS

DATE_FIELD = "listed_on"


def _date_number(text: str) -> int:
    digits = "".join(ch for ch in text[:10] if ch.isdigit())
    try:
        return int(digits[:8]) if len(digits) >= 8 else 0
    except ValueError:
        return 0


class DocArrays:
    def __init__(self) -> None:
        self.codes: dict[str, dict[str, int]] = {f: {} for f in ARRAY_FIELDS}
        self.values: dict[str, list[str]] = {f: [""] for f in ARRAY_FIELDS}
        self._segments: dict[tuple[str, str], array] = {}
        self._token: object = None
        self._leaves: list = []
        self._arrays: dict[str, array] = {}

    def get(self, searcher, token) -> DocArrays:
        """Bind to *searcher* (rebinding when *token*, the searcher epoch, changes);
        ``self[field]`` then builds that field's global array on first use."""
        if token == self._token:
            return self
        reader = searcher.reader()
        leaves = reader.leaf_readers() if reader.doc_count_all() else []
        self._leaves = [(leaf.segment().segment_id(), leaf, offset) for leaf, offset in leaves]
        live = {segid for segid, _, _ in self._leaves}
        for key in [k for k in self._segments if k[0] not in live]:
            del self._segments[key]
        self._token, self._arrays = token, {}
        return self

    def __getitem__(self, f: str) -> array:
        glob = self._arrays.get(f)
        if glob is not None:
            return glob
        glob = array("L" if f == DATE_FIELD else "H")
        for segid, leaf, offset in self._leaves:
            arr = self._segments.get((segid, f))
            if arr is None:
                arr = self._segments[(segid, f)] = self._build(leaf, f)
            if len(glob) < offset:  # defensive: keep global docnums aligned
                glob.extend(array(glob.typecode, bytes(glob.itemsize * (offset - len(glob)))))
            glob.extend(arr)
        self._arrays[f] = glob
        return glob

    def _build(self, leaf, f: str) -> array:
        typecode = "L" if f == DATE_FIELD else "H"
        arr = array(typecode, bytes(array(typecode).itemsize * leaf.doc_count_all()))
        if f not in leaf.schema:
            return arr
        for term in leaf.lexicon(f):
            value = term.decode("utf-8")
            code = _date_number(value) if f == DATE_FIELD else self.code(f, value)
            for docnum in leaf.postings(f, term).all_ids():
                arr[docnum] = code
        return arr

    def code(self, f: str, value: str) -> int:
        codes = self.codes[f]
        c = codes.get(value)
        if c is None:
            values = self.values[f]
            if len(values) >= 65535:  # pragma: no cover - absurd number of facet values
                return 0
            c = codes[value] = len(values)
            values.append(value)
        return c

    def code_set(self, f: str, values) -> frozenset[int]:
        codes = self.codes[f]
        return frozenset(codes[v] for v in values if v in codes)

    def codes_where(self, f: str, predicate) -> frozenset[int]:
        return frozenset(c for v, c in self.codes[f].items() if predicate(v))

    def value(self, f: str, code: int) -> str:
        return self.values[f][code]
