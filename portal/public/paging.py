"""Pagination of the public lists: 20 rows a page, bounds checked before querying."""
from __future__ import annotations

from dataclasses import dataclass, field

PER_PAGE = 20
#: Far beyond any real list; keeps OFFSET within every database's integer range.
MAX_PAGE = 1_000_000


def page_number(raw: str | None) -> int:
    """The requested page: anything that is not an integer counts as page 1 (``page=abc``)."""
    try:
        return int(str(raw).strip()) if raw is not None else 1
    except ValueError:
        return 1


@dataclass
class Page:
    number: int
    total: int
    per_page: int = PER_PAGE
    items: list = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def exists(self) -> bool:
        """Page 1 always exists (an empty list is a list); others only within the total."""
        return 1 <= self.number <= min(self.pages, MAX_PAGE)

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.per_page)
