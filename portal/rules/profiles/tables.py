"""Reading one TOML table of a profile: typed getters that name the file and key on error."""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from portal.rules.profiles.model import SOURCE_PATTERN, UNITS, Period, ProfileError, Text


class Table:
    """One TOML table being read; remembers the keys used to reject the rest."""

    def __init__(self, path: Path, data: Any, where: str) -> None:
        self.path, self.where = path, where
        if not isinstance(data, dict):
            raise ProfileError(f"{path}: {where or '<root>'}: expected a table")
        self.data: dict = data
        self.used: set[str] = set()

    def key(self, k: str) -> str:
        return f"{self.where}.{k}" if self.where else k

    def error(self, k: str, message: str) -> ProfileError:
        return ProfileError(f"{self.path}: {self.key(k)}: {message}")

    def has(self, k: str) -> bool:
        return k in self.data

    def raw(self, k: str, required: bool = True) -> Any:
        self.used.add(k)
        if k not in self.data:
            if required:
                raise self.error(k, "missing required key")
            return None
        return self.data[k]

    def str(self, k: str, required: bool = True, default: str | None = None) -> str | None:
        v = self.raw(k, required)
        if v is None:
            return default
        if not isinstance(v, str) or not v.strip():
            raise self.error(k, "expected a non-empty string")
        return v.strip()

    def bool(self, k: str, required: bool = True, default: bool = False) -> bool:
        v = self.raw(k, required)
        if v is None:
            return default
        if not isinstance(v, bool):
            raise self.error(k, "expected true or false")
        return v

    def int(self, k: str, required: bool = True, minimum: int = 0, maximum: int | None = None) -> int | None:
        v = self.raw(k, required)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int):
            raise self.error(k, "expected an integer")
        if v < minimum or (maximum is not None and v > maximum):
            raise self.error(k, f"out of range ({v})")
        return v

    def date(self, k: str) -> date | None:
        v = self.raw(k, required=False)
        if v is None:
            return None
        if isinstance(v, datetime) or not isinstance(v, date):
            raise self.error(k, "expected a date (YYYY-MM-DD)")
        return v

    def source(self, k: str = "source") -> str:
        v = self.str(k)
        if not SOURCE_PATTERN.match(v):
            raise self.error(k, f"source {v!r} names no seed, overlay, statute, SPEC default or bureau setting")
        return v

    def choice(self, k: str, allowed: tuple[str, ...]) -> str:
        v = self.str(k)
        if v not in allowed:
            raise self.error(k, f"{v!r} is not one of {', '.join(allowed)}")
        return v

    def choices(self, k: str, allowed: tuple[str, ...], required: bool = True) -> frozenset[str]:
        v = self.raw(k, required)
        if v is None:
            return frozenset()
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise self.error(k, "expected a list of strings")
        bad = [x for x in v if x not in allowed]
        if bad:
            raise self.error(k, f"{bad[0]!r} is not one of {', '.join(allowed)}")
        return frozenset(v)

    def table(self, k: str, required: bool = True) -> "Table | None":
        v = self.raw(k, required)
        if v is None:
            return None
        return Table(self.path, v, self.key(k))

    def tables(self, k: str, required: bool = False) -> list["Table"]:
        v = self.raw(k, required)
        if v is None:
            return []
        if not isinstance(v, list):
            raise self.error(k, "expected an array of tables")
        return [Table(self.path, item, f"{self.key(k)}[{i}]") for i, item in enumerate(v)]

    def text(self, k: str, required: bool = True) -> Text | None:
        t = self.table(k, required)
        if t is None:
            return None
        result = Text(t.str("zh"), t.str("en"))
        t.close()
        return result

    def texts(self, k: str) -> tuple[Text, ...]:
        out = []
        for t in self.tables(k):
            out.append(Text(t.str("zh"), t.str("en")))
            t.close()
        return tuple(out)

    def period(self, k: str, required: bool = True) -> Period | None:
        t = self.table(k, required)
        if t is None:
            return None
        p = t.as_period()
        t.close()
        return p

    def as_period(self) -> Period:
        """This table read as a period: ``{ amount = 7, unit = "working_days", source = … }``."""
        return Period(self.int("amount"), self.choice("unit", UNITS), self.source())

    def close(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "unknown key")
