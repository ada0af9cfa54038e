"""Double-submits under load: are filings and their evidence kept together?

Against a running portal on 127.0.0.1 (``make run``), for ``--seconds``:
each of ``--clients`` threads opens the complaint form (its one-time token
and CSRF cookie), then posts the same filing twice at once, each copy with a
different PDF, as a browser does on a double click.  Afterwards the portal's
database and evidence storage (``PORTAL_UPLOAD_STORAGE``) are compared:

    accepted   answers 200 (a receipt, or the retry's receipt page)
    stored     distinct filings in the database for the tokens sent
    rows       attachment rows of those filings
    files      those rows whose file exists with the recorded SHA-256

Nothing is lost when stored == tokens, rows == files, and every filing keeps
the files of exactly one of its copies.  Not part of ``make test``.

    .venv/bin/python bench/filing_load.py --port 8000 --seconds 30 --clients 8
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
TOKEN = re.compile(r'name="token" type="hidden" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _multipart(fields: dict, files: list[tuple[str, str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     f"{value}\r\n".encode())
    for field, filename, content in files:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
                     f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
                     + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _client(base: str, stop: float, results: dict, lock: threading.Lock, n: int) -> None:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    i = 0
    while time.monotonic() < stop:
        i += 1
        try:
            html = opener.open(f"{base}/submit/complaint", timeout=30).read().decode()
        except OSError:
            with lock:
                results["errors"] += 1
            continue
        token, csrf = TOKEN.search(html).group(1), CSRF.search(html)
        fields = {"token": token, "anonymous": "y", "reported_name": f"压测单位{n}-{i}",
                  "category": "other", "body": "双击提交测试。"}
        if csrf:
            fields["csrf_token"] = csrf.group(1)
        answers = []

        def send(copy: int) -> None:
            body, kind = _multipart(fields, [("files", f"证据{copy}.pdf", PDF + os.urandom(16))])
            request = urllib.request.Request(f"{base}/submit/complaint", data=body,
                                             headers={"Content-Type": kind})
            try:
                answers.append(opener.open(request, timeout=30).status)
            except urllib.error.HTTPError as error:
                answers.append(error.code)
            except OSError:
                answers.append(0)

        copies = [threading.Thread(target=send, args=(c,)) for c in (1, 2)]
        for t in copies:
            t.start()
        for t in copies:
            t.join()
        with lock:
            results["tokens"].append(token)
            results["sent"] += 2
            results["accepted"] += sum(1 for a in answers if a == 200)
            results["status"].extend(answers)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    results = {"tokens": [], "sent": 0, "accepted": 0, "errors": 0, "status": []}
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds
    threads = [threading.Thread(target=_client, args=(base, stop, results, lock, n))
               for n in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    import sqlalchemy as sa

    from portal import create_app
    from portal.extensions import db
    from portal.models import Attachment, Submission
    from portal.services.storage import from_setting
    from portal.services.upload_check import sha256_of

    app = create_app()
    with app.app_context():
        tokens = results["tokens"]
        stored, rows = 0, []
        for start in range(0, len(tokens), 500):
            chunk = tokens[start:start + 500]
            stored += db.session.scalar(sa.select(sa.func.count(Submission.id))
                                        .where(Submission.idempotency_key.in_(chunk))) or 0
            rows += db.session.execute(
                sa.select(Attachment).join(Submission)
                .where(Submission.idempotency_key.in_(chunk))).scalars().all()
        store = from_setting(app.config.get("PORTAL_UPLOAD_STORAGE"), app.config["PORTAL_UPLOAD_DIR"],
                             db.session)
        good = sum(1 for row in rows if sha256_of(store, row.stored_name) == row.sha256)
    codes = {code: results["status"].count(code) for code in sorted(set(results["status"]))}
    print(f"{args.seconds:.0f} s, {args.clients} clients: tokens={len(tokens)} posts={results['sent']} "
          f"accepted={results['accepted']} answers={codes} stored={stored} rows={len(rows)} "
          f"files={good} form errors={results['errors']}")
    lost = stored != len(tokens) or good != len(rows) or len(rows) != stored
    print("NOTHING LOST" if not lost else "LOSS: rows, files or filings do not match")
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
