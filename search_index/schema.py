"""Whoosh schema, document → field conversion and fingerprints.

All analysed fields are :class:`TokenList` fields: whoosh ``KEYWORD`` fields
fed with the token lists produced by :mod:`search_index.analysis` (no second
tokenisation pass; it saves ~15% of indexing time). The stored schema pickles
``search_index.schema.TokenList`` by reference, so keep that name importable.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from collections import Counter

from whoosh import columns
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, Schema
from whoosh.system import pack_uint

from .analysis import analyze_name, code_tokens, text_tokens

# field -> query boost for free-text matching of CJK clauses
TEXT_FIELDS: tuple[tuple[str, float], ...] = (
    ("name_t", 1.0),
    ("core_t", 2.5),
    ("facts_t", 0.3),
)
GROUND_TEXT_BOOST = 0.15  # a query matching a ground's legal text (see store.grounds)
FACET_FIELDS = ("ground", "subject_kind", "year", "severity", "kind")
# per-document value arrays kept in memory: the facets plus the legal form
ARRAY_FIELDS = FACET_FIELDS + ("form",)
FILTER_FIELDS = ("ground", "subject_kind", "severity", "year", "kind", "code_hash", "id")


class TokenList(KEYWORD):
    """KEYWORD field whose value is an already analysed list of tokens.

    A string value is split on whitespace, exactly as KEYWORD would.
    """

    def index(self, value, **kwargs):
        if isinstance(value, str):
            value = value.split()
        boost = self.format.field_boost
        for token, n in Counter(value).items():
            yield token.encode("utf-8"), n, n * boost, pack_uint(n)


def _kw() -> TokenList:
    return TokenList(scorable=True, lowercase=False, commas=False)


def make_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True, sortable=True),
        kind=ID(),
        ground=ID(),
        subject_kind=ID(),
        severity=ID(),
        year=ID(),
        listed_on=ID(sortable=True),
        form=ID(),  # legal-form suffix of the name (有限公司 …), for ranking
        codes=TokenList(lowercase=False, commas=False),
        code_hashes=TokenList(lowercase=False, commas=False),
        name_t=_kw(),
        core_t=_kw(),
        facts_t=_kw(),
        py1=_kw(),
        py2=_kw(),
        pyi=_kw(),
        pyw=_kw(),
        name=STORED(),
        facts=STORED(),
        fp=COLUMN(columns.VarBytesColumn()),
    )


def _json_default(v):
    if isinstance(v, (_dt.date, _dt.datetime)):
        return v.isoformat()
    if isinstance(v, (set, frozenset)):
        return sorted(map(str, v))
    return str(v)


def fingerprint(doc: dict) -> str:
    """What ``SearchIndex.ids()`` reports for *doc*.

    ``str(doc["version"])`` when the document carries a version, otherwise a
    BLAKE2b hash of all its fields (canonical JSON, sorted keys), so the portal
    can compare its own documents against the index with this same function.
    """
    version = doc.get("version")
    if version is not None:
        return str(version)
    payload = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=_json_default)
    return hashlib.blake2b(payload.encode("utf-8"), digest_size=12).hexdigest()


def filter_value(field: str, value) -> str:
    if field == "year":
        try:
            return str(int(value))
        except (TypeError, ValueError):
            return str(value).strip()
    return str(value).strip()


def doc_fields(doc: dict) -> dict:
    """Convert a portal document dict into whoosh field values."""
    if not isinstance(doc, dict):
        raise TypeError(f"search documents must be dicts, got {type(doc).__name__}")
    raw_id = doc.get("id")
    doc_id = "" if raw_id is None else str(raw_id).strip()
    if not doc_id:
        raise ValueError(f"search document without an 'id': {doc!r:.200}")
    name = str(doc.get("name") or "")
    facts = str(doc.get("facts") or "")
    nt = analyze_name(name)
    out = {
        "id": doc_id,
        "fp": fingerprint(doc).encode("utf-8"),
        "name": name,
        "facts": facts,
    }
    for key in ("kind", "ground", "subject_kind", "severity", "year"):
        v = doc.get(key)
        if v is not None and str(v).strip():
            out[key] = filter_value(key, v)
    if nt.form:
        out["form"] = nt.form
    listed_on = doc.get("listed_on")
    if listed_on:
        out["listed_on"] = (
            listed_on.isoformat() if hasattr(listed_on, "isoformat") else str(listed_on)
        )
    hashes = ["".join(str(h).split()) for h in (doc.get("code_hashes") or ())]
    tokens = {
        "codes": code_tokens(doc.get("codes")),
        "code_hashes": [h for h in hashes if h],
        "name_t": nt.name,
        "core_t": nt.core_tokens,
        "facts_t": text_tokens(facts),
        "py1": nt.py1,
        "py2": nt.py2,
        "pyi": nt.pyi,
        "pyw": nt.pyw,
    }
    for key, toks in tokens.items():
        if toks:
            out[key] = toks
    return out
