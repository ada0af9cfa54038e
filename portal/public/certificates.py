"""Query certificates (查询结果证明): issue one from a /check answer, show it, verify it.

``POST /check/certificate`` (CSRF, rate-limited like /check) takes the signed token
of the answer just shown (:mod:`portal.public.certificate_token`), issues the
certificate from a fresh look-up by the keyed hash and redirects to
``/verify/<number>``: the certificate as issued (the stored content, never
recomputed), with its QR code, signature and key id; ``.json`` and ``.pdf``
of the same address download it. ``/certificates/public-key`` (PEM) and
``/certificates/public-key.json`` publish the key that verifies the signatures.
"""
from __future__ import annotations

import base64
import datetime as dt
import json
import logging
from functools import lru_cache
from pathlib import Path

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup, escape

from portal import clock
from portal import public_scope as jurisdiction
from portal.extensions import db, limiter
from portal.public import certificate_token, check
from portal.services import certificates, signing

log = logging.getLogger(__name__)
STYLESHEET = Path(__file__).resolve().parents[2] / "static" / "css" / "letters.css"


class IssueForm(FlaskForm):
    """Only the CSRF token and the answer's signed token (read from the form data)."""


def register(bp: Blueprint) -> None:
    bp.add_url_rule("/check/certificate", "certificate_issue",
                    limiter.limit(check._rate_limit, methods=["POST"])(issue), methods=["POST"])
    bp.add_url_rule("/verify/<string:name>", "certificate", show)
    bp.add_url_rule("/certificates/public-key", "certificate_key", public_key)
    bp.add_url_rule("/certificates/public-key.json", "certificate_key_json", public_key_json)
    check.answers_errors("public.certificate_issue", check._too_many_check,
                         check._csrf_failed_check)


def signer() -> signing.Signer:
    return signing.signer(current_app.config["PORTAL_CERT_SIGNING_KEY"])


def certificate_url(number: str) -> str:
    return f"{current_app.config['PORTAL_BASE_URL'].rstrip('/')}/verify/{number}"


def public_key_url() -> str:
    return f"{current_app.config['PORTAL_BASE_URL'].rstrip('/')}/certificates/public-key"


def issue():
    form = IssueForm()
    found = certificate_token.read(request.form.get("token", "")) if form.validate_on_submit() else None
    if found is None or found[1] != jurisdiction.requested_code():
        return check._page(check.CheckForm(formdata=None), status=400, error=_(
            "This answer has expired. Please check the code again, then ask for the certificate."))
    subject, scope, day = found
    return issued(subject, scope, day if day is not None and day < clock.today() else None)


def issued(subject: certificates.Subject, scope: str | None, day: dt.date | None = None,
           codes: list[str] | None = None):
    """Issue the certificate of ``subject``'s answer (in the jurisdiction ``scope``: the one
    the request asks for, or ``codes``, the jurisdictions it covers) and send the asker to it."""
    if codes is None and scope is not None:
        codes = jurisdiction.scope().codes
    site = jurisdiction.site_info()
    authority = {"zh_CN": site.authority("zh_CN"), "en": site.authority("en")}
    certificate = certificates.issue(db.session, signer(), subject, codes, scope, authority,
                                     day=day)
    db.session.commit()
    return redirect(url_for("public.certificate", name=certificate.number, jurisdiction=None), 303)


def _day(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _local(at: dt.datetime) -> dt.datetime:
    """A stored instant in the bureau's time zone (SQLite hands back naive UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(clock.zone())


def qr_svg(url: str, label: str) -> Markup:
    svg = segno.make(url, error="m", micro=False).svg_inline(
        omitsize=True, border=4, dark="#000", light="#fff", title=label, svgclass="qr-code")
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="%s" ' % escape(label), 1))


def show(name: str):
    number, _dot, suffix = name.partition(".")
    if suffix not in ("", "json", "pdf"):
        abort(404)
    certificate = certificates.by_number(db.session, number)
    if certificate is None:
        abort(404)
    if suffix == "json":
        body = json.dumps(certificates.document(certificate, public_key_url()),
                          ensure_ascii=False, indent=2)
        response = Response(body + "\n", mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="{certificate.number}.json"'
        return response
    lang = "en" if str(get_locale()).startswith("en") else "zh_CN"
    context = {
        "cert": certificate, "c": certificates.content(certificate), "lang": lang, "day": _day,
        "url": certificate_url(certificate.number), "public_key_url": public_key_url(),
        "issued_local": _local(certificate.issued_at),
    }
    context["qr"] = qr_svg(context["url"], _("QR code of this certificate's address"))
    if suffix == "pdf":
        return _pdf(certificate.number, context)
    return render_template("public/certificate.html", **context)


def _pdf(number: str, context: dict):
    """The certificate as PDF, with its signed JSON document embedded (an attachment named
    ``<number>.json``): the PDF alone verifies offline (``flask certificates verify X.pdf``)."""
    html = render_template("documents/query_certificate.html", pdf=True, **context)
    weasyprint = _weasyprint()
    if weasyprint is None:
        abort(503)
    signed = json.dumps(certificates.document(context["cert"], public_key_url()),
                        ensure_ascii=False, indent=2) + "\n"
    try:
        data = weasyprint.HTML(string=html, base_url=str(STYLESHEET.parent)).write_pdf(
            stylesheets=[weasyprint.CSS(filename=str(STYLESHEET))],
            attachments=[weasyprint.Attachment(
                string=signed.encode("utf-8"), name=f"{number}.json",
                description="Signed query certificate (Ed25519): verify offline")])
    except Exception:   # fonts, Pango: the HTML certificate still prints
        log.exception("certificate PDF rendering failed")
        abort(503)
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{number}.pdf"'
    return response


@lru_cache(maxsize=1)
def _weasyprint():
    try:
        import weasyprint
    except Exception as exc:  # ImportError, or OSError when Pango/Cairo are missing
        log.warning("PDF certificates unavailable: %s", exc)
        return None
    return weasyprint


def public_key():
    response = Response(signer().public_pem(), mimetype="application/x-pem-file")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Content-Disposition"] = 'inline; filename="query-certificates.pem"'
    return response


def public_key_json():
    key = signer()
    response = jsonify({"algorithm": signing.ALGORITHM, "key_id": key.key_id,
                        "public_key_pem": key.public_pem(),
                        "public_key_raw_base64": base64.b64encode(key.public_raw()).decode()})
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
