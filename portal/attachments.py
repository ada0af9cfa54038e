"""Evidence files as downloads: the party's tracking page and the back office (after their
own permission checks) send them the same way, from the directory or from the database."""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, request, send_file
from werkzeug.exceptions import RequestedRangeNotSatisfiable

from portal.extensions import db
from portal.models import Attachment
from portal.services import storage, uploads


def upload_dir() -> Path:
    return Path(current_app.config["PORTAL_UPLOAD_DIR"])


def store() -> storage.Storage:
    """The evidence storage ``PORTAL_UPLOAD_STORAGE`` names, bound to this request's session."""
    config = current_app.config
    return storage.from_setting(config.get("PORTAL_UPLOAD_STORAGE"), upload_dir(), db.session)


def send_attachment(attachment: Attachment):
    """The file as a download (never inline), named as uploaded (RFC 5987 ``filename*``)."""
    found = store().download(attachment.stored_name)
    if found is None:
        abort(404)
    options = {"mimetype": attachment.content_type, "as_attachment": True, "max_age": 0, "etag": False,
               "download_name": uploads.download_name(attachment)}
    if isinstance(found.file, Path):
        response = send_file(found.file, **options)
    else:
        # a stream read slice by slice while it is sent: the same headers as a file from disk
        response = send_file(found.file, conditional=False, last_modified=found.modified, **options)
        response.content_length = found.size
        try:
            response = response.make_conditional(request.environ, accept_ranges=True,
                                                  complete_length=found.size)
        except RequestedRangeNotSatisfiable:
            found.file.close()
            raise
    response.headers["Cache-Control"] = "private, no-store"
    return response
