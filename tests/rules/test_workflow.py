"""The transition tables: every allowed move passes, everything else raises."""
import ast
from pathlib import Path

import pytest

from portal.rules.workflow import (
    CASE_TRANSITIONS,
    EVER_LISTED_STATES,
    LISTED_STATES,
    SUBMISSION_TRANSITIONS,
    CaseState,
    InvalidTransition,
    SubmissionState,
    check_case,
    check_submission,
)


def test_the_procedure_in_order_is_allowed():
    path = [CaseState.OPENED, CaseState.PRE_NOTICED, CaseState.DEFENCE_FILED, CaseState.REVIEWED,
            CaseState.PROPOSED, CaseState.DECIDED, CaseState.PUBLISHED, CaseState.REMOVED]
    for current, target in zip(path, path[1:]):
        check_case(current, target)


@pytest.mark.parametrize("current,target", [
    (current, target) for current in CaseState for target in CaseState
    if target not in CASE_TRANSITIONS[current]
])
def test_every_illegal_case_move_raises(current, target):
    with pytest.raises(InvalidTransition) as info:
        check_case(current, target)
    assert info.value.current == current.value and info.value.target == target.value
    assert current.value in str(info.value) and target.value in str(info.value)


def test_skipping_the_pre_notice_or_the_approval_is_refused():
    with pytest.raises(InvalidTransition):
        check_case(CaseState.OPENED, CaseState.PROPOSED)
    with pytest.raises(InvalidTransition):
        check_case(CaseState.PROPOSED, CaseState.PUBLISHED)
    with pytest.raises(InvalidTransition):
        check_case(CaseState.REMOVED, CaseState.PUBLISHED)


def test_final_states_have_no_exit():
    assert not CASE_TRANSITIONS[CaseState.REMOVED]
    assert not CASE_TRANSITIONS[CaseState.DROPPED]
    for final in (SubmissionState.GRANTED, SubmissionState.REJECTED, SubmissionState.WITHDRAWN):
        assert not SUBMISSION_TRANSITIONS[final]


@pytest.mark.parametrize("current,target", [
    (current, target) for current in SubmissionState for target in SubmissionState
    if target not in SUBMISSION_TRANSITIONS[current]
])
def test_every_illegal_submission_move_raises(current, target):
    with pytest.raises(InvalidTransition):
        check_submission(current, target)


def test_more_material_returns_to_review():
    check_submission(SubmissionState.UNDER_REVIEW, SubmissionState.AWAITING_MATERIAL)
    check_submission(SubmissionState.AWAITING_MATERIAL, SubmissionState.UNDER_REVIEW)


def test_the_groups_of_listed_states():
    assert LISTED_STATES == {CaseState.DECIDED, CaseState.PUBLISHED}
    assert EVER_LISTED_STATES == LISTED_STATES | {CaseState.REMOVED}
    # a listed case can only move on to removal: the groups are closed under the table
    for state in LISTED_STATES:
        assert CASE_TRANSITIONS[state] <= EVER_LISTED_STATES
    for state in EVER_LISTED_STATES - LISTED_STATES:
        assert CASE_TRANSITIONS[state] <= EVER_LISTED_STATES


PORTAL = Path(__file__).resolve().parents[2] / "portal"


def _members(node: ast.AST) -> set[str]:
    return {element.attr for element in getattr(node, "elts", ()) if isinstance(element, ast.Attribute)}


def test_the_listed_states_are_spelt_only_in_rules_workflow():
    """A tuple, list or set naming DECIDED and PUBLISHED together re-spells a group of
    ``rules/workflow.py``: use LISTED_STATES or EVER_LISTED_STATES instead."""
    found = []
    for path in sorted(PORTAL.rglob("*.py")):
        if path == PORTAL / "rules" / "workflow.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and {"DECIDED", "PUBLISHED"} <= _members(node):
                found.append(f"{path.relative_to(PORTAL.parent)}:{node.lineno}")
    assert found == []
