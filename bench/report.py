"""The table a run prints, and the JSON file it writes."""
from __future__ import annotations

import json
from pathlib import Path

from bench.targets import verdict


def figure(name: str, value: float | None, unit: str = "", reference: str = "",
           ratio: float | None = None, detail: dict | None = None) -> dict:
    """One row. The target is checked against ``ratio`` when there is one, else ``value``."""
    checked = ratio if ratio is not None else value
    target, status = verdict(name, checked)
    return {"figure": name, "value": value, "unit": unit, "reference": reference, "ratio": ratio,
            "target": target, "status": status, **({"detail": detail} if detail else {})}


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def table(rows: list[dict], title: str) -> str:
    head = ("figure", "value", "reference", "ratio", "target", "met/missed")
    body = [(r["figure"], f"{_fmt(r['value'])} {r['unit']}".strip(), r["reference"] or "",
             _fmt(r["ratio"]), r["target"], r["status"]) for r in rows]
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    line = lambda cells: " | ".join(str(c).ljust(w) for c, w in zip(cells, widths))  # noqa: E731
    out = [title, line(head), "-+-".join("-" * w for w in widths)]
    out += [line(cells) for cells in body]
    return "\n".join(out)


def write(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, default=str))


def earlier_backends(path: Path) -> dict:
    """The back ends of an earlier result file of the same date and N (empty if none)."""
    try:
        return dict(json.loads(path.read_text()).get("backends") or {})
    except (OSError, ValueError):
        return {}
