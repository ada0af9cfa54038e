"""One clock: only ``portal/clock.py`` asks the system for the date, the time or a time zone.

Every "today" of the portal is the bureau's day from :mod:`portal.clock`
(``PORTAL_TIMEZONE``); a stray ``date.today()`` is the server's local day and
a stray UTC date is a day behind between 00:00 and 08:00 Beijing time.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLOCK = ROOT / "portal" / "clock.py"
#: The search library never imports the portal; its index generations are named after the
#: moment they were built (any clock would do: the name only needs to be unique and sortable).
EXEMPT = {ROOT / "search_index" / "store.py"}
TREES = ("portal", "search_index", "tests", "bench", "scripts")

#: What asks the system for the time (or defines a time zone) directly.
FORBIDDEN = {
    "date.today()": re.compile(r"\bdate\s*\.\s*today\s*\("),
    "datetime.today()": re.compile(r"\bdatetime\s*\.\s*today\s*\("),
    "datetime.now()": re.compile(r"\bdatetime\s*\.\s*now\s*\("),
    "fromtimestamp() without a zone": re.compile(r"\.\s*fromtimestamp\s*\(\s*[^,()]*(\([^()]*\))?[^,()]*\)"),
    "astimezone() to the server's zone": re.compile(r"\.\s*astimezone\s*\(\s*\)"),
    "time.time_ns()": re.compile(r"\btime\s*\.\s*(time_ns|strftime|ctime)\s*\("),
    "utcnow": re.compile(r"\butcnow\b"),
    "time.time()": re.compile(r"\btime\s*\.\s*time\s*\("),
    "time.localtime()": re.compile(r"\btime\s*\.\s*(localtime|gmtime)\s*\("),
    "ZoneInfo(...)": re.compile(r"\bZoneInfo\s*\("),
    "a fixed UTC offset": re.compile(r"timezone\s*\(\s*(dt\.)?timedelta\s*\(\s*hours"),
}


def _sources():
    yield ROOT / "wsgi.py"
    for tree in TREES:
        for path in sorted((ROOT / tree).rglob("*.py")):
            if path not in (CLOCK, Path(__file__).resolve(), *EXEMPT) and ".venv" not in path.parts:
                yield path


def _offences(text: str) -> list[str]:
    code = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    return [name for name, pattern in FORBIDDEN.items() if pattern.search(code)]


def test_only_the_clock_module_reads_the_system_clock():
    found = {str(p.relative_to(ROOT)): hits for p in _sources() if (hits := _offences(p.read_text()))}
    assert found == {}, f"ask portal.clock instead: {found}"


@pytest.mark.parametrize("line", [
    "today = dt.date.today()", "x = datetime.now(dt.UTC)", "from portal.models.base import utcnow",
    "until = int(time.time()) + 60", "BUREAU_TZ = ZoneInfo('Asia/Shanghai')",
    "TZ = dt.timezone(dt.timedelta(hours=8))", "d = date.today ()", "d = dt.datetime.today()",
    "ns = time.time_ns()", "stamp = time.strftime('%Y')", "t = dt.datetime.fromtimestamp(ts)",
    "t = moment.astimezone()",
])
def test_the_guard_sees_each_way_of_reading_the_clock(line):
    assert _offences(line)


def test_the_guard_ignores_comments_and_the_clock_module_itself():
    assert not _offences("# date.today() is not used here")
    assert not _offences("t = dt.datetime.fromtimestamp(ts, dt.UTC)")
    assert not _offences("t = moment.astimezone(clock.zone())")
    assert _offences(CLOCK.read_text())          # the clock itself does read the system clock
