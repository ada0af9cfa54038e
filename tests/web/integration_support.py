"""Helpers for the integration API tests: API clients, bearer headers, request bodies."""
import datetime as dt
import json
import random

import sqlalchemy as sa

from portal import clock
from portal.models import AuditEvent, Role
from portal.rules import identifiers
from portal.security import lookup_hash
from portal.services import integration
from tests.factories import make_staff

BASE = "/api/v1/integration"
KEY = "test-lookup-key"
RNG = random.Random(4242)


def new_client(session, scopes=integration.SCOPES, name=None):
    admin = make_staff(session, Role.ADMIN)
    client, token = integration.create_client(
        session, admin, name or f"sys-{admin.id}", list(scopes), clock.now())
    session.commit()
    return client, token


def auth(token):
    return {"Authorization": f"Bearer {token}"}


def error_of(response, status):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    return response.get_json()["error"]


def audit_text(session) -> str:
    rows = session.execute(sa.select(AuditEvent.actor_label, AuditEvent.entity_id,
                                     AuditEvent.data)).all()
    return json.dumps([list(r) for r in rows], ensure_ascii=False, default=str)


def wrong_check(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def hashed(subject):
    """Keyed hashes as ``subjects.register_subject`` stores them (the factories leave them out)."""
    if subject.id_number:
        subject.id_hash = lookup_hash(KEY, subject.id_number)
    for person in subject.people:
        person.id_hash = lookup_hash(KEY, person.id_number) if person.id_number else None
    return subject


def org_body(ref="R-1", ground="J1", **changes):
    uscc = changes.pop("uscc", None) or identifiers.generate_uscc(RNG)
    rep_id = identifiers.generate_ric(RNG, birth=dt.date(1970, 5, 6))
    body = {
        "external_ref": {"system": "sbjf", "record_id": ref},
        "subject": {"kind": "organisation", "name": "佳木斯市松江建材有限公司", "uscc": uscc,
                    "legal_representative": {"name": "赵志刚", "id_number": rep_id}},
        "ground": ground, "facts": "经稽核，该单位少报缴费基数。", "amount": "23500.50",
        "document_no": "佳社稽〔2026〕8号", "department": "佳木斯市社会保险事业中心",
    }
    body.update(changes)
    return body
