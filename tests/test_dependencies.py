"""Dependencies: bounds in pyproject.toml, exact versions in requirements/*.lock.

Every runtime and test dependency has an upper bound, and the locks that
``make run``, ``make test`` and CI install from pin each of them at a version
inside its bounds, so pyproject.toml and the locks cannot drift apart unnoticed
(after editing pyproject.toml: ``make lock``). No app, no database.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
TEST_LOCK = ROOT / "requirements" / "test.lock"
#: The locks are resolved for the Python and platform the portal runs on.
TARGET = {"python_version": "3.11", "python_full_version": "3.11.0", "sys_platform": "linux",
          "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
          "implementation_name": "cpython", "platform_python_implementation": "CPython"}
#: Specifier operators that put a ceiling on the versions a requirement admits.
CEILINGS = {"<", "<=", "==", "~=", "==="}

PIN = re.compile(r"^(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[^\s;\\]+)")


def _requirements(*extras: str) -> list[Requirement]:
    texts = list(PROJECT["dependencies"])
    for extra in extras:
        texts += PROJECT["optional-dependencies"][extra]
    return [Requirement(text) for text in texts]


def _applies(req: Requirement) -> bool:
    return req.marker is None or req.marker.evaluate({**TARGET, "extra": ""})


def _pins(lock: Path) -> dict[str, Version]:
    """``name==version`` of every package the lock installs, by canonical name."""
    pins: dict[str, Version] = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match["name"])
            assert name not in pins, f"{lock.name}: {name} pinned twice"
            pins[name] = Version(match["version"])
    return pins


def _entries(lock: Path) -> dict[str, str]:
    """Each pinned package's whole entry (pin, hashes, annotations), by canonical name."""
    entries: dict[str, str] = {}
    name = None
    for line in lock.read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match:
            name = canonicalize_name(match["name"])
            entries[name] = ""
        if name is not None:
            entries[name] += line + "\n"
    return entries


ALL = _requirements(*PROJECT["optional-dependencies"])


@pytest.mark.parametrize("req", ALL, ids=lambda r: r.name)
def test_every_dependency_has_an_upper_bound(req):
    ceilings = [spec for spec in req.specifier if spec.operator in CEILINGS]
    assert ceilings, f"{req} in pyproject.toml has no upper bound (add `,<NEXT_MAJOR`)"
    floors = [spec for spec in req.specifier if spec.operator in {">", ">=", "==", "~=", "==="}]
    assert floors, f"{req} in pyproject.toml has no lower bound"


@pytest.mark.parametrize(("lock", "extras"), [(RUNTIME_LOCK, ()), (TEST_LOCK, ("test",))],
                         ids=["runtime", "test"])
def test_lock_pins_every_dependency_inside_its_bounds(lock, extras):
    assert lock.is_file(), f"{lock.relative_to(ROOT)} is missing: run `make lock`"
    pins = _pins(lock)
    problems = []
    for req in _requirements(*extras):
        if not _applies(req):
            continue
        name = canonicalize_name(req.name)
        if name not in pins:
            problems.append(f"{req.name} is not in the lock")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}=={pins[name]} is outside {req.specifier}")
    assert not problems, f"{lock.relative_to(ROOT)} differs from pyproject.toml " \
                         f"(run `make lock`): " + "; ".join(problems)


def test_runtime_lock_takes_the_test_locks_versions():
    runtime, test = _pins(RUNTIME_LOCK), _pins(TEST_LOCK)
    differ = {name: (str(version), str(test.get(name))) for name, version in runtime.items()
              if test.get(name) != version}
    assert not differ, f"runtime and test locks disagree (run `make lock`): {differ}"


@pytest.mark.parametrize("lock", [RUNTIME_LOCK, TEST_LOCK], ids=["runtime", "test"])
def test_every_pin_carries_a_hash(lock):
    """The Makefile installs with --require-hashes: a pin without a hash fails the install."""
    bare = [name for name, entry in _entries(lock).items() if "--hash=sha256:" not in entry]
    assert not bare, f"{lock.name}: pins without a hash: {bare}"


def test_the_makefile_installs_from_the_locks():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for stamp, lock in ((".installed", "RUNTIME_LOCK"), (".test-installed", "TEST_LOCK")):
        rule = re.search(rf"^\$\(VENV\)/{re.escape(stamp)}:(?P<deps>.*)\n(?P<recipe>(?:\t.*\n)+)",
                         makefile, re.M)
        assert rule, f"no rule for .venv/{stamp}"
        assert f"$({lock})" in rule["deps"], f".venv/{stamp} must be rebuilt when the lock changes"
        assert f"--require-hashes -r $({lock})" in rule["recipe"]
    assert "pip install -q --no-deps -e ." in makefile
