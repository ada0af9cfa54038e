"""Search quality and latency: a labelled query set against the portal's engine,
SQLite FTS5 (trigram) and a LIKE scan over the same names and codes.

    # the portal's own data set and index (what `make bench` runs)
    .venv/bin/python bench/search_quality.py --database-url sqlite:///instance/portal.db \\
        --index-dir instance/index --json bench/results/search.json [--limit-queries N]
    # a synthetic data set of N entries, no portal database (quick iteration)
    .venv/bin/python bench/search_quality.py --synthetic 100000 --json /tmp/q.json

For sampled organisations (names unique in the data set), the queries people
type: the exact full name, the name without its legal form (suffix-less), the
rarest 2-character fragment, the USCC, full pinyin without spaces, pinyin
initials, a one-character homophone typo as typed with a pinyin input method
(same toneless pinyin, another character: 管理 → 冠理) and the name written in
traditional characters (恆豐餐飲 for 恒丰餐饮). Each query is labelled with its
target; recall@10 = the target is among the first 10 hits.

Latency is single-client, in-process and warm: every engine first answers a
warm-up set of the same kinds built from other targets; the portal's per-query result cache is
cleared before each timed query, so each one does all its work. FTS5 trigram
cannot match queries shorter than three characters (they find nothing, as in
FTS5 itself); the JSON counts them under ``fts5.short_queries``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypinyin import lazy_pinyin  # noqa: E402

from search_index import SearchIndex, warm_up  # noqa: E402
from search_index.analysis import normalize, strip_legal_suffix  # noqa: E402

KINDS = ("exact", "suffixless", "fragment2", "uscc", "pinyin", "initials", "typo", "traditional")
ENGINES = ("portal", "fts5", "like")
_CJK = re.compile(r"[\u3400-\u9fff]")
FRAGMENT_MAX_DF = 10  # a 2-character fragment that names more entries than this is no label


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


# --------------------------------------------------------------------------- data sets


def load_portal(database_url: str) -> list[dict]:
    """(public id, name, codes, kind of subject) of every indexed entry."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    rows = []
    with engine.connect() as conn:
        result = conn.execute(
            sa.text(
                "SELECT public_id, name, code_display, extra_codes, subject_kind "
                "FROM published_entries WHERE status = 'listed' AND visible"
            )
        )
        for pid, name, code, extra, subject_kind in result:
            if isinstance(extra, str):
                extra = json.loads(extra or "[]")
            rows.append(
                {
                    "id": pid,
                    "name": name,
                    "codes": [c for c in [code, *(extra or [])] if c],
                    "subject_kind": subject_kind,
                }
            )
    engine.dispose()
    return rows


def synthetic(count: int, index_dir: Path, reuse: bool = False) -> list[dict]:
    """bench/search_bench.py's synthetic entries, indexed into *index_dir*."""
    from search_bench import make_docs

    ix = SearchIndex(index_dir)
    if reuse and ix.exists() and ix.doc_count() == count:
        print(f"reusing the index of {count} synthetic entries in {index_dir}", flush=True)
    else:
        t0 = time.perf_counter()
        ix.rebuild(make_docs(count), total=count)
        print(f"indexed {count} synthetic entries in {time.perf_counter() - t0:.1f} s", flush=True)
    ix.close()
    return [
        {"id": d["id"], "name": d["name"], "codes": d["codes"], "subject_kind": d["subject_kind"]}
        for d in make_docs(count)
        if d["kind"] == "entry"
    ]


# --------------------------------------------------------------------------- labelled set


class Labeller:
    def __init__(self, rows: list[dict], seed: int):
        import opencc

        self.rnd = random.Random(seed)
        self.s2t = opencc.OpenCC("s2t")
        self.names = Counter(normalize(r["name"]) for r in rows)
        self.bigram_df: Counter = Counter()
        chars: set[str] = set()
        for name in self.names:
            chars.update(ch for ch in name if _CJK.match(ch))
            self.bigram_df.update({name[i : i + 2] for i in range(len(name) - 1)})
        # toneless syllable → characters seen in the data (what an input method offers)
        self.homophones: dict[str, list[str]] = defaultdict(list)
        for ch in sorted(chars):
            self.homophones[lazy_pinyin(ch)[0]].append(ch)

    def fragment(self, name: str) -> str | None:
        grams = [
            name[i : i + 2]
            for i in range(len(name) - 1)
            if _CJK.match(name[i]) and _CJK.match(name[i + 1])
        ]
        if not grams:
            return None
        best = min(grams, key=lambda g: (self.bigram_df[g], grams.index(g)))
        return best if self.bigram_df[best] <= FRAGMENT_MAX_DF else None

    def typo(self, name: str) -> str | None:
        core, _ = strip_legal_suffix(name)
        positions = [i for i, ch in enumerate(core) if _CJK.match(ch)]
        self.rnd.shuffle(positions)
        syllables = lazy_pinyin(name)
        if len(syllables) != len(name):
            return None
        for i in positions:
            others = [c for c in self.homophones.get(syllables[i], []) if c != name[i]]
            if others:
                typo = name[:i] + self.rnd.choice(others) + name[i + 1 :]
                if typo not in self.names:
                    return typo
        return None

    def traditional(self, name: str) -> str | None:
        core = strip_legal_suffix(name)[0] or name
        t = self.s2t.convert(core)
        return t if t != core else None

    def queries(self, rows: list[dict], per_kind: int) -> list[tuple[str, str, str]]:
        """[(kind, query, target id)], *per_kind* of each kind (fewer if the data lack them)."""
        orgs = [
            r
            for r in rows
            if r["subject_kind"] == "organisation"
            and self.names[normalize(r["name"])] == 1
            and _CJK.search(r["name"])
        ]
        self.rnd.shuffle(orgs)
        out: dict[str, list] = {k: [] for k in KINDS}
        for r in orgs:
            if all(len(v) >= per_kind for v in out.values()):
                break
            name = normalize(r["name"])
            syl = [s for s in lazy_pinyin(name) if s.isascii() and s.isalpha()]
            core = strip_legal_suffix(name)[0]
            uscc = next((c for c in r["codes"] if len(c) == 18 and "*" not in c), None)
            made = {
                "exact": r["name"],
                "suffixless": core if core and core != name else None,
                "fragment2": self.fragment(name),
                "uscc": uscc,
                "pinyin": "".join(syl) or None,
                "initials": "".join(s[0] for s in syl) or None,
                "typo": self.typo(name),
                "traditional": self.traditional(name),
            }
            for kind, q in made.items():
                if q and len(out[kind]) < per_kind:
                    out[kind].append((kind, q, r["id"]))
        return [q for k in KINDS for q in out[k]]


# --------------------------------------------------------------------------- engines


class Reference:
    """SQLite FTS5 trigram and a LIKE scan over the same names and codes, in memory."""

    def __init__(self, rows: list[dict]):
        self.db = sqlite3.connect(":memory:")
        self.db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, uscc TEXT)")
        self.db.execute(
            "CREATE VIRTUAL TABLE f USING fts5(name, codes, tokenize='trigram')"
        )
        self.ids = [r["id"] for r in rows]
        self.db.executemany(
            "INSERT INTO t VALUES (?, ?, ?)",
            ((i, r["name"], r["codes"][0] if r["codes"] else "") for i, r in enumerate(rows)),
        )
        self.db.executemany(
            "INSERT INTO f (rowid, name, codes) VALUES (?, ?, ?)",
            ((i, r["name"], " ".join(r["codes"])) for i, r in enumerate(rows)),
        )
        self.db.commit()

    def fts5(self, q: str) -> list[str]:
        phrase = '"' + q.replace('"', '""') + '"'
        rows = self.db.execute(
            "SELECT rowid FROM f WHERE f MATCH ? ORDER BY rank LIMIT 10", (phrase,)
        ).fetchall()
        return [self.ids[r[0]] for r in rows]

    def like(self, q: str) -> list[str]:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        rows = self.db.execute(
            "SELECT id FROM t WHERE name LIKE ? ESCAPE '\\' OR uscc = ? LIMIT 10", (pattern, q)
        ).fetchall()
        return [self.ids[r[0]] for r in rows]


def run_engine(search, queries, warm, before=None) -> list[tuple[float, bool]]:
    for _, q, _ in warm:
        search(q)
    out = []
    for _, q, target in queries:
        if before is not None:
            before()
        t = time.perf_counter()
        ids = search(q)
        out.append(((time.perf_counter() - t) * 1e3, target in ids[:10]))
    return out


def summary(results: list[tuple[float, bool]]) -> dict:
    times = [t for t, _ in results]
    return {
        "p50_ms": round(pct(times, 50), 2),
        "p95_ms": round(pct(times, 95), 2),
        "p99_ms": round(pct(times, 99), 2),
        "recall_at_10": round(sum(ok for _, ok in results) / len(results), 3) if results else 0.0,
    }


def evaluate(rows, index_dir, per_kind, limit, seed) -> dict:
    labeller = Labeller(rows, seed)
    labelled = labeller.queries(rows, per_kind * 2)
    by_kind_all: dict[str, list] = defaultdict(list)
    for item in labelled:
        by_kind_all[item[0]].append(item)
    queries = [q for k in KINDS for q in by_kind_all[k][:per_kind]]
    # warm-up: as many other targets, so first-use costs (term look-ups, block
    # directories of common terms, jieba and pinyin caches) are not timed
    warm = [q for k in KINDS for q in by_kind_all[k][per_kind : 2 * per_kind]]
    if limit:
        queries = queries[:: max(1, len(queries) // limit)][:limit]
    print(f"{len(queries)} labelled queries; building FTS5 and LIKE tables …", flush=True)
    ref = Reference(rows)
    warm_up()
    ix = SearchIndex(index_dir)

    def portal(q: str) -> list[str]:
        return [h.id for h in ix.search(q, per_page=10).hits]

    results = {
        "portal": run_engine(portal, queries, warm, before=ix.clear_cache),
        "fts5": run_engine(ref.fts5, queries, warm),
        "like": run_engine(ref.like, queries, warm),
    }
    ix.close()
    out: dict = {e: summary(results[e]) for e in ENGINES}
    out["fts5"]["short_queries"] = sum(len(q) < 3 for _, q, _ in queries)
    out["queries"] = len(queries)
    out["entries"] = len(rows)
    out["by_kind"] = {}
    out["queries_by_kind"] = {}
    for kind in KINDS:
        idx = [i for i, (k, _, _) in enumerate(queries) if k == kind]
        if idx:
            out["by_kind"][kind] = {e: summary([results[e][i] for i in idx]) for e in ENGINES}
            out["queries_by_kind"][kind] = len(idx)
    out["misses"] = {
        e: [f"{k}: {q}" for (k, q, _), (_, ok) in zip(queries, results[e]) if not ok][:40]
        for e in ("portal",)
    }
    return out


def print_table(res: dict) -> None:
    print(f"{res['queries']} queries over {res['entries']} entries")
    print(f"{'':13s}" + "".join(f"{e:>34s}" for e in ENGINES))
    lines = [("all", res)] + list(res["by_kind"].items())
    for label, block in lines:
        cells = "".join(
            f"  {b['p50_ms']:7.1f}/{b['p95_ms']:7.1f}/{b['p99_ms']:7.1f} ms r={b['recall_at_10']:.2f}"
            for b in (block[e] for e in ENGINES)
        )
        print(f"{label:13s}{cells}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database-url", help="the portal's database (published entries)")
    ap.add_argument("--index-dir", help="the portal's search index (or where to build one)")
    ap.add_argument(
        "--synthetic",
        type=int,
        help="N synthetic entries instead of a DB (indexed under --index-dir, reused if there)",
    )
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--per-kind", type=int, default=25, help="labelled targets per query kind")
    ap.add_argument("--limit-queries", type=int, default=0, help="at most N queries")
    ap.add_argument("--seed", type=int, default=20261205)
    args = ap.parse_args()
    if not args.synthetic and not (args.database_url and args.index_dir):
        ap.error("give --database-url and --index-dir, or --synthetic N")
    warm_up()
    if args.synthetic:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        index_dir = Path(args.index_dir or tempfile.mkdtemp(prefix="search-quality-")) / "index"
        rows = synthetic(args.synthetic, index_dir, reuse=bool(args.index_dir))
    else:
        index_dir = Path(args.index_dir)
        rows = load_portal(args.database_url)
    res = evaluate(rows, index_dir, args.per_kind, args.limit_queries, args.seed)
    print_table(res)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
