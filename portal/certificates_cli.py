"""``flask --app wsgi certificates verify FILE.json`` and ``certificates chain``.

``verify`` checks a downloaded query certificate (``/verify/<number>.json``)
against a public key: the PEM file given with ``--key`` (as downloaded from
``/certificates/public-key``: no database, no network), else this portal's own
configured key. ``chain`` recomputes the whole chain of issued certificates
(content hashes, links, signatures). Both exit 1 on any problem.
"""
from __future__ import annotations

import json
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from portal.extensions import db


@click.group("certificates")
def certificates_group() -> None:
    """Query certificates (查询结果证明): verify a downloaded one, or the whole chain."""


def _public_key(path: str | None):
    from portal.services import signing

    if path:
        with open(path, "rb") as fh:
            return signing.load_public_pem(fh.read())
    return signing.signer(current_app.config["PORTAL_CERT_SIGNING_KEY"]).public


@certificates_group.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", "key_path", type=click.Path(exists=True, dir_okay=False),
              help="Public key (PEM) from /certificates/public-key; default: this portal's key.")
@with_appcontext
def verify_file(file: str, key_path: str | None) -> None:
    """Verify a certificate downloaded as JSON, or as PDF (the signed JSON it carries)."""
    from portal.services import certificates

    try:
        doc = _document_in(file)
    except (OSError, ValueError) as exc:
        click.echo(f"{file}: {exc}")
        sys.exit(1)
    problems = certificates.verify_document(doc if isinstance(doc, dict) else {},
                                            _public_key(key_path))
    if problems:
        for problem in problems:
            click.echo(f"{file}: {problem}")
        click.echo("NOT VERIFIED")
        sys.exit(1)
    content = json.loads(doc["content"])
    click.echo(f"VERIFIED {content['number']}: {content['result']} for "
               f"{content['subject']['identifier']}, issued {content['issued_at']} "
               f"(publication version {content['publication_version']}), key {doc['key_id']}")


def _document_in(file: str) -> dict:
    """The signed document of a certificate file: the JSON download, or the JSON embedded in
    the PDF download. ValueError when there is none."""
    with open(file, "rb") as fh:
        raw = fh.read()
    if raw.startswith(b"%PDF"):
        raw = _embedded_json(raw)
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not a readable JSON file ({exc})") from None
    return doc if isinstance(doc, dict) else {}


def _embedded_json(pdf: bytes) -> bytes:
    import io

    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        attachments = PdfReader(io.BytesIO(pdf)).attachments
        found = [data for name, items in attachments.items() if name.endswith(".json")
                 for data in items]
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a readable PDF file ({type(exc).__name__})") from None
    if len(found) != 1:
        raise ValueError("this PDF does not carry exactly one signed certificate (JSON)")
    return found[0]


@certificates_group.command("chain")
@with_appcontext
def verify_chain() -> None:
    """Recompute the chain of every issued certificate."""
    from portal.services import certificates

    count, problems = certificates.verify_chain(db.session, _public_key(None))
    db.session.rollback()
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{len(problems)} problem(s) in {count} certificate(s)")
        sys.exit(1)
    click.echo(f"chain intact: {count} certificate(s)")
