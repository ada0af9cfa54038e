"""``make bench``: the read path of the portal at N entries, as ratios to same-run references.

    .venv/bin/python -m bench.run [--count 100000] [--backends sqlite,postgresql]
                                  [--duration 8] [--repeats 3] [--fresh]

For each back end: build or reuse a data set of N entries (bench/datasets.py),
start the worker, the portal under gunicorn with gunicorn.conf.py (2 workers,
Redis rate-limit storage, gthread) and, with the same settings, the ceiling
app (bench/ceiling.py); then, ``--repeats`` times, for each page: wrk on the
ceiling, wrk on the page (``-t2 -c16 -d<duration>s``).  A page's figure is the
median over the repeats of (page req/s ÷ ceiling req/s of the run beside it).
Then: the CSV export against ``sqlite3 -csv``, the labelled search set
(bench/search_quality.py), publish-to-searchable, RSS of the worker and of
gunicorn's workers.  Writes bench/results/<date>-<N>.json and prints a table
per back end; targets: bench/targets.py.  Every server is stopped on exit.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

from portal import clock

from bench import datasets, extras, load, probes, procs, report
from bench.report import figure

REDIS = "redis://127.0.0.1:6379/14"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=8, help="seconds of each wrk run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--publish-rounds", type=int, default=5)
    parser.add_argument("--search-queries", type=int, default=None,
                        help="limit the labelled search set to N queries")
    parser.add_argument("--fresh", action="store_true", help="build the data sets again")
    parser.add_argument("--build-timeout", type=float, default=3600.0,
                        help="seconds allowed to each seed or index build")
    args = parser.parse_args(argv)
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown back end: {', '.join(sorted(unknown))}")
    return args


def echo(text: str) -> None:
    print(text, flush=True)


def pages(entry: dict, etag: str | None, deep: dict,
          spread: list[dict]) -> list[tuple[str, list[str], dict]]:
    """(figure, paths, headers) of every page driven by wrk.  One URL repeated is served by
    the page and result caches; ``spread`` (entries across the list) shows the cold cost."""
    queries = probes.search_queries(entry)
    entry_path = f"/entries/{entry['public_id']}"
    found = [
        ("entry page", [entry_path], {}),
        (f"entry pages, {len(spread):,} different", [f"/entries/{e['public_id']}" for e in spread], {}),
        ("/entries page 1", ["/entries"], {}),
        ("/entries deepest page", [deep["path"]], {}),
        ("/removals", ["/removals"], {}),
        ("/search (6 query types)", [probes.search_path(q) for q in queries.values()], {}),
        (f"/search, {len(spread):,} different names",
         [probes.search_path(q) for q in probes.varied_searches(spread)], {}),
        ("/api/v1/entries", ["/api/v1/entries"], {}),
    ]
    if etag:
        found.append(("304 on an entry's ETag", [entry_path], {"If-None-Match": etag}))
    return found


def drive(base: str, ceiling: str, plan, args) -> list[dict]:
    """Interleaved wrk runs: ceiling, page, ceiling, page … ``repeats`` times; medians."""
    runs: dict[str, list[tuple[dict, dict]]] = {name: [] for name, _, _ in plan}
    wrk = dict(threads=args.threads, connections=args.connections, duration=args.duration)
    load.run(ceiling, ["/"], **{**wrk, "duration": 2})          # warm-up, not counted
    for repeat in range(args.repeats):
        for name, paths, headers in plan:
            ref = load.run(ceiling, ["/"], **wrk)
            page = load.run(base, paths, headers=headers, **wrk)
            runs[name].append((ref, page))
            echo(f"  [{repeat + 1}/{args.repeats}] {name}: {page['rps']:.1f} req/s, "
                 f"ceiling {ref['rps']:.1f} req/s")
    rows = []
    for name, pairs in runs.items():
        ratios = [p["rps"] / r["rps"] if r["rps"] else 0.0 for r, p in pairs]
        page_rps = statistics.median(p["rps"] for _, p in pairs)
        ref_rps = statistics.median(r["rps"] for r, _ in pairs)
        detail = {"runs": [{"ceiling": r, "page": p} for r, p in pairs],
                  "p50_ms": statistics.median(p.get("p50_ms", 0) for _, p in pairs),
                  "p99_ms": statistics.median(p.get("p99_ms", 0) for _, p in pairs),
                  "non_2xx_3xx": sum(p["non_2xx_3xx"] for _, p in pairs)}
        refused = f", {detail['non_2xx_3xx']:,} answers not 2xx/3xx" if detail["non_2xx_3xx"] else ""
        rows.append(figure(name, round(page_rps, 1), "req/s", f"ceiling {ref_rps:,.0f} req/s{refused}",
                           round(statistics.median(ratios), 4), detail))
    return rows


def single_client_search(base: str, entry: dict, rounds: int = 5) -> dict:
    times = []
    for _ in range(rounds):
        for query in probes.search_queries(entry).values():
            times.append(probes.get(base + probes.search_path(query))["seconds"] * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1), "n": len(times)}


def measure(ds: datasets.DataSet, info: dict, args) -> tuple[list[dict], dict]:
    env = ds.env(REDIS)
    logs = ds.dir / "logs"
    port, ceiling_port = procs.free_port(), procs.free_port()
    base, ceiling = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ceiling_port}"
    heartbeat = ds.dir / "instance" / "worker-heartbeat.json"
    heartbeat.unlink(missing_ok=True)
    worker = procs.start([str(procs.BIN / "flask"), "--app", "wsgi", "worker"], env, logs / "worker.log")
    first_round = extras.wait_worker_round(heartbeat, worker, timeout=args.build_timeout)
    exports = extras.wait_exports(ds.url, ds.dir / "instance" / "exports", worker, args.build_timeout)
    echo(f"{ds.backend}: the worker built {exports['files']} export files of version "
         f"{exports['version']} in {exports['seconds']} s before the load runs")
    web = procs.gunicorn("wsgi:app", port, env, logs / "gunicorn.log")
    ref = procs.gunicorn("bench.ceiling:app", ceiling_port, env, logs / "ceiling.log")
    procs.wait_http(base + "/healthz", web)
    procs.wait_http(ceiling + "/", ref)
    entry = probes.sample_entry(ds.url)
    entry_path = f"{base}/entries/{entry['public_id']}"
    first = probes.get(entry_path)
    etag = first["headers"].get("ETag")
    not_modified = probes.get(entry_path, {"If-None-Match": etag}) if etag else None
    deep = probes.deepest_page(base, entry["listed"])
    echo(f"{ds.backend}: entry {entry['public_id']} ({entry['name']}); deepest page {deep['path']} "
         f"({deep['found_by']}, status {deep['status']}); ?page={deep['last_by_number']} → "
         f"{deep['last_by_number_status']}")
    spread = probes.sample_entries(ds.url)
    rows = drive(base, ceiling, pages(entry, etag, deep, spread), args)
    rows.append(figure(f"/entries?page={deep['last_by_number']} (last by number)",
                       deep["last_by_number_single_client_ms"], "ms single client",
                       f"status {deep['last_by_number_status']}"))
    search_http = single_client_search(base, entry)
    rows.append(figure("/search single client p95 (HTTP)", search_http["p95_ms"], "ms",
                       f"p50 {search_http['p50_ms']} ms"))

    sqlite_file = datasets.DataSet("sqlite", ds.count, ds.head).sqlite_file
    export = extras.export_csv(base, sqlite_file, repeats=3)
    if "sqlite3_seconds" in export:
        rows.append(figure("CSV export time vs sqlite3 -csv", round(export["seconds"], 2), "s",
                           f"sqlite3 -csv {export['sqlite3_seconds']:.2f} s",
                           round(export["seconds"] / export["sqlite3_seconds"], 2)))
        rows.append(figure("CSV export bytes vs sqlite3 -csv", export["bytes"], "B",
                           f"sqlite3 -csv {export['sqlite3_bytes']:,} B",
                           round(export["bytes"] / max(1, export["sqlite3_bytes"]), 2)))
    else:
        rows.append(figure("CSV export time vs sqlite3 -csv", round(export["seconds"], 2), "s",
                           "no SQLite data set of this N"))

    quality = extras.search_quality(ds.url, ds.index_dir, ds.dir / "search_quality.json",
                                    args.search_queries, timeout=args.build_timeout)
    rows += quality_rows(quality)

    publish = extras.publish_to_search(env, port, args.publish_rounds, timeout=600)
    if "max_s" in publish:
        rows.append(figure("publish-to-searchable max", publish["max_s"], "s",
                           f"median {publish['median_s']} s over {publish['rounds']}"))
    else:
        rows.append(figure("publish-to-searchable max", None, "", publish["failed"][:60]))
    worker_rss = procs.rss_mb(worker.pid)
    rows.append(figure("worker RSS", round(worker_rss[1], 1), "MB", "peak (VmHWM)"))
    web_rss = extras.gunicorn_rss(web.pid)
    rows.append(figure("gunicorn worker RSS", max(web_rss["peak_mb"] or [0.0]), "MB",
                       f"peak of {web_rss['workers']} workers"))
    for name, key in (("seed, scaled to 1M", "seed_seconds"), ("index build, scaled to 1M", "index_seconds")):
        cpu = info.get(key.replace("_seconds", "_cpu_seconds"))
        rows.append(figure(name, round(info[key] * 1_000_000 / ds.count), "s",
                           f"{info[key]} s for {ds.count:,}" + (f", {cpu} CPU-s" if cpu else "")
                           + (" (when built)" if info["reused"] else "")))
    for proc in (ref, web, worker):
        procs.stop(proc)
    extra = {"entry": {k: entry[k] for k in ("public_id", "listed")}, "deep": deep,
             "first_304_status": not_modified["status"] if not_modified else None,
             "worker_first_round": first_round, "exports_built": exports, "export": export,
             "search_quality": quality,
             "search_http": search_http, "publish": publish, "gunicorn_rss": web_rss,
             "worker_rss_mb": worker_rss, "dataset": info}
    return rows, extra


def quality_rows(quality: dict) -> list[dict]:
    if "portal" not in quality:
        reason = quality.get("missing") or quality.get("failed") or "no result"
        return [figure("search recall@10", None, "", reason[:70])]
    portal, fts5, like = quality["portal"], quality.get("fts5", {}), quality.get("like", {})
    rows = [figure("search p95 (single client)", portal.get("p95_ms"), "ms",
                   f"p50 {portal.get('p50_ms')} / p99 {portal.get('p99_ms')} ms")]
    if fts5.get("p95_ms"):
        rows.append(figure("search p95 vs FTS5 p95", portal.get("p95_ms"), "ms",
                           f"FTS5 p95 {fts5['p95_ms']} ms", round(portal["p95_ms"] / fts5["p95_ms"], 2)))
    rows.append(figure("search recall@10", portal.get("recall_at_10"), "",
                       f"FTS5 {fts5.get('recall_at_10')}, LIKE {like.get('recall_at_10')} "
                       f"({quality.get('queries')} queries)"))
    return rows


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not load.available():
        sys.exit("wrk is not installed (Debian: apt-get install -y wrk)")
    procs.install_cleanup()
    started = time.perf_counter()
    head = datasets.migration_head()
    payload = {"date": clock.today().isoformat(), "count": args.count, "migration_head": head,
               "wrk": {"threads": args.threads, "connections": args.connections,
                       "duration_s": args.duration, "repeats": args.repeats}, "backends": {}}
    out = procs.ROOT / "bench" / "results" / f"{payload['date']}-{args.count}.json"
    payload["backends"] = report.earlier_backends(out)   # another back end run the same day stays
    tables = []
    try:
        for backend in args.backends:
            ds = datasets.DataSet(backend, args.count, head)
            info = datasets.ensure(ds, args.fresh, echo, args.build_timeout)
            rows, extra = measure(ds, info, args)
            payload["backends"][backend] = {"figures": rows, **extra}
            tables.append(report.table(rows, f"\n{backend}, {args.count:,} entries "
                                             f"(wrk -t{args.threads} -c{args.connections} "
                                             f"-d{args.duration}s, {args.repeats} repeats, medians)"))
            report.write(out, payload)
    finally:
        procs.stop_all()
    for text in tables:
        echo(text)
    echo(f"\nwrote {out.relative_to(procs.ROOT)} in {time.perf_counter() - started:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
