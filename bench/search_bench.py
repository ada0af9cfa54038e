"""Benchmark search_index: rebuild N synthetic documents, then time mixed queries.

    .venv/bin/python bench/search_bench.py --count 100000

Prints build throughput (docs/s), index size, and p50/p95/p99 latency of
``SearchIndex.search`` (including facets, highlighting and suggestions) for
1,000 mixed queries: 2-character names, longer names, pinyin, initials and
USCC look-ups. Synthetic data only; does not import the portal.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pypinyin import lazy_pinyin

from search_index import SearchIndex, warm_up

PLACES = [
    "佳木斯市",
    "佳木斯",
    "哈尔滨市",
    "桦南县",
    "桦川县",
    "汤原县",
    "富锦市",
    "同江市",
    "抚远市",
    "黑龙江",
    "佳木斯市向阳区",
    "佳木斯市前进区",
    "佳木斯市东风区",
    "",
]
BRAND = (
    "恒达鑫盛隆华兴源泰丰瑞祥宏远金银福安康宁永昌顺发众诚信德通利和新天地东方北南中宇航"
    "嘉运佳美豪博越腾飞龙凤鹏海江山林森宝晟昊俊辉耀星月明光正大升旭日润泽汇聚合力同创伟业"
    "广益成万家乐富贵吉祥如意盈峰锦绣春秋红旗前进胜利建设振兴"
)
TRADES = [
    "建筑工程",
    "商贸",
    "物流",
    "餐饮管理",
    "农业科技",
    "房地产开发",
    "机械制造",
    "劳务派遣",
    "物业服务",
    "汽车运输",
    "医疗器械",
    "网络科技",
    "粮食贸易",
    "装饰工程",
    "人力资源服务",
    "食品加工",
    "建材",
    "农机",
    "保安服务",
    "家政服务",
    "木业",
    "米业",
    "药店",
    "酒店",
]
FORMS = ["有限公司"] * 8 + [
    "有限责任公司",
    "股份有限公司",
    "分公司",
    "农民专业合作社",
    "经销处",
    "店",
]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英建国志强海燕红梅玉兰淑珍"
GROUNDS = {
    "J1": "未按规定申报、缴纳社会保险费且拒不改正的",
    "J2": "拒绝、阻挠社会保险行政部门依法实施监督检查的",
    "J3": "以欺诈、伪造证明材料或者其他手段骗取社会保险待遇或者基金支出的",
    "J4": "违规出具虚假诊断证明、医疗费用票据骗取医疗保险基金的",
}
FACTS = [
    "该单位以伪造劳动合同方式为{n}名人员虚构劳动关系，骗取失业保险金{m}万元。",
    "经查，当事人冒领已故人员养老保险待遇共计{m}万元，拒不退还。",
    "该单位拒绝提供工资台账，阻挠社会保险稽核，涉及职工{n}人。",
    "当事人伪造工伤事故材料骗取工伤保险基金{m}万元。",
]


def make_docs(count: int, seed: int = 7):
    rnd = random.Random(seed)
    for i in range(count):
        person = rnd.random() < 0.15
        if person:
            name = rnd.choice(SURNAMES) + "".join(
                rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2)))
            )
            codes = [f"2308**********{rnd.randrange(10000):04d}"]
        else:
            brand = "".join(rnd.choice(BRAND) for _ in range(rnd.choice((2, 2, 3))))
            name = rnd.choice(PLACES) + brand + rnd.choice(TRADES) + rnd.choice(FORMS)
            codes = [f"91230800MA{i:08d}"[:18]]
        ground = rnd.choice(list(GROUNDS))
        year = rnd.randrange(2018, 2027)
        yield {
            "id": f"E{year}-{i:07d}",
            "kind": "entry" if rnd.random() < 0.9 else rnd.choice(("removal", "redlist")),
            "name": name,
            "codes": codes,
            "ground": ground,
            "ground_text": GROUNDS[ground],
            "subject_kind": "person" if person else "organisation",
            "severity": "serious",
            "year": year,
            "listed_on": date(year, rnd.randrange(1, 13), rnd.randrange(1, 29)),
            "department": "佳木斯市人力资源和社会保障局",
            "facts": rnd.choice(FACTS).format(n=rnd.randrange(2, 40), m=rnd.randrange(1, 90)),
            "removal_reason": None,
        }


def make_queries(docs_sample: list[dict], n: int, seed: int = 11) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    orgs = [d for d in docs_sample if d["subject_kind"] == "organisation"]
    out = []
    for _ in range(n):
        d = rnd.choice(orgs)
        name = d["name"]
        place = next(
            (p for p in sorted(PLACES, key=len, reverse=True) if p and name.startswith(p)), ""
        )
        rest = name[len(place) :]
        r = rnd.random()
        if r < 0.35:
            out.append(("2-char", rest[:2]))
        elif r < 0.50:
            out.append(("4-char", rest[:4]))
        elif r < 0.65:
            out.append(("pinyin", "".join(lazy_pinyin(rest[:2]))))
        elif r < 0.75:
            out.append(("initials", "".join(s[0] for s in lazy_pinyin(place + rest[:2]))))
        elif r < 0.90:
            out.append(("uscc", d["codes"][0]))
        else:
            out.append(("miss", rnd.choice(BRAND) + "鼎" + rnd.choice(TRADES)[:2]))
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000, help="documents to index")
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--path", help="index directory (default: a temporary one, removed)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary index")
    args = ap.parse_args()

    tmp = None
    if args.path:
        path = Path(args.path)
    else:
        tmp = Path(tempfile.mkdtemp(prefix="search-bench-"))
        path = tmp / "index"
    warm_up()
    ix = SearchIndex(path)

    t0, c0 = time.perf_counter(), time.process_time()
    n = ix.rebuild(make_docs(args.count))
    build, build_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"rebuild: {n} docs in {build:.1f}s = {n / build:,.0f} docs/s "
        f"(CPU {build_cpu:.1f}s = {n / build_cpu:,.0f} docs per CPU-second); "
        f"index {dir_size(path) / 1e6:,.1f} MB"
    )

    sample = [d for i, d in enumerate(make_docs(args.count)) if i % max(1, args.count // 5000) == 0]
    queries = make_queries(sample, args.queries)

    t0 = time.perf_counter()
    ix.search(queries[0][1])
    print(f"first search (open searcher, facet arrays): {(time.perf_counter() - t0) * 1e3:.0f} ms")
    for _, q in queries[:20]:  # warm caches (jieba, pinyin); not timed
        ix.search(q)

    def run(label: str, cold: bool) -> None:
        times: list[float] = []
        cpu: list[float] = []
        by_type: dict[str, list[float]] = defaultdict(list)
        totals: dict[str, list[int]] = defaultdict(list)
        for kind, q in queries:
            if cold:  # forget cached totals/facets so every search does all the work
                ix._stats.clear()
            t, c = time.perf_counter(), time.process_time()
            r = ix.search(q)
            dt = (time.perf_counter() - t) * 1e3
            cpu.append((time.process_time() - c) * 1e3)
            times.append(dt)
            by_type[kind].append(dt)
            totals[kind].append(r.total)
        print(
            f"{len(times)} queries, {label}: p50 {pct(times, 50):.1f} ms  "
            f"p95 {pct(times, 95):.1f} ms  p99 {pct(times, 99):.1f} ms  "
            f"max {max(times):.1f} ms  mean {statistics.mean(times):.1f} ms\n"
            f"  CPU time per query: p50 {pct(cpu, 50):.1f} ms  p95 {pct(cpu, 95):.1f} ms  "
            f"p99 {pct(cpu, 99):.1f} ms"
        )
        for kind in sorted(by_type):
            ts = by_type[kind]
            print(
                f"  {kind:9s} n={len(ts):4d}  p50 {pct(ts, 50):7.1f}  p95 {pct(ts, 95):7.1f}  "
                f"p99 {pct(ts, 99):7.1f} ms   median hits {int(statistics.median(totals[kind]))}"
            )

    run("cold (no cached totals/facets)", cold=True)
    run("warm (same queries again)", cold=False)

    t0 = time.perf_counter()
    ids = ix.ids()
    print(f"ids(): {len(ids)} fingerprints in {time.perf_counter() - t0:.1f}s")
    ix.close()
    if tmp is not None and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    elif tmp is not None:
        print(f"index kept at {path}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
