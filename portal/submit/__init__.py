"""Filings by listed parties and the public, and their tracking (SPEC §§4–6).

Blueprint ``submit`` (``portal.submit.views.bp``): ``/submit`` — the landing
page, the party's sign-in with its letter, the five guided filings (defence,
objection, rectification, credit repair, complaint), the printable credit
commitment — and ``/track`` — status, 补正 replies and evidence downloads with
the receipt number and query code. Views are thin; the work is done by
``portal.services.submissions``, ``uploads``, ``notifications``,
``party_access`` and ``filing_windows``.
"""
