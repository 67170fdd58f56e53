"""A job's provider attempts (pure): one entry per submission to a provider, in order.

An attempt starts ``running`` when the provider accepts it (``gen.submitted.v1``), and
ends ``failed`` when the dispatcher gives up on it and moves to the next route
(``gen.attempt_failed.v1``), ``succeeded`` when the provider delivered an output,
or with the job itself (failed, canceled). Attempts are told apart by provider and
provider request id, so a repeated or late event never adds a second entry. An
attempt that failed before the provider gave it an id (a refused submit) is recorded
without one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from reelhouse.common.events import (
    Event,
    GenerationAttemptFailed,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    GenerationStored,
    GenerationSubmitted,
    JobError,
)
from reelhouse.common.jobstate import JobStatus

AttemptStatus = Literal["running", "failed", "succeeded", "canceled"]

_ENDED_WITH_JOB: dict[JobStatus, AttemptStatus] = {
    JobStatus.SUCCEEDED: "succeeded",
    JobStatus.FAILED: "failed",
    JobStatus.CANCELED: "canceled",
}


class Attempt(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    provider_request_id: str | None = None
    status: AttemptStatus
    error: JobError | None = None
    # set on a retry that re-downloads: the job whose provider output this attempt reuses
    redownload_of: str | None = None


def load_attempts(raw: Sequence[dict[str, Any]] | None) -> list[Attempt]:
    return [Attempt.model_validate(item) for item in raw or ()]


def dump_attempts(attempts: Sequence[Attempt]) -> list[dict[str, Any]]:
    return [attempt.model_dump(mode="json") for attempt in attempts]


def _find(attempts: Sequence[Attempt], provider: str, request_id: str | None) -> int | None:
    if request_id is None:
        return None
    for index, attempt in enumerate(attempts):
        if attempt.provider == provider and attempt.provider_request_id == request_id:
            return index
    return None


def _last_running(attempts: Sequence[Attempt]) -> int | None:
    for index in range(len(attempts) - 1, -1, -1):
        if attempts[index].status == "running":
            return index
    return None


def _replace(attempts: list[Attempt], index: int, **changes: Any) -> list[Attempt]:
    attempts[index] = attempts[index].model_copy(update=changes)
    return attempts


def record_attempt(
    attempts: Sequence[Attempt], event: Event, *, status: JobStatus, moved: bool
) -> list[Attempt] | None:
    """The attempts after ``event``, or None when it does not change them.

    ``status`` is the job's status after the event; ``moved`` whether the event moved
    the job (a late terminal event does not end an attempt).
    """
    found = list(attempts)
    match event:
        case GenerationSubmitted(provider=provider, provider_request_id=request_id):
            if _find(found, provider, request_id) is not None:
                return None
            ended = _ENDED_WITH_JOB.get(status)
            return [
                *found,
                Attempt(
                    provider=provider, provider_request_id=request_id, status=ended or "running"
                ),
            ]
        case GenerationAttemptFailed(provider=provider, provider_request_id=request_id):
            index = _find(found, provider, request_id)
            if index is None:
                failed = Attempt(
                    provider=provider,
                    provider_request_id=request_id,
                    status="failed",
                    error=event.error,
                )
                return [*found, failed]
            return _replace(found, index, status="failed", error=event.error)
        case GenerationOutputReady(provider=provider, provider_request_id=request_id) if moved:
            index = _find(found, provider, request_id)
            if index is None:
                done = Attempt(
                    provider=provider, provider_request_id=request_id, status="succeeded"
                )
                return [*found, done]
            return _replace(found, index, status="succeeded")
        case GenerationStored() | GenerationCanceled() | GenerationFailed() if moved:
            index = _last_running(found)
            if index is None:
                return None
            error = event.error if isinstance(event, GenerationFailed) else None
            return _replace(found, index, status=_ENDED_WITH_JOB[status], error=error)
        case _:
            return None
