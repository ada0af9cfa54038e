"""The transition tables: every allowed move passes, everything else raises."""
import pytest

from portal.rules.workflow import (
    CASE_TRANSITIONS,
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
