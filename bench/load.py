"""wrk runs: throughput and latency of one page (or a rotation of pages) on 127.0.0.1.

Several paths (the six search queries) are requested in rotation by a small
Lua script; extra headers (If-None-Match) go with every request.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}
_RPS = re.compile(r"Requests/sec:\s+([\d.]+)")
_PCT = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.M)
_NON2XX = re.compile(r"Non-2xx or 3xx responses:\s+(\d+)")
_REQS = re.compile(r"(\d+) requests in")
_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")

LUA = """
local paths = %s
local extra = %s
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], extra)
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def run(base: str, paths: list[str], threads: int, connections: int, duration: int,
        headers: dict | None = None) -> dict:
    """One wrk run; requests/s, latency percentiles (ms), non-2xx/3xx and socket errors."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "paths.lua"
        lua_paths = "{" + ", ".join(json.dumps(p) for p in paths) + "}"
        lua_headers = "{" + ", ".join(f"[{json.dumps(k)}] = {json.dumps(v)}"
                                      for k, v in (headers or {}).items()) + "}"
        script.write_text(LUA % (lua_paths, lua_headers))
        argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
                "--timeout", "10s", "-s", str(script), base + paths[0]]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    result = {"rps": float(m.group(1)) if (m := _RPS.search(out)) else 0.0,
              "requests": int(m.group(1)) if (m := _REQS.search(out)) else 0,
              "non_2xx_3xx": int(m.group(1)) if (m := _NON2XX.search(out)) else 0,
              "socket_errors": sum(map(int, m.groups())) if (m := _ERRORS.search(out)) else 0}
    for pct, value, unit in _PCT.findall(out):
        result[f"p{pct}_ms"] = round(float(value) * _UNITS[unit], 2)
    return result
