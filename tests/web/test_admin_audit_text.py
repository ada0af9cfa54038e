"""Audit entries read as sentences in zh_CN and en, for every action the code records.

The actions are read from the source (every ``audit.record(…)``, ``_transition(…)`` and the
refusal action): a new action without a sentence fails here.
"""
import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from portal.admin import audit_text
from portal.models import AuditEvent, FindingStatus, Role
from portal.rules.workflow import SubmissionState
from portal.services import audit
from portal.services.audit import Actor
from portal.services.scope import REFUSED
from tests.web.admin_support import english, fast_passwords, login, staff, text  # noqa: F401

pytestmark = pytest.mark.usefixtures("fast_passwords")
PORTAL = Path(__file__).resolve().parents[2] / "portal"
#: f-string actions: their prefix and the enum whose values complete them.
DYNAMIC = {"submission.": SubmissionState, "grade.finding.": FindingStatus}


def _actions_of(node) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _actions_of(node.body) | _actions_of(node.orelse)
    if isinstance(node, ast.JoinedStr):
        prefix = "".join(str(v.value) for v in node.values if isinstance(v, ast.Constant))
        assert prefix in DYNAMIC, f"a new computed action {prefix}…: name its values in DYNAMIC"
        return {prefix + member.value for member in DYNAMIC[prefix]}
    if isinstance(node, ast.Name) and node.id == "REFUSED":
        return {REFUSED}
    raise AssertionError(f"an action the test cannot read: {ast.dump(node)[:80]}")


def _is_audit_record(call: ast.Call) -> bool:
    func = call.func
    return (isinstance(func, ast.Attribute) and func.attr in ("record", "record_refusal")
            and isinstance(func.value, ast.Name) and func.value.id in ("audit", "scope"))


def _trees():
    return [ast.parse(p.read_text(encoding="utf-8")) for p in PORTAL.rglob("*.py")]


def _wrappers(tree) -> dict[str, int]:
    """Functions of a module that pass one of their parameters on as the action
    (``_transition``): their name -> the position of that parameter."""
    found = {}
    if True:
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef):
                continue
            params = [a.arg for a in fn.args.args]
            for call in ast.walk(fn):
                if isinstance(call, ast.Call) and _is_audit_record(call) and call.func.attr == "record" \
                        and len(call.args) >= 3 and isinstance(call.args[2], ast.Name) \
                        and call.args[2].id in params:
                    found[fn.name] = params.index(call.args[2].id)
    return found


def recorded_actions() -> set[str]:
    found = set()
    for tree in _trees():
        wrappers = _wrappers(tree)
        for call in ast.walk(tree):
            if not isinstance(call, ast.Call):
                continue
            name = getattr(call.func, "attr", None) or getattr(call.func, "id", None)
            if _is_audit_record(call) and call.func.attr == "record" and len(call.args) >= 3:
                if not (isinstance(call.args[2], ast.Name) and call.args[2].id == "action"
                        and wrappers):
                    found |= _actions_of(call.args[2])
            elif _is_audit_record(call):           # scope.record_refusal
                found.add(REFUSED)
            elif name in wrappers and len(call.args) > wrappers[name]:
                found |= _actions_of(call.args[wrappers[name]])
    return found


def test_the_source_is_read():
    actions = recorded_actions()
    assert {"case.decide", "submission.awaiting_material", "staff.deactivate",
            "jurisdiction.refused", "grade.finding.withdrawn", "letter.render"} <= actions
    assert len(actions) > 60


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_every_recorded_action_reads_as_a_sentence(app, lang):
    wrong = {}
    for action in sorted(recorded_actions()):
        if action not in audit_text.SENTENCES:
            wrong[action] = "no sentence"
            continue
        event = AuditEvent(seq=1, actor_label="staff:li.na", action=action, entity_type="case",
                           entity_id="JIA-2026-000179",
                           data={"from": "proposed", "to": "decided", "term_source": "art10",
                                 "reason": "credit_repaired", "kind": "listing_decision"})
        with app.test_request_context(), force_locale(lang):
            said = audit_text.sentence(event, {"li.na": "李娜"})
        if "%(" in said or "_source" in said or "staff:" in said or action in said:
            wrong[action] = said
        elif "li.na" not in said and "JIA-2026-000179" not in said:
            wrong[action] = said
        elif lang == "zh_CN" and not re.search(r"[\u4e00-\u9fff]", said.replace("李娜", "")):
            wrong[action] = said
    assert not wrong


def test_the_decision_reads_in_chinese_with_names_and_dates(app):
    event = AuditEvent(seq=1, actor_label="staff:zhang.wei", action="case.decide",
                       entity_type="case", entity_id="JIA-2026-000179",
                       data={"from": "proposed", "to": "decided", "decided_on": "2026-10-09",
                             "term_last_day": "2027-10-08", "term_source": "jiamusi:art10"})
    with app.test_request_context(), force_locale("zh_CN"):
        said = audit_text.sentence(event, {"zhang.wei": "张伟"})
    assert said.startswith("张伟 (zhang.wei)")
    assert "签" in said and "JIA-2026-000179" in said and "2026-10-09" in said
    assert "term_source" not in said and "case.decide" not in said


def test_an_unknown_action_still_reads_as_a_sentence(app):
    event = AuditEvent(seq=1, actor_label="system", action="future.thing", entity_type="case",
                       entity_id="JIA-2026-000001", data={"odd_key": 1})
    with app.test_request_context(), force_locale("en"):
        said = audit_text.sentence(event)
    assert said.startswith("The system") and "case JIA-2026-000001" in said
    assert "odd_key" not in said


def test_a_party_answering_a_request_for_material_does_not_accept_its_own_filing(app):
    """Back under review after the party's 补正 reply: the party answered, staff accepted."""
    def said(actor, before):
        event = AuditEvent(seq=1, actor_label=actor, action="submission.under_review",
                           entity_type="submission", entity_id="Z20261206-EF3201",
                           data={"from": before, "to": "under_review"})
        with app.test_request_context(), force_locale("en"):
            return audit_text.sentence(event, {"li.na": "Li Na"})

    answered = said("party", "awaiting_material")
    assert "answered the request for more material" in answered and "accepted" not in answered
    assert said("staff:li.na", "received") == \
        "Li Na (li.na) accepted filing Z20261206-EF3201 for review."


def test_state_values_are_in_words(app):
    event = AuditEvent(seq=1, actor_label="staff:wang.fang", action="staff.role",
                       entity_type="staff", entity_id="li.na",
                       data={"from": "clerk", "to": "approver"})
    with app.test_request_context(), force_locale("en"):
        said = audit_text.sentence(event)
    assert said == "wang.fang changed the role of account li.na from Clerk to Approver."


def test_the_audit_log_and_the_case_trail_read_as_sentences(session, client):
    admin = staff(session, Role.ADMIN, "admin.zhou")
    clerk = staff(session, Role.CLERK, "wang.fang")
    audit.record(session, Actor.staff(clerk), "case.decide", "case", "JIA-2026-000179",
                 {"from": "proposed", "to": "decided", "decided_on": dt.date(2026, 10, 9),
                  "term_source": "jiamusi:art10"})
    session.commit()
    login(client, admin)
    english(client)
    body = text(client.get("/admin/audit/"))
    assert f"{clerk.display_name} (wang.fang) signed the listing decision of case " \
           "JIA-2026-000179 (decided on 2026-10-09" in body
    assert "term_source" not in body and "staff:wang.fang" not in body
