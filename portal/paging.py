"""Pagination of the public lists and the API: by position near the ends, by keyset elsewhere.

A list is ordered by (day, id), newest first (or oldest first). A page is read

- by position (``LIMIT 20 OFFSET n``) only when it is one of the first or last
  ``NUMBERED_PAGES`` pages: the last ones are read backwards from the end, so
  the offset never exceeds ``NUMBERED_PAGES`` pages of rows;
- everywhere else through a cursor: the key (day, id) of the row next to the
  page, read with ``WHERE (day, id) < key ORDER BY day, id LIMIT 20``, which
  costs the same on page 3 as on page 40,000.

A page number between the two ends cannot be opened directly: answering it
would mean walking every row before it. The cursor carries the page number it
leads to, as a label only; a tampered cursor is refused (never an error).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from portal import cursors

PER_PAGE = 20
#: Far beyond any real list; keeps every number within every database's integer range.
MAX_PAGE = 1_000_000
#: Row ids are 32-bit integers (PostgreSQL ``integer``): a larger id in a cursor would make the
#: database refuse the comparison (integer out of range), i.e. a 500.
MAX_ID = 2**31 - 1
#: Pages opened by their number at each end of a list (read by position, OFFSET ≤ 49 pages).
NUMBERED_PAGES = 50
#: The API's ``page`` parameter goes this far (then ``cursor``): OFFSET ≤ 49 × per_page rows.
API_MAX_PAGE = 50

CURSOR_PATTERN = r"k1\.[A-Za-z0-9_-]{8,60}"
_KEY = re.compile(r"([ab])\|(\d{4}-\d{2}-\d{2})\|(\d{1,15})\|(\d{1,7})")


def page_number(raw: str | None) -> int:
    """The requested page: anything that is not an integer counts as page 1 (``page=abc``)."""
    try:
        return int(str(raw).strip()) if raw is not None else 1
    except ValueError:
        return 1


@dataclass(frozen=True)
class Cursor:
    """The page ``number`` just after (``after``) or just before the row keyed (day, id)."""

    after: bool
    day: dt.date
    id: int
    number: int

    def encode(self) -> str:
        text = f"{'a' if self.after else 'b'}|{self.day.isoformat()}|{self.id}|{self.number}"
        return cursors.encode("k1", text)


def decode_cursor(raw: str) -> Cursor | None:
    """The cursor, or None for anything the portal did not make."""
    key = _KEY.fullmatch(cursors.decode(raw, "k1") or "")
    if not key:
        return None
    try:
        day = dt.date.fromisoformat(key.group(2))
    except ValueError:
        return None
    number, row_id = int(key.group(4)), int(key.group(3))
    if not 1 <= number <= MAX_PAGE or row_id > MAX_ID:
        return None
    return Cursor(key.group(1) == "a", day, row_id, number)


@dataclass
class Window:
    """How to read one page: by position from the start or the end, or from a cursor."""

    offset: int = 0
    limit: int = PER_PAGE
    from_end: bool = False
    cursor: Cursor | None = None


@dataclass
class Page:
    number: int
    total: int
    per_page: int = PER_PAGE
    items: list = field(default_factory=list)
    #: "ok", "missing" (beyond the end, or below 1) or "deep" (between the numbered ends)
    state: str = "ok"
    key_of: object = None   # row -> (day, id), for the cursors of the links (set by the list)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def exists(self) -> bool:
        return self.state == "ok"

    @property
    def first_row(self) -> int:
        return (self.number - 1) * self.per_page + 1

    @property
    def last_row(self) -> int:
        return min(self.total, self.number * self.per_page)

    def numbered(self, number: int) -> bool:
        """The page can be opened by its number (it is near the start or the end)."""
        return 1 <= number <= self.pages and (
            number <= NUMBERED_PAGES or number > self.pages - NUMBERED_PAGES)

    def _to(self, number: int, row, after: bool) -> dict:
        if number == 1:
            return {}
        if self.numbered(number) or row is None:
            return {"page": number}
        day, row_id = self.key_of(row)
        return {"cursor": Cursor(after, day, row_id, number).encode()}

    @property
    def prev_args(self) -> dict | None:
        if not self.items or self.number <= 1:
            return None
        return self._to(self.number - 1, self.items[0], after=False)

    @property
    def next_args(self) -> dict | None:
        if not self.items or self.number >= self.pages:
            return None
        return self._to(self.number + 1, self.items[-1], after=True)

    @property
    def last_args(self) -> dict:
        return {"page": self.pages} if self.pages > 1 else {}

    @property
    def nearby(self) -> list[int]:
        """Numbered pages around this one that can be opened by number (for the pager)."""
        return [n for n in range(self.number - 3, self.number + 4) if self.numbered(n)]


def locate(page: Page, raw_page: str | None, cursor: Cursor | None) -> Window | None:
    """Set ``page.state`` (and the number a cursor leads to); the window to read, or None."""
    pages = page.pages
    if cursor is not None:
        page.number = min(max(cursor.number, 1), pages)
        return Window(limit=page.per_page, cursor=cursor) if page.total else None
    number = page.number = page_number(raw_page)
    if not 1 <= number <= min(pages, MAX_PAGE):
        page.state = "missing"
        return None
    if not page.total:
        return None
    if number <= NUMBERED_PAGES:
        return Window(offset=(number - 1) * page.per_page, limit=page.per_page)
    if number > pages - NUMBERED_PAGES:
        # counted from the end: the rows (number-1)*per_page … number*per_page-1 of the list
        start = max(0, page.total - number * page.per_page)
        return Window(offset=start, limit=page.total - (number - 1) * page.per_page - start,
                      from_end=True)
    page.state = "deep"
    return None
