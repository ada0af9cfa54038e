"""PDF of a letter with WeasyPrint (optional at run time: without it the HTML letter still prints).

The letter's HTML is rendered without any external reference; the print
stylesheet is passed by file path, so WeasyPrint fetches nothing (no network,
no user-supplied URL). CJK glyphs come from the system fonts (Debian
``fonts-noto-cjk``, named first in ``static/css/letters.css``).
"""
from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)
STYLESHEET = Path(__file__).resolve().parents[2] / "static" / "css" / "letters.css"


class PdfUnavailable(RuntimeError):
    """WeasyPrint is missing or could not render this letter."""


@lru_cache(maxsize=1)
def _weasyprint():
    try:
        import weasyprint
    except Exception as exc:  # ImportError, or OSError when Pango/Cairo are missing
        log.warning("PDF letters unavailable: %s", exc)
        return None
    return weasyprint


def available() -> bool:
    return _weasyprint() is not None


def render_pdf(html: str) -> bytes:
    """The PDF bytes of a complete letter page; :class:`PdfUnavailable` on any failure."""
    weasyprint = _weasyprint()
    if weasyprint is None:
        raise PdfUnavailable("weasyprint cannot be imported")
    try:
        stylesheet = weasyprint.CSS(filename=str(STYLESHEET))
        document = weasyprint.HTML(string=html, base_url=str(STYLESHEET.parent))
        return document.write_pdf(stylesheets=[stylesheet])
    except Exception as exc:  # fonts, Pango, a broken stylesheet: the HTML letter still works
        log.exception("PDF rendering failed")
        raise PdfUnavailable(str(exc)) from exc
