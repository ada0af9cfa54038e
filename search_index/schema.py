"""Index schema (tantivy), document → field conversion and fingerprints.

Every analysed field is a tantivy text field split on ASCII whitespace: its value is
the token list produced by :mod:`search_index.analysis`, joined with spaces, so the
index holds exactly the tokens the analysis chose (no second tokenisation, no
lower-casing or length filter of tantivy's own). Filter and facet fields are
``raw`` fast fields (one term each, column-stored for counting and sorting).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import re

import tantivy

from .analysis import analyze_name, code_tokens, text_tokens
from .store import WRITTEN

# field -> query boost for free-text matching of CJK clauses
TEXT_FIELDS: tuple[tuple[str, float], ...] = (
    ("name_t", 1.0),
    ("core_t", 2.5),
    ("facts_t", 0.3),
)
GROUND_TEXT_BOOST = 0.15  # a query matching a ground's legal text (see store.grounds)
FACET_FIELDS = ("ground", "subject_kind", "year", "severity", "kind", "jurisdiction")
FILTER_FIELDS = ("ground", "subject_kind", "severity", "year", "kind", "code_hash", "id",
                 "jurisdiction")
#: one value per document: indexed whole, column-stored (filters, facets, order, ids())
KEYWORD_FIELDS = ("id", "kind", "ground", "subject_kind", "severity", "year", "listed_on", "form",
                  "jurisdiction")
#: token lists: field -> what tantivy records per posting
TOKEN_FIELDS: dict[str, str] = {
    "codes": "basic",
    "code_hashes": "basic",
    "name_t": "freq",
    "core_t": "freq",
    "facts_t": "freq",
    "py1": "freq",
    "py2": "freq",
    "pyi": "freq",
    "pyw": "freq",
}
ID_FP = "idfp"
ID_FP_SEP = "\x1f"
# browse order (an empty query): newest listed_on first, then the latest written
BROWSE_KEY = "browse"
TOKENIZER = "tokens"  # registered on every Index handle (see :func:`register`)
_SPACE = re.compile(r"[\t\n\x0b\x0c\r ]+")


def make_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in KEYWORD_FIELDS:
        # id and the facets are stored too: a result of a few documents counts its
        # facets from the documents it shows
        sb.add_text_field(name, stored=name == "id" or name in FACET_FIELDS,
                          tokenizer_name="raw", fast=True, index_option="basic")
    for name, option in TOKEN_FIELDS.items():
        sb.add_text_field(name, tokenizer_name=TOKENIZER, index_option=option)
    # id and fingerprint in one column: ids() reads every document's pair in one pass
    sb.add_text_field(ID_FP, tokenizer_name="raw", fast=True, index_option="basic")
    sb.add_text_field(BROWSE_KEY, tokenizer_name="raw", fast=True, index_option="basic")
    for name in ("name", "facts", "fp"):
        sb.add_bytes_field(name, stored=True, indexed=False)
    return sb.build()


#: The one document that is not a record: where the index stands in its source's change log
#: (an opaque JSON object, ``fp``), written in the same commit as the documents it covers.
MARKER_ID = "~position"
MARKER_KIND = "~"


def marker_document(position: dict) -> tantivy.Document:
    payload = json.dumps(position, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return tantivy.Document(**{"id": [MARKER_ID], "kind": [MARKER_KIND], "fp": [payload],
                               ID_FP: [f"{MARKER_ID}{ID_FP_SEP}-"]})


def register(index: tantivy.Index) -> tantivy.Index:
    """Teach an Index handle the whitespace tokenizer of the token fields."""
    index.register_tokenizer(
        TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
    )
    return index


def to_document(fields: dict) -> tantivy.Document:
    """Field values (:func:`doc_fields`) as a tantivy document."""
    values: dict[str, list] = {
        ID_FP: [f"{fields['id']}{ID_FP_SEP}{fields['fp']}"],
        BROWSE_KEY: [f"{fields.get('listed_on', '')}{ID_FP_SEP}{next(WRITTEN):020d}"],
    }
    for key, value in fields.items():
        if key in TOKEN_FIELDS:
            values[key] = [" ".join(t for tok in value for t in _SPACE.split(tok) if t)]
        elif key in ("name", "facts", "fp"):
            values[key] = [value.encode("utf-8") if isinstance(value, str) else value]
        else:
            values[key] = [value]
    return tantivy.Document(**values)


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
    """Convert a portal document dict into field values (token fields as lists)."""
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
        "fp": fingerprint(doc),
        "name": name,
        "facts": facts,
    }
    for key in ("kind", "ground", "subject_kind", "severity", "year", "jurisdiction"):
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
