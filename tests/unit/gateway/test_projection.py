"""The projector's mapping from events to job changes, as pure functions."""

from __future__ import annotations

import pytest

from reelhouse.common.events import (
    Asset,
    CancelRequested,
    Event,
    GenerationAttemptFailed,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    GenerationProgressed,
    GenerationRequested,
    GenerationStored,
    GenerationSubmitted,
    JobError,
)
from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.jobs.projection import project, target_status

JOB = "gen_1"
ERROR = JobError(stage="provider", code="provider_model_error", message="boom")
ASSET = Asset(
    index=0,
    key="outputs/gen_1/0.mp4",
    content_type="video/mp4",
    size=1,
    sha256="0" * 64,
    kind="video",
)

REQUESTED = GenerationRequested(
    job_id=JOB,
    owner_id="dev",
    model="m",
    provider="sandbox",
    provider_model="m",
    input={},
    deadline_seconds=60,
)
SUBMITTED = GenerationSubmitted(job_id=JOB, provider="sandbox", provider_request_id="p1")
QUEUED_AT_PROVIDER = GenerationProgressed(job_id=JOB, provider_status="starting", running=False)
RUNNING = GenerationProgressed(job_id=JOB, provider_status="processing", running=True)
OUTPUT = GenerationOutputReady(job_id=JOB, provider="sandbox", provider_request_id="p1", outputs=[])
STORED = GenerationStored(job_id=JOB, assets=[ASSET])
FAILED = GenerationFailed(job_id=JOB, error=ERROR)
CANCELED = GenerationCanceled(job_id=JOB)


@pytest.mark.parametrize(
    ("event", "status"),
    [
        (REQUESTED, None),
        (CancelRequested(job_id=JOB, owner_id="dev"), None),
        (SUBMITTED, JobStatus.SUBMITTED),
        (QUEUED_AT_PROVIDER, None),
        (RUNNING, JobStatus.RUNNING),
        (OUTPUT, JobStatus.DOWNLOADING),
        (STORED, JobStatus.SUCCEEDED),
        (FAILED, JobStatus.FAILED),
        (CANCELED, JobStatus.CANCELED),
        (
            GenerationAttemptFailed(
                job_id=JOB, attempt=1, provider="sandbox", error=ERROR, next_provider="fal"
            ),
            None,
        ),
    ],
)
def test_each_event_asks_for_the_contracted_status(event: Event, status: JobStatus | None) -> None:
    assert target_status(event) == status


def test_the_happy_path_applies_every_step() -> None:
    status = JobStatus.QUEUED
    for event in (SUBMITTED, RUNNING, OUTPUT, STORED):
        change = project(status, event)
        assert change.applied
        assert change.status is not None
        status = change.status

    assert status is JobStatus.SUCCEEDED


def test_steps_may_be_skipped_forward() -> None:
    assert project(JobStatus.QUEUED, STORED).status is JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("current", "event"),
    [
        (JobStatus.RUNNING, SUBMITTED),
        (JobStatus.RUNNING, RUNNING),
        (JobStatus.DOWNLOADING, RUNNING),
        (JobStatus.SUCCEEDED, FAILED),
        (JobStatus.FAILED, STORED),
        (JobStatus.CANCELED, RUNNING),
        (JobStatus.SUBMITTED, QUEUED_AT_PROVIDER),
    ],
)
def test_late_repeated_or_informational_events_change_nothing(
    current: JobStatus, event: Event
) -> None:
    change = project(current, event)

    assert change.status is None
    assert not change.applied
    assert change.error is None
    assert change.assets == ()


def test_a_failure_carries_its_error() -> None:
    change = project(JobStatus.RUNNING, FAILED)

    assert change.status is JobStatus.FAILED
    assert change.error == ERROR


def test_stored_carries_its_assets() -> None:
    assert project(JobStatus.DOWNLOADING, STORED).assets == (ASSET,)


def test_the_provider_request_id_is_kept_even_from_a_late_event() -> None:
    assert project(JobStatus.RUNNING, SUBMITTED).provider_request_id == "p1"


@pytest.mark.parametrize("current", [JobStatus.RUNNING, JobStatus.DOWNLOADING])
def test_canceled_wins_over_a_later_stored_and_no_assets_land(current: JobStatus) -> None:
    canceled = project(current, CANCELED)
    assert canceled.status is JobStatus.CANCELED

    late = project(JobStatus.CANCELED, STORED)
    assert late.status is None
    assert late.assets == ()


def test_stored_before_canceled_keeps_the_job_succeeded() -> None:
    assert project(JobStatus.DOWNLOADING, STORED).status is JobStatus.SUCCEEDED
    assert project(JobStatus.SUCCEEDED, CANCELED).status is None
