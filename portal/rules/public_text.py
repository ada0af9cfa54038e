"""Internal notes that must never reach the public, the parties or the Chinese back office.

The profiles keep the article citations for staff (``source``, in English
shorthand such as ``"000 art. 10 ¶2"`` or ``"SPEC §4.2 …"``) apart from the
words that pages, exports, feeds, the API and the letters show.  This module
is the one list of the marks such staff notes leave behind; the profile
loader refuses public text that carries one, and the crawl test
(``tests/web/test_public_text_crawl.py``) fails when one reaches a surface.
"""
from __future__ import annotations

import re

#: (label, pattern) of every internal mark: references to the seed texts and the
#: specification, the staff shorthand for articles and paragraphs, editorial notes
#: about the text itself, work markers, and title marks written twice.
INTERNAL_MARKERS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("seed reference", re.compile(r"\bseeds?\b", re.IGNORECASE)),
    ("specification reference", re.compile(r"\bSPEC\b")),
    ("section sign", re.compile("§")),
    ("paragraph sign", re.compile("¶")),
    ("article shorthand", re.compile(r"\barts?\.\s*\d", re.IGNORECASE)),
    ("source prefix", re.compile(r"\b(?:bureau setting|national:|law:)")),
    ("number reference note", re.compile("文号见")),
    ("seed number reference", re.compile(r"见0\d")),
    ("note about this text", re.compile("本文本")),
    ("work marker", re.compile(r"\b(?:TODO|FIXME|XXX)\b")),
    ("doubled title marks", re.compile("《《|》》")),
)


def internal_markers(text: str) -> list[tuple[str, str]]:
    """The internal marks found in ``text``: (label, the matched text with some context)."""
    found = []
    for label, pattern in INTERNAL_MARKERS:
        for match in pattern.finditer(text or ""):
            start, end = max(match.start() - 40, 0), min(match.end() + 40, len(text))
            found.append((label, text[start:end]))
    return found
