"""Evidence files on disk, as downloads: the party's tracking page and the back office
(after their own permission checks) send them the same way."""
from __future__ import annotations

from pathlib import Path

from flask import abort, current_app, send_file

from portal.models import Attachment
from portal.services import uploads


def upload_dir() -> Path:
    return Path(current_app.config["PORTAL_UPLOAD_DIR"])


def send_attachment(attachment: Attachment):
    """The file as a download (never inline), named as uploaded (RFC 5987 ``filename*``)."""
    path = uploads.path_of(upload_dir(), attachment)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=attachment.content_type, as_attachment=True,
                         download_name=uploads.download_name(attachment), max_age=0, etag=False)
    response.headers["Cache-Control"] = "private, no-store"
    return response
