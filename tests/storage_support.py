"""Upload tests on both evidence storages: ``@BOTH`` runs a test with the app's
PORTAL_UPLOAD_STORAGE set to ``directory`` and to ``database``; the helpers look into
whichever the app uses."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.services import storage

STORAGES = ("directory", "database")
BOTH = pytest.mark.parametrize("upload_storage", STORAGES)


def store(app) -> storage.Storage:
    """The app's storage, on the test's session (call inside the app fixture's context)."""
    return storage.from_setting(app.config["PORTAL_UPLOAD_STORAGE"], app.config["PORTAL_UPLOAD_DIR"],
                                db.session)


def stored_names(app) -> list[str]:
    """Every name in the app's storage, sorted."""
    return sorted(store(app).listing())


def stored_bytes(app, name: str) -> bytes | None:
    fh = store(app).open(name)
    if fh is None:
        return None
    with fh:
        return fh.read()
