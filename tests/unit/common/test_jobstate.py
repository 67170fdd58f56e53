import itertools

import pytest

from reelhouse.common.jobstate import FINAL_STATES, JobStatus, can_transition, next_status

FORWARD = [
    JobStatus.QUEUED,
    JobStatus.SUBMITTED,
    JobStatus.RUNNING,
    JobStatus.DOWNLOADING,
    JobStatus.SUCCEEDED,
]


def test_happy_path_moves_forward_step_by_step() -> None:
    for current, target in itertools.pairwise(FORWARD):
        assert next_status(current, target) is target


def test_steps_may_be_skipped_when_events_arrive_out_of_order() -> None:
    assert next_status(JobStatus.QUEUED, JobStatus.DOWNLOADING) is JobStatus.DOWNLOADING
    assert next_status(JobStatus.SUBMITTED, JobStatus.SUCCEEDED) is JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (JobStatus.RUNNING, JobStatus.SUBMITTED),
        (JobStatus.DOWNLOADING, JobStatus.RUNNING),
        (JobStatus.SUBMITTED, JobStatus.QUEUED),
        (JobStatus.RUNNING, JobStatus.RUNNING),
    ],
)
def test_late_or_duplicate_event_never_moves_a_job_back(
    current: JobStatus, target: JobStatus
) -> None:
    assert next_status(current, target) is None


@pytest.mark.parametrize("final", sorted(FINAL_STATES))
@pytest.mark.parametrize("target", list(JobStatus))
def test_final_states_never_change(final: JobStatus, target: JobStatus) -> None:
    assert not can_transition(final, target)


@pytest.mark.parametrize("current", [s for s in JobStatus if s not in FINAL_STATES])
@pytest.mark.parametrize("target", [JobStatus.FAILED, JobStatus.CANCELED])
def test_failed_and_canceled_reachable_from_every_non_final_state(
    current: JobStatus, target: JobStatus
) -> None:
    assert next_status(current, target) is target
