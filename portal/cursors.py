"""Opaque list cursors: a versioned prefix, a dot and the unpadded URL-safe base64 of a
short ASCII text (the keyset of the public lists, the position in the integration feed)."""
from __future__ import annotations

import base64
import re

_TOKEN = re.compile(r"([a-z][0-9])\.([A-Za-z0-9_-]{1,80})")


def encode(prefix: str, text: str) -> str:
    return f"{prefix}." + base64.urlsafe_b64encode(text.encode("ascii")).decode().rstrip("=")


def decode(raw: str | None, prefix: str) -> str | None:
    """The text of a cursor made by :func:`encode` with ``prefix``; None for anything else."""
    match = _TOKEN.fullmatch(raw or "")
    if not match or match.group(1) != prefix:
        return None
    token = match.group(2)
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
