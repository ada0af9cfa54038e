"""gunicorn's access log without the secrets some addresses are: a watchlist's Atom feed
(``/watch/feed/<token>.atom``), an e-mail confirmation link (``/watch/verify/<token>``), a
link that sets a forgotten password (``/watch/reset/<token>``) and a screening file's results
(``/screen/<token>…``). Whoever reads the log must not be able to open them; the token is
replaced by ``…`` (the query string is left out of the format)."""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

SECRET_PATH = re.compile(r"(/watch/feed/|/watch/verify/|/watch/reset/|/screen/)"
                         r"(?!$)[^/]+?(?=\.atom$|/|$)")


def redact(path: str | None) -> str | None:
    return SECRET_PATH.sub(r"\1…", path) if path else path


class AccessLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("U", "r"):
            atoms[key] = redact(atoms.get(key))
        atoms.pop("q", None)
        return atoms
