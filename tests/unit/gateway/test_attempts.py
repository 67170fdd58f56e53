"""Provider attempts on a job, as a pure function of the events seen."""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.common.events import (
    Asset,
    Event,
    GenerationAttemptFailed,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    GenerationProgressed,
    GenerationStored,
    GenerationSubmitted,
    JobError,
)
from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.jobs.attempts import (
    Attempt,
    dump_attempts,
    load_attempts,
    record_attempt,
)
from reelhouse.gateway.jobs.projection import project

JOB = "gen_1"
RATE_LIMITED = JobError(
    stage="provider",
    code="provider_rate_limited",
    message="The provider is rate limiting us.",
    retryable=True,
    provider_detail="429 Too Many Requests",
)
NOT_STARTED = JobError(stage="provider", code="provider_timeout", message="did not start in time")


def _submitted(provider: str, request_id: str) -> GenerationSubmitted:
    return GenerationSubmitted(job_id=JOB, provider=provider, provider_request_id=request_id)


def _attempt_failed(
    provider: str, request_id: str | None, error: JobError, attempt: int = 1
) -> GenerationAttemptFailed:
    return GenerationAttemptFailed(
        job_id=JOB,
        attempt=attempt,
        provider=provider,
        provider_request_id=request_id,
        error=error,
        next_provider="sandbox-fal",
    )


def _output(provider: str, request_id: str) -> GenerationOutputReady:
    return GenerationOutputReady(
        job_id=JOB, provider=provider, provider_request_id=request_id, outputs=[]
    )


STORED = GenerationStored(
    job_id=JOB,
    assets=[
        Asset(index=0, key="k", content_type="video/mp4", size=1, sha256="0" * 64, kind="video")
    ],
)


def _replay(events: Sequence[Event], status: JobStatus = JobStatus.QUEUED) -> list[Attempt]:
    """Apply events as the projector does: the job's status first, then its attempts."""
    attempts: list[Attempt] = []
    for event in events:
        change = project(status, event)
        status = change.status or status
        updated = record_attempt(attempts, event, status=status, moved=change.applied)
        if updated is not None:
            attempts = load_attempts(dump_attempts(updated))  # through JSON, as stored
    return attempts


def test_a_submission_starts_a_running_attempt() -> None:
    assert _replay([_submitted("sandbox", "p1")]) == [
        Attempt(provider="sandbox", provider_request_id="p1", status="running")
    ]


def test_a_failed_attempt_then_success_on_the_next_route_are_both_recorded_in_order() -> None:
    attempts = _replay(
        [
            _submitted("sandbox", "p1"),
            _attempt_failed("sandbox", "p1", NOT_STARTED),
            _submitted("sandbox-fal", "f1"),
            GenerationProgressed(job_id=JOB, provider_status="IN_PROGRESS", running=True),
            _output("sandbox-fal", "f1"),
            STORED,
        ]
    )

    assert attempts == [
        Attempt(provider="sandbox", provider_request_id="p1", status="failed", error=NOT_STARTED),
        Attempt(provider="sandbox-fal", provider_request_id="f1", status="succeeded"),
    ]


def test_a_refused_submit_is_an_attempt_without_a_request_id() -> None:
    attempts = _replay(
        [_attempt_failed("sandbox", None, RATE_LIMITED), _submitted("sandbox-fal", "f1")]
    )

    assert [(a.provider, a.provider_request_id, a.status) for a in attempts] == [
        ("sandbox", None, "failed"),
        ("sandbox-fal", "f1", "running"),
    ]
    assert attempts[0].error == RATE_LIMITED


def test_repeated_and_late_submissions_add_nothing() -> None:
    events = [_submitted("sandbox", "p1"), _submitted("sandbox", "p1")]
    assert len(_replay(events)) == 1

    late = _replay([_attempt_failed("sandbox", "p1", NOT_STARTED), _submitted("sandbox", "p1")])
    assert [a.status for a in late] == ["failed"]


def test_the_job_failing_fails_its_running_attempt_with_the_error() -> None:
    error = JobError(stage="provider", code="provider_model_error", message="boom")

    attempts = _replay([_submitted("sandbox", "p1"), GenerationFailed(job_id=JOB, error=error)])

    assert attempts == [
        Attempt(provider="sandbox", provider_request_id="p1", status="failed", error=error)
    ]


def test_a_download_failure_leaves_the_provider_attempt_succeeded() -> None:
    error = JobError(stage="download", code="not_media", message="html")

    attempts = _replay(
        [
            _submitted("sandbox", "p1"),
            _output("sandbox", "p1"),
            GenerationFailed(job_id=JOB, error=error),
        ]
    )

    assert [a.status for a in attempts] == ["succeeded"]


def test_canceling_the_job_cancels_its_running_attempt() -> None:
    attempts = _replay([_submitted("sandbox", "p1"), GenerationCanceled(job_id=JOB)])

    assert [a.status for a in attempts] == ["canceled"]


def test_a_late_terminal_event_does_not_touch_attempts() -> None:
    attempts = _replay(
        [_submitted("sandbox", "p1"), GenerationCanceled(job_id=JOB), _output("sandbox", "p1")]
    )

    assert [a.status for a in attempts] == ["canceled"]


def test_a_submission_seen_after_the_job_ended_is_recorded_as_ended() -> None:
    attempts = _replay([GenerationCanceled(job_id=JOB), _submitted("sandbox", "p1")])

    assert [a.status for a in attempts] == ["canceled"]
